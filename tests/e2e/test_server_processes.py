"""Two `chronicle serve-grpc` processes on one database: what one process changes, the
other honours within a second, with and without Redis; with Redis they share one rate
limit. Redis paused or gone: tests/hardening/test_redis_faults.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from chronicle.config import Settings
from chronicle.v1 import api_key_service_pb2, identity_service_pb2
from server.container import Container
from server.services import keys as key_service
from tests.conftest import Tenant
from tests.e2e.test_auth import GET_CALLER, call, reason_of
from tests.harness import free_port
from tests.processes import GrpcServerProcess, grpc_server_process, run_cli
from tests.waiting import wait_until

# With Redis, a server re-reads statuses only every 2 minutes unless told: a change seen
# within a second can only have been told over pub/sub.
PUSHED = {"CHRONICLE_KEY_STATUS_REFRESH": "120"}
SUBSCRIBED = "key-status changes arrive over Redis pub/sub"


@pytest.fixture(params=["without-redis", "with-redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "without-redis":
        return None
    return str(request.getfixturevalue("shared_redis"))


StartServers = Callable[..., list[GrpcServerProcess]]


@pytest.fixture
def start_servers(tmp_path: Path, settings: Settings) -> Iterator[StartServers]:
    started: list[GrpcServerProcess] = []

    def start(count: int = 2, redis_url: str | None = None, **env: str) -> list[GrpcServerProcess]:
        if redis_url:
            env = {
                "CHRONICLE_REDIS_URL": redis_url,
                "CHRONICLE_REDIS_TIMEOUT": "1",
                **PUSHED,
                **env,
            }
        servers = [
            grpc_server_process(f"server{n}", tmp_path, settings.database_url, free_port(), **env)
            for n in range(count)
        ]
        started.extend(servers)
        for server in servers:
            server.wait_serving()
            if redis_url:
                server.wait_for_log(SUBSCRIBED)
        return servers

    yield start
    for server in started:
        server.stop()


def get_caller(server: GrpcServerProcess, key: str) -> Any:
    with grpc.insecure_channel(server.target) as channel:
        return call(
            channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), [("x-api-key", key)]
        )


def admin_call(server: GrpcServerProcess, method: str, request: Any, token: str) -> Any:
    with grpc.insecure_channel(server.target) as channel:
        answer = call(
            channel,
            f"/chronicle.v1.ApiKeyService/{method}",
            request,
            [("authorization", f"Bearer {token}")],
        )
    assert not isinstance(answer, grpc.RpcError), answer
    return answer


def seconds_until_refused(
    server: GrpcServerProcess, key: str, reason: str, limit: float = 3
) -> float:
    start = time.monotonic()
    refusals: list[grpc.RpcError] = []

    def refused() -> bool:
        answer = get_caller(server, key)
        if isinstance(answer, grpc.RpcError):
            refusals.append(answer)
        return bool(refusals)

    wait_until(refused, limit, what="the key refused", interval=0.02)
    elapsed = time.monotonic() - start
    assert reason_of(refusals[0]) == reason
    return elapsed


def test_a_revoke_through_one_server_is_refused_by_the_other_within_1s(
    start_servers: StartServers, tenant: Tenant, service_token: str, redis_url: str | None
) -> None:
    first, second = start_servers(redis_url=redis_url)
    assert not isinstance(get_caller(second, tenant.key), grpc.RpcError)  # its status is cached
    revoke = api_key_service_pb2.RevokeApiKeyRequest(id=tenant.key_id, reason="leak")
    admin_call(first, "RevokeApiKey", revoke, service_token)
    assert seconds_until_refused(second, tenant.key, "API_KEY_REVOKED") < 1.0


def test_a_rotation_through_one_server_sets_the_expiry_the_other_honours(
    start_servers: StartServers, tenant: Tenant, service_token: str, redis_url: str | None
) -> None:
    first, second = start_servers(redis_url=redis_url)
    assert not isinstance(get_caller(second, tenant.key), grpc.RpcError)
    rotated = admin_call(
        first,
        "RotateApiKey",
        api_key_service_pb2.RotateApiKeyRequest(id=tenant.key_id, grace_period={"seconds": 1}),
        service_token,
    )
    grace_end = rotated.previous.expires_at.ToDatetime().timestamp()
    assert not isinstance(get_caller(second, rotated.key), grpc.RpcError)
    waited = seconds_until_refused(second, tenant.key, "API_KEY_EXPIRED")
    assert time.time() - grace_end < 1.0, f"refused {waited:.2f}s after the rotation"


def test_a_revoke_by_the_cli_reaches_every_server_over_redis_within_1s(
    start_servers: StartServers, tenant: Tenant, settings: Settings, shared_redis: str
) -> None:
    servers = start_servers(redis_url=shared_redis)
    for server in servers:
        assert not isinstance(get_caller(server, tenant.key), grpc.RpcError)
    run_cli(
        "key",
        "revoke",
        tenant.key_id,
        database_url=settings.database_url,
        CHRONICLE_REDIS_URL=shared_redis,
    )
    for server in servers:
        assert seconds_until_refused(server, tenant.key, "API_KEY_REVOKED") < 1.0


def test_two_server_processes_share_one_rate_limit_in_redis(
    start_servers: StartServers, container: Container, tenant: Tenant, shared_redis: str
) -> None:
    with container.uow() as uow:
        key = key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=tenant.workspace_id,
            rate_limit="5/minute",
            actor="test",
        ).raw
    servers = start_servers(redis_url=shared_redis)
    answers = [get_caller(servers[n % 2], key) for n in range(12)]
    refused = [a for a in answers if isinstance(a, grpc.RpcError)]
    assert len(answers) - len(refused) == 5
    assert {reason_of(r) for r in refused} == {"API_KEY_RATE_LIMITED"}
