"""Failed verifications cannot become a denial of service (KEYS.md): malformed keys cost
no database query, and a client that keeps failing is throttled before argon2 while
every other client is served. REST clients are told apart by the address the edge
forwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import event

from chronicle import credentials
from chronicle.config import RateLimit, Settings
from server import key_material
from server.container import Container
from tests.conftest import Tenant, make_tenant, on_sqlite
from tests.e2e.test_auth import caller, reason_of


@pytest.fixture
def statements(container: Container) -> Iterator[list[str]]:
    """Every use of the database from now on, through the ORM or the raw hot path alike:
    on SQLite, each statement (SQLite's trace callback on every new connection); on
    PostgreSQL, each connection taken from the pool (no query runs without one)."""
    seen: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    def checkout(*_: Any) -> None:
        seen.append("checkout")

    container.engine.dispose()  # connections opened before now are not traced
    kind, listener = (
        ("connect", trace) if on_sqlite(container.settings.database_url) else ("checkout", checkout)
    )
    event.listen(container.engine, kind, listener)
    yield seen
    event.remove(container.engine, kind, listener)


def malformed(tenant: Tenant) -> list[str]:
    body = tenant.key[: -credentials.CHECKSUM_LENGTH]
    flipped = tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B")
    return ["garbage", "chr_live_", tenant.key[:-2], flipped, body + "000000", "chr_x" * 50]


def test_malformed_keys_and_bad_checksums_are_answered_without_a_query(
    tenant: Tenant, statements: list[str], channel: grpc.Channel, http: httpx.Client
) -> None:
    for bad in malformed(tenant) * 10:
        assert reason_of(caller(channel, [("x-api-key", bad)])) == "API_KEY_INVALID"
        answer = http.get("/api/v1/templates", headers={"x-api-key": bad})
        assert answer.json()["error"]["code"] == "API_KEY_INVALID"
    assert statements == []
    # The counter does count: a well-formed key of an unknown id is looked up.
    assert reason_of(caller(channel, [("x-api-key", key_material.generate("live").raw)]))
    assert statements


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, failed_verifications=RateLimit(5, 60))


def from_address(edge_url: str, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=edge_url, transport=transport, timeout=10)


def test_a_failing_rest_client_is_throttled_and_others_are_not(
    container: Container, edge: Any, tenant: Tenant
) -> None:
    victim = make_tenant(container, "victim")
    with (
        from_address(edge.url, "127.0.0.2") as attacker,
        from_address(edge.url, "127.0.0.3") as other,
    ):
        codes = [
            attacker.get(
                "/api/v1/templates", headers={"x-api-key": key_material.generate("live").raw}
            ).status_code
            for _ in range(8)
        ]
        assert codes[:5] == [401] * 5 and codes[-1] == 429
        throttled = attacker.get("/api/v1/templates", headers=tenant.headers)  # not yet verified
        assert throttled.status_code == 429
        assert "this client" in throttled.json()["error"]["message"]
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        # Another client, through the same edge, is served; so is a key verified before.
        assert other.get("/api/v1/templates", headers=victim.headers).status_code == 200
