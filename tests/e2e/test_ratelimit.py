"""Per-key rate limits through the edge and over gRPC."""

from __future__ import annotations

import time

import grpc
import httpx

from chronicle.config import Settings
from chronicle.v1 import identity_service_pb2
from server.app import Container, GrpcServerThread
from server.services import keys as key_service
from tests.conftest import Tenant
from tests.e2e.test_auth import call, reason_of


def limited_key(container: Container, tenant: Tenant, rate: str) -> str:
    with container.uow() as uow:
        return key_service.create_api_key(
            uow, container.hasher, workspace_id=tenant.workspace_id, rate_limit=rate,
            actor="test",
        ).raw  # fmt: skip


def test_n_requests_pass_the_next_is_429_with_retry_after(
    container: Container, http: httpx.Client, tenant: Tenant
) -> None:
    key = limited_key(container, tenant, "3/minute")
    answers = [http.get("/api/v1/templates", headers={"x-api-key": key}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
    refused = answers[3]
    assert refused.json()["error"] == {
        "code": "API_KEY_RATE_LIMITED",
        "message": refused.json()["error"]["message"],
        "status": 429,
    }
    assert abs(int(refused.headers["retry-after"]) - 20) <= 1  # one request every 20 s
    assert 59 <= int(refused.headers["ratelimit-reset"]) <= 60
    # Another key of the same workspace is untouched.
    assert http.get("/api/v1/templates", headers=tenant.headers).status_code == 200


def test_the_allowance_recovers_after_its_reset(
    container: Container, http: httpx.Client, tenant: Tenant
) -> None:
    key = limited_key(container, tenant, "2/second")
    codes = [http.get("/api/v1/caller", headers={"x-api-key": key}).status_code
             for _ in range(3)]  # fmt: skip
    assert codes == [200, 200, 429]
    time.sleep(1.05)
    assert http.get("/api/v1/caller", headers={"x-api-key": key}).status_code == 200


def test_grpc_callers_are_limited_too_with_retry_info(
    container: Container, channel: grpc.Channel, tenant: Tenant
) -> None:
    key = limited_key(container, tenant, "1/hour")
    request = identity_service_pb2.GetCallerRequest()
    first = call(channel, "/chronicle.v1.IdentityService/GetCaller", request, [("x-api-key", key)])
    assert not isinstance(first, grpc.RpcError)
    second = call(channel, "/chronicle.v1.IdentityService/GetCaller", request, [("x-api-key", key)])
    assert second.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(second) == "API_KEY_RATE_LIMITED"
    metadata = dict(second.trailing_metadata())
    assert metadata["ratelimit-limit"] == "1" and metadata["ratelimit-remaining"] == "0"


def test_rate_limit_headers_come_with_errors_too(
    container: Container, http: httpx.Client, tenant: Tenant
) -> None:
    response = http.get("/api/v1/presentations/pres_missing", headers=tenant.headers)
    assert response.status_code == 404
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(response.headers)


def test_with_redis_configured_two_servers_share_the_allowance(
    settings: Settings, tenant: Tenant, container: Container, shared_redis: str
) -> None:
    shared = settings.with_(redis_url=shared_redis, redis_timeout_seconds=1.0)
    key = limited_key(container, tenant, "3/minute")
    servers = [GrpcServerThread(Container(shared), port=0).start() for _ in range(2)]
    try:
        channels = [grpc.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
        request = identity_service_pb2.GetCallerRequest()
        results = [call(channel, "/chronicle.v1.IdentityService/GetCaller", request,
                        [("x-api-key", key)]) for channel in channels * 3]  # fmt: skip
        refused = [r for r in results if isinstance(r, grpc.RpcError)]
        assert len(results) - len(refused) == 3  # the sum over both servers
        assert all(reason_of(r) == "API_KEY_RATE_LIMITED" for r in refused)
    finally:
        for server in servers:
            server.stop(grace=None)
