"""The edge refuses what it can itself, so a flood of bad keys costs the servers little:
malformed keys, clients the server throttled, and new keys beyond CHRONICLE_NEW_KEY_RATE
(a refusal at the edge costs a fraction of a gRPC call on a server). Its answers are the
server's own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from chronicle.config import RateLimit, Settings
from server import key_material
from server.container import Container
from server.services import keys as key_service
from tests.conftest import Tenant
from tests.e2e.test_auth import _unauthorized_cases, caller
from tests.e2e.test_flood import from_address

NEW_KEYS = RateLimit(5, 60)  # the burst of 5, then one each 12 s: none within a test
FAILURES = RateLimit(3, 1)  # per client, on the server


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, failed_verifications=FAILURES)


@pytest.fixture
def frugal(edge_factory: Any) -> Iterator[tuple[Any, httpx.Client]]:
    """An edge sending on NEW_KEYS new keys, and a client of it."""
    edge = edge_factory(new_key_rate=NEW_KEYS)
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        yield edge, client


@pytest.fixture
def server_calls(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """One entry per call that reaches the gRPC server: its interceptor first asks the
    authenticator without blocking (a second, blocking ask may follow, to run argon2)."""
    seen: list[int] = []
    authenticate = container.authenticator.authenticate

    def counted(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("may_block") is False:
            seen.append(1)
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(container.authenticator, "authenticate", counted)
    yield seen


def unknown_key() -> dict[str, str]:
    return {"x-api-key": key_material.generate("live").raw}


def test_malformed_keys_are_answered_by_the_edge_as_the_server_would(
    tenant: Tenant, channel: grpc.Channel, http: httpx.Client, server_calls: list[int]
) -> None:
    offline = [
        case
        for case in _unauthorized_cases(tenant)
        if case[0] not in ("unknown key id", "wrong secret", "wrong environment marker")
    ]
    assert len(offline) == 9
    for name, metadata, reason in offline:
        answer = http.get("/api/v1/caller", headers={k: v.strip() for k, v in metadata})
        assert server_calls == [], name  # the edge answered alone
        error = caller(channel, metadata)  # the server's own answer to the same headers
        server_calls.clear()
        assert answer.status_code == 401, name
        assert answer.json()["error"] == {
            "code": reason,
            "message": error.details(),
            "status": 401,
        }, name
        assert answer.headers["x-request-id"]
        assert tenant.key not in answer.text


def test_new_keys_reach_the_server_at_the_new_key_rate_and_accepted_keys_always(
    frugal: tuple[Any, httpx.Client], tenant: Tenant, server_calls: list[int]
) -> None:
    edge, http = frugal
    # A valid new key gives its place back once accepted.
    assert http.get("/api/v1/caller", headers=tenant.headers).status_code == 200
    # From many addresses, as a spread-out flood comes: no one client is throttled.
    codes = []
    for n in range(10, 50):
        with from_address(edge.url, f"127.0.0.{n}") as client:
            codes.append(client.get("/api/v1/caller", headers=unknown_key()).status_code)
    assert codes == [401] * NEW_KEYS.count + [503] * (40 - NEW_KEYS.count)
    assert len(server_calls) == 1 + NEW_KEYS.count  # the rest never reached the server
    busy = http.get("/api/v1/caller", headers=unknown_key())
    assert busy.json()["error"] == {
        "code": "UNAVAILABLE",
        "message": "Too many new API keys at once; retry shortly",
        "status": 503,
    }
    assert 1 <= int(busy.headers["retry-after"]) <= NEW_KEYS.per_seconds / NEW_KEYS.count
    # A key the server accepted before is never held back by the budget.
    assert http.get("/api/v1/caller", headers=tenant.headers).status_code == 200


def test_a_revoked_key_is_answered_by_the_edge_as_revoked(
    frugal: tuple[Any, httpx.Client], container: Container, tenant: Tenant
) -> None:
    edge, http = frugal
    assert http.get("/api/v1/caller", headers=tenant.headers).status_code == 200
    for n in range(NEW_KEYS.count):  # the new-key budget, spent by failing keys
        with from_address(edge.url, f"127.0.0.{10 + n}") as client:
            assert client.get("/api/v1/caller", headers=unknown_key()).status_code == 401
    assert http.get("/api/v1/caller", headers=unknown_key()).status_code == 503
    with container.uow() as uow:
        key_service.revoke_api_key(uow, tenant.key_id, "leaked", "test")
    container.authenticator.forget(tenant.key_id)  # as pub/sub or the status TTL would
    revoked = http.get("/api/v1/caller", headers=tenant.headers)
    assert revoked.json()["error"]["code"] == "API_KEY_REVOKED"
    again = http.get("/api/v1/caller", headers=tenant.headers)
    # No longer accepted, and remembered as refused: the server's answer, not the budget's.
    assert again.status_code == 401
    assert again.json() == revoked.json()


def test_a_client_the_server_throttled_is_refused_by_the_edge_until_its_delay_is_over(
    edge: Any, tenant: Tenant, server_calls: list[int]
) -> None:
    with (
        from_address(edge.url, "127.0.0.2") as attacker,
        from_address(edge.url, "127.0.0.3") as other,
    ):
        assert attacker.get("/api/v1/caller", headers=tenant.headers).status_code == 200
        codes = [
            attacker.get("/api/v1/caller", headers=unknown_key()).status_code
            for _ in range(FAILURES.count + 2)
        ]
        # The failure past the budget starts the refusal; the next is the server's 429.
        assert codes == [401] * (FAILURES.count + 1) + [429]
        reached = len(server_calls)
        refused = attacker.get("/api/v1/caller", headers=unknown_key())
        assert len(server_calls) == reached  # answered by the edge alone
        assert refused.status_code == 429
        assert refused.json()["error"] == {
            "code": "API_KEY_RATE_LIMITED",
            "message": "Too many failed API key verifications from this client; retry later",
            "status": 429,
        }
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= FAILURES.per_seconds
        # Its key accepted before, and other clients, are served meanwhile.
        assert attacker.get("/api/v1/caller", headers=tenant.headers).status_code == 200
        assert other.get("/api/v1/caller", headers=unknown_key()).status_code == 401
        time.sleep(wait)
        reached = len(server_calls)
        assert attacker.get("/api/v1/caller", headers=unknown_key()).status_code == 401
        assert len(server_calls) == reached + 1  # sent on again once the delay is over


def test_the_server_marks_a_client_refusal_as_such(channel: grpc.Channel) -> None:
    for _ in range(FAILURES.count + 1):
        caller(channel, [("x-api-key", key_material.generate("live").raw)])
    error = caller(channel, [("x-api-key", key_material.generate("live").raw)])
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(error)
    assert status is not None
    infos = [
        error_details_pb2.ErrorInfo()
        for d in status.details
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)
    ]
    for info, detail in zip(infos, status.details, strict=False):
        detail.Unpack(info)
    assert [(i.reason, dict(i.metadata)) for i in infos] == [
        ("API_KEY_RATE_LIMITED", {"scope": "client"})
    ]


def test_the_key_is_checked_before_the_body_and_headers_before_the_key(
    http: httpx.Client,
) -> None:
    # A bad body without a key is a 401: nothing of the request is judged before the key.
    bad_body = http.post(
        "/api/v1/presentations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_body.status_code == 401
    # Repeated allowed headers cannot add up past gRPC's metadata limit (which would come
    # back as a 429 that proves nothing).
    many = [("idempotency-key", "x" * 1000)] * 5 + list(unknown_key().items())
    too_large = http.get("/api/v1/caller", headers=many)
    assert too_large.status_code == 400
    assert too_large.json()["error"]["message"] == "The request's headers are too large"
