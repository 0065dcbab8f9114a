"""Strangers' key verifications, shared per key and bounded, so a flood cannot queue
work without bound nor starve the event loop of the GIL."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor

from server import errors
from server.auth.principal import Principal


class Verifications:
    """Verifications (a status read, argon2) in their own pool: one at a time per
    presented key, however many requests bring it, and at most `limit` keys at once;
    beyond that a stranger is told to retry (UNAVAILABLE). Keys already verified never
    come here."""

    def __init__(self, executor: Executor, limit: int) -> None:
        self._executor = executor
        self._limit = limit
        self._pending: dict[bytes, asyncio.Future[Principal]] = {}

    async def run(self, digest: bytes, verify: Callable[[], Principal]) -> Principal:
        pending = self._pending.get(digest)
        if pending is None:
            if len(self._pending) >= self._limit:
                raise errors.Unavailable("Too many API key verifications in progress; retry")
            pending = asyncio.get_running_loop().run_in_executor(self._executor, verify)
            self._pending[digest] = pending
            pending.add_done_callback(functools.partial(self._settled, digest))
        return await asyncio.shield(pending)  # a caller that goes away leaves it running

    def _settled(self, digest: bytes, future: asyncio.Future[Principal]) -> None:
        del self._pending[digest]
        if not future.cancelled():
            future.exception()  # read here too, in case every caller went away
