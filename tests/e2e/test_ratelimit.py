"""Per-key rate limits through the edge and over gRPC."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import grpc
import httpx

from chronicle import credentials
from chronicle.config import Settings
from chronicle.v1 import api_key_service_pb2, identity_service_pb2
from server.auth import FAILURES_PER_KEY
from server.container import Container
from server.services import keys as key_service
from server.storage import models
from tests.conftest import Tenant
from tests.e2e.test_auth import GET_CALLER, call, reason_of
from tests.harness import GrpcServerThread


def limited_key(container: Container, tenant: Tenant, rate: str) -> str:
    with container.uow() as uow:
        return key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=tenant.workspace_id,
            rate_limit=rate,
            actor="test",
        ).raw


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
    codes = [http.get("/api/v1/caller", headers={"x-api-key": key}).status_code for _ in range(3)]
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
    shared = replace(settings, redis_url=shared_redis, redis_timeout_seconds=1.0)
    key = limited_key(container, tenant, "3/minute")
    servers = [GrpcServerThread(Container(shared), port=0).start() for _ in range(2)]
    try:
        channels = [grpc.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
        request = identity_service_pb2.GetCallerRequest()
        results = [
            call(channel, "/chronicle.v1.IdentityService/GetCaller", request, [("x-api-key", key)])
            for channel in channels * 3
        ]
        refused = [r for r in results if isinstance(r, grpc.RpcError)]
        assert len(results) - len(refused) == 3  # the sum over both servers
        assert all(reason_of(r) == "API_KEY_RATE_LIMITED" for r in refused)
    finally:
        for server in servers:
            server.stop(grace=0)


def test_every_key_event_is_in_the_audit_trail(
    container: Container, channel: grpc.Channel, tenant: Tenant, service_token: str
) -> None:
    """created, rotated, revoked, expired, a rate-limited burst and a failed-verification
    burst, each listed by ListApiKeyEvents with who and when, and no raw key."""
    admin = [("authorization", f"Bearer {service_token}")]
    limited = limited_key(container, tenant, "2/minute")
    for _ in range(4):  # two refusals: one burst
        call(channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), [("x-api-key", limited)])
    # The holder's key is verified (and cached) before someone guesses at its secret.
    call(channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), tenant.bearer)
    body = f"chr_live_{tenant.key_id.removeprefix('key_')}_{'Q' * credentials.SECRET_LENGTH}"
    for _ in range(FAILURES_PER_KEY.count + 2):
        call(
            channel,
            GET_CALLER,
            identity_service_pb2.GetCallerRequest(),
            [("x-api-key", body + credentials.checksum(body))],
        )
    rotated = call(
        channel,
        "/chronicle.v1.ApiKeyService/RotateApiKey",
        api_key_service_pb2.RotateApiKeyRequest(id=tenant.key_id),
        admin,
    )
    with container.uow() as uow:  # the old key's grace ends now
        uow.api_keys.get(tenant.key_id).expires_at = models.utcnow() - timedelta(seconds=1)
        uow.commit()
    container.key_changed(tenant.key_id)
    for _ in range(3):
        expired = call(channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), tenant.bearer)
        assert reason_of(expired) == "API_KEY_EXPIRED"
    revoke = api_key_service_pb2.RevokeApiKeyRequest(id=rotated.api_key.id, reason="done")
    call(channel, "/chronicle.v1.ApiKeyService/RevokeApiKey", revoke, admin)
    container.usage.flush()

    events = call(
        channel,
        "/chronicle.v1.ApiKeyService/ListApiKeyEvents",
        api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=tenant.workspace_id),
        admin,
    ).events
    by_key: dict[str, list[str]] = {}
    for e in reversed(events):  # oldest first
        by_key.setdefault(e.key_id, []).append(e.event)
        assert e.actor and e.HasField("created_at")
    assert by_key[tenant.key_id] == ["created", "verification_failures", "rotated", "expired"]
    assert by_key[rotated.api_key.id] == ["created", "revoked"]
    limited_id = credentials.parse(limited).key_id  # type: ignore[union-attr]
    assert by_key[limited_id] == ["created", "rate_limited"]
    for raw in (limited, tenant.key, rotated.key):
        assert all(raw not in f"{e.detail}{e.actor}" for e in events)
