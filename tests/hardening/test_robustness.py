"""Bad input and a busy database: clear envelopes, nothing echoed, no stalls."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import grpc
import httpx
import pytest
import sqlalchemy
from google.protobuf import duration_pb2

from chronicle.v1 import api_key_service_pb2
from server.container import Container
from tests.conftest import Tenant, on_sqlite
from tests.e2e.test_auth import call, reason_of
from tests.harness import EdgeServer


def test_a_raw_key_pasted_as_an_id_is_never_echoed(http: httpx.Client, tenant: Tenant) -> None:
    response = http.get(f"/api/v1/presentations/{tenant.key}", headers=tenant.headers)
    assert response.status_code == 404
    assert tenant.key not in response.text
    assert tenant.key.split("_")[3] not in response.text
    assert "raw key" in response.json()["error"]["message"]


def test_a_very_long_id_is_a_plain_404(http: httpx.Client, tenant: Tenant) -> None:
    long_id = "pres_" + "x" * 7000
    response = http.get(f"/api/v1/presentations/{long_id}", headers=tenant.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
    assert "x" * 100 not in response.text


def test_a_very_long_key_header_is_a_401_not_a_rate_limit(http: httpx.Client) -> None:
    response = http.get("/api/v1/templates", headers={"x-api-key": "k" * 10_000})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_deeply_nested_json_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    body = b'{"template_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = http.post(
        "/api/v1/presentations",
        content=body,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"


def test_an_absurd_expiry_is_a_400_not_an_internal_error(
    channel: grpc.Channel, tenant: Tenant, service_token: str
) -> None:
    request = api_key_service_pb2.CreateApiKeyRequest(
        workspace_id=tenant.workspace_id,
        expires_in=duration_pb2.Duration(seconds=315_000_000_000),
    )
    error = call(
        channel, "/chronicle.v1.ApiKeyService/CreateApiKey", request, [("x-api-key", service_token)]
    )
    assert isinstance(error, grpc.RpcError)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error) == "BAD_REQUEST"


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "bell\a"])
def test_key_names_must_be_one_printable_line(
    channel: grpc.Channel, tenant: Tenant, service_token: str, name: str
) -> None:
    request = api_key_service_pb2.CreateApiKeyRequest(workspace_id=tenant.workspace_id, name=name)
    error = call(
        channel, "/chronicle.v1.ApiKeyService/CreateApiKey", request, [("x-api-key", service_token)]
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def hold_lock(database_url: str, presentation_id: str) -> Callable[[], None]:
    """Another connection holding what a PATCH of the presentation needs (SQLite's one
    writer lock, or PostgreSQL's row lock); returns how to let go of it."""
    if on_sqlite(database_url):
        holder = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            holder.execute("ROLLBACK")
            holder.close()

        return release_sqlite
    import psycopg

    url = sqlalchemy.make_url(database_url).set(drivername="postgresql")
    connection = psycopg.connect(url.render_as_string(hide_password=False))
    connection.execute("SELECT 1 FROM presentations WHERE id = %s FOR UPDATE", (presentation_id,))

    def release_postgres() -> None:
        connection.rollback()
        connection.close()

    return release_postgres


def test_a_write_waiting_on_a_lock_answers_503_and_reads_keep_flowing(
    edge_factory: object, container: Container, tenant: Tenant
) -> None:
    edge: EdgeServer = edge_factory()  # type: ignore[operator]
    with httpx.Client(base_url=edge.url, timeout=30) as http:
        template = http.get("/api/v1/templates", headers=tenant.headers).json()["templates"][0]
        deck = http.post(
            "/api/v1/presentations", json={"template_id": template["id"]}, headers=tenant.headers
        ).json()
        url = f"/api/v1/presentations/{deck['id']}"
        release = hold_lock(container.settings.database_url, deck["id"])
        try:
            result: dict[str, httpx.Response] = {}
            writer = threading.Thread(
                target=lambda: result.setdefault(
                    "patch", http.patch(url, json={"title": "x"}, headers=tenant.headers)
                )
            )
            writer.start()
            time.sleep(0.2)  # the PATCH is now waiting for the lock
            started = time.monotonic()
            read = http.get(url, headers=tenant.headers)
            assert read.status_code == 200
            assert time.monotonic() - started < 0.4  # the loop is not blocked by the writer
            writer.join(timeout=30)
        finally:
            release()
        patched = result["patch"]
        assert patched.status_code == 503
        assert patched.json()["error"]["code"] == "UNAVAILABLE"
        assert "Traceback" not in patched.text and "SELECT" not in patched.text
        # Once the lock is gone, the same write succeeds.
        retried = http.patch(url, json={"title": "x"}, headers=tenant.headers)
        assert retried.status_code == 200 and retried.json()["title"] == "x"
