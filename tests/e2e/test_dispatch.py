"""RPCs declared cheap reads run on the event loop: none of them may stall it."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

import grpc
import pytest
from google.protobuf import descriptor, message_factory

from chronicle import contract
from server.app import start_grpc_server
from server.container import Container
from server.servicers.identity import IdentityServicer
from tests.conftest import Tenant, on_sqlite

# Far above what an inline read costs (well under a millisecond on SQLite), far below
# what a blocking call would: a lock wait, a network round trip, argon2.
STALL_SECONDS = 0.15
CALLS_EACH = 5
_TICK = 0.002


def _request(method: descriptor.MethodDescriptor, tenant: Tenant) -> bytes:
    values = {
        "workspace_id": tenant.workspace_id,
        "generation_id": "gen_missing",
        "id": tenant.key_id if method.containing_service.name == "ApiKeyService" else "pres_x",
    }
    request = message_factory.GetMessageClass(method.input_type)()
    for field in method.input_type.fields:
        if field.name in values:
            setattr(request, field.name, values[field.name])
    return bytes(request.SerializeToString())


def _credential(method: descriptor.MethodDescriptor, tenant: Tenant, token: str) -> str:
    callers = contract.allowed_callers(method.containing_service)
    return tenant.key if contract.API_KEY in callers else token


async def _worst_stall(container: Container, calls: list[tuple[str, bytes, str]]) -> float:
    """Serves `calls` (method, request, credential) CALLS_EACH times each, after one
    warm-up round, and returns the worst method's median stall of the event loop.

    The median, because a blocking handler stalls the loop on every call, while a
    busy shared machine (CI runs two suites side by side on two cores) can deschedule
    the process for a few hundred milliseconds during any one call."""
    server = await start_grpc_server(container, port=0)
    loop = asyncio.get_running_loop()
    worst = 0.0

    async def probe() -> None:
        nonlocal worst
        while True:
            before = loop.time()
            await asyncio.sleep(_TICK)
            worst = max(worst, loop.time() - before - _TICK)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:

        async def stall_of(method: str, request: bytes, credential: str) -> float:
            nonlocal worst
            worst = 0.0
            call = channel.unary_unary(method)  # raw bytes in and out
            try:
                await call(request, metadata=[("x-api-key", credential)], timeout=10)
            except grpc.aio.AioRpcError as exc:
                trailers = dict(exc.trailing_metadata() or ())
                # Not found and the like are fine; the handler ran past authentication.
                assert contract.AUTHENTICATED_METADATA in trailers, (method, exc.code())
            await asyncio.sleep(2 * _TICK)  # let the probe see the end of the call
            return worst

        probing = asyncio.create_task(probe())
        try:
            for call in calls:  # warm-up: first verifications, caches, lazy imports
                await stall_of(*call)
            stalls = {c[0]: [await stall_of(*c) for _ in range(CALLS_EACH)] for c in calls}
        finally:
            probing.cancel()
            await server.stop(grace=0)
    return max(statistics.median(each) for each in stalls.values())


def _inline_calls(tenant: Tenant, token: str) -> list[tuple[str, bytes, str]]:
    return [
        (contract.full_method_name(m), _request(m, tenant), _credential(m, tenant, token))
        for service in contract.SERVICES
        for m in service.methods
        if contract.is_cheap_read(m)
    ]


@pytest.fixture
def sqlite_only(container: Container) -> None:
    if not on_sqlite(container.settings.database_url):
        pytest.skip("on a networked database every RPC runs in the thread pool")


@pytest.mark.usefixtures("sqlite_only")
def test_no_rpc_declared_a_cheap_read_stalls_the_event_loop(
    container: Container, tenant: Tenant, service_token: str
) -> None:
    calls = _inline_calls(tenant, service_token)
    assert len(calls) == len(contract.cheap_reads()) > 0
    assert asyncio.run(_worst_stall(container, calls)) < STALL_SECONDS


@pytest.mark.usefixtures("sqlite_only")
def test_the_stall_probe_catches_a_cheap_read_that_blocks(
    container: Container, tenant: Tenant, service_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: Callable[..., object] = IdentityServicer.GetCaller

    def blocking(*args: object) -> object:
        time.sleep(2 * STALL_SECONDS)  # as a blocking query or network call would
        return served(*args)

    monkeypatch.setattr(IdentityServicer, "GetCaller", blocking)
    calls = [c for c in _inline_calls(tenant, service_token) if c[0].endswith("/GetCaller")]
    assert calls
    assert asyncio.run(_worst_stall(container, calls)) >= STALL_SECONDS
