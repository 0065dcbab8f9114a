"""Issue 13, items 3 and 7: the edge authenticates before it reads or judges a request,
and one client's refused keys cannot lock other clients' new keys out."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chronicle.config import RateLimit
from server import key_material
from server.container import Container
from server.services import keys as key_service
from tests.conftest import Tenant, make_tenant
from tests.e2e.test_flood import from_address

NEW_KEYS = RateLimit(5, 60)  # the burst of 5, then one each 12 s: none within a test


@pytest.fixture
def frugal(edge_factory: Any) -> Iterator[tuple[Any, httpx.Client]]:
    """An edge sending on NEW_KEYS new keys, and a client of it."""
    edge = edge_factory(new_key_rate=NEW_KEYS)
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        yield edge, client


def unknown_key() -> dict[str, str]:
    return {"x-api-key": key_material.generate("live").raw}


def answer_to_headers_only(port: int, headers: dict[str, str], declared: int) -> bytes:
    """Sends a POST's headers announcing `declared` body bytes, and none of them: what
    comes back within 5 s (nothing when the edge waits for the body first)."""
    lines = [
        "POST /api/v1/presentations HTTP/1.1",
        f"host: 127.0.0.1:{port}",
        "content-type: application/json",
        f"content-length: {declared}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "chr_live_nope"}, unknown_key()],
    ids=["no key", "malformed key", "unknown key"],
)
def test_a_request_without_a_valid_key_is_refused_before_its_body_arrives(
    edge: Any, headers: dict[str, str]
) -> None:
    answer = answer_to_headers_only(edge.port, headers, 1_000_000)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:80]


def test_no_field_level_400_is_shown_without_a_valid_key(
    edge: Any, http: httpx.Client, tenant: Tenant, container: Container
) -> None:
    bad = {"template_id": 42, "colour": "red"}
    for headers in ({}, unknown_key()):
        response = http.post("/api/v1/presentations", json=bad, headers=headers)
        assert response.status_code == 401
        assert "colour" not in response.text and "template_id" not in response.text
    # Queries too: a key not yet confirmed is confirmed before a query is judged.
    response = http.get("/api/v1/presentations?colour=red", headers=unknown_key())
    assert response.status_code == 401 and "colour" not in response.text
    # With the tenant's key (new to this edge too), the client learns what is wrong.
    response = http.post("/api/v1/presentations", json=bad, headers=tenant.headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid value for template_id: expected a string"
    # A key confirmed has its body read and served, from its very first request.
    assert answer_to_headers_only(edge.port, tenant.headers, 1_000) == b""  # body awaited
    fresh = make_tenant(container, "fresh")
    response = http.post(
        "/api/v1/presentations/generate",
        json={"prompt": "Otters swim.", "non_interactive": True},
        headers=fresh.headers,
    )
    assert response.status_code == 202, response.text


def test_a_client_looping_with_a_revoked_key_is_told_so_and_locks_no_one_out(
    frugal: tuple[Any, httpx.Client], container: Container, tenant: Tenant
) -> None:
    edge, _http = frugal
    with container.uow() as uow:
        key_service.revoke_api_key(uow, tenant.key_id, "leaked", "test")
    container.authenticator.forget(tenant.key_id)
    with from_address(edge.url, "127.0.0.2") as looper:
        codes = [
            looper.get("/api/v1/caller", headers=tenant.headers).json()["error"]["code"]
            for _ in range(30)
        ]
    assert codes == ["API_KEY_REVOKED"] * 30
    # Brand-new valid keys and a long-used one new to this edge (as after a restart).
    for n in range(3):
        newcomer = make_tenant(container, f"newcomer{n}")
        with from_address(edge.url, f"127.0.0.{10 + n}") as client:
            assert client.get("/api/v1/caller", headers=newcomer.headers).status_code == 200


def test_one_client_sending_many_bad_keys_spends_only_its_own_share(
    frugal: tuple[Any, httpx.Client], container: Container
) -> None:
    edge, _http = frugal
    with from_address(edge.url, "127.0.0.2") as flooder:
        codes = [flooder.get("/api/v1/caller", headers=unknown_key()).status_code for _ in range(8)]
    assert set(codes) == {401, 429} and codes.count(401) <= NEW_KEYS.count // 2
    newcomer = make_tenant(container, "newcomer")
    with from_address(edge.url, "127.0.0.3") as client:
        assert client.get("/api/v1/caller", headers=newcomer.headers).status_code == 200
