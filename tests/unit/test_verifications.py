"""Strangers' key verifications: shared per key, bounded in number."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import errors
from server.auth import CallerKind, Principal
from server.auth.in_flight import Verifications

PRINCIPAL = Principal(CallerKind.API_KEY, "key_a", "ws_a", "live")


def test_requests_bringing_one_key_at_once_share_one_verification() -> None:
    release = threading.Event()
    runs = []

    def verify() -> Principal:
        runs.append(1)
        release.wait(5)
        return PRINCIPAL

    async def scenario() -> list[Principal]:
        verifications = Verifications(ThreadPoolExecutor(2), limit=4)
        callers = [asyncio.ensure_future(verifications.run(b"k", verify)) for _ in range(20)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*callers)

    assert asyncio.run(scenario()) == [PRINCIPAL] * 20
    assert len(runs) == 1


def test_beyond_the_limit_a_stranger_is_told_to_retry_and_a_slot_frees_when_done() -> None:
    release = threading.Event()

    def verify() -> Principal:
        release.wait(5)
        raise errors.KeyInvalid()

    async def scenario() -> None:
        verifications = Verifications(ThreadPoolExecutor(2), limit=2)
        held = [asyncio.ensure_future(verifications.run(k, verify)) for k in (b"a", b"b")]
        await asyncio.sleep(0.05)
        with pytest.raises(errors.Unavailable):
            await verifications.run(b"c", verify)
        release.set()
        for caller in held:  # each caller sees its key's own answer
            with pytest.raises(errors.KeyInvalid):
                await caller
        with pytest.raises(errors.KeyInvalid):  # room again
            await verifications.run(b"c", verify)

    asyncio.run(scenario())
