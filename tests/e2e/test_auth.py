"""Authentication and workspace scoping, over gRPC and through the edge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy
from google.protobuf import descriptor, json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from chronicle import contract, credentials
from chronicle.v1 import (
    api_key_service_pb2,
    identity_service_pb2,
    presentation_service_pb2,
)
from chronicle.v1.presentation_pb2 import Section
from server import key_material
from server.container import Container
from server.services import keys as key_service
from server.storage import models
from tests.conftest import Tenant, make_tenant, on_sqlite
from tests.harness import GrpcServerThread
from tests.waiting import wait_until

GET_CALLER = "/chronicle.v1.IdentityService/GetCaller"


def call(channel: grpc.Channel, method: str, request: Message, metadata: Any = ()) -> Any:
    """A call by full method name: the reply (a list of replies for a server stream) or
    the RpcError."""
    from google.protobuf import message_factory

    found = [
        m for s in contract.SERVICES for m in s.methods if contract.full_method_name(m) == method
    ]
    assert found, f"unknown method {method}"
    descriptor = found[0]
    reply_class = message_factory.GetMessageClass(descriptor.output_type)
    kind = channel.unary_stream if descriptor.server_streaming else channel.unary_unary
    stub = kind(
        method,
        request_serializer=type(request).SerializeToString,
        response_deserializer=reply_class.FromString,
    )
    try:
        reply = stub(request, metadata=metadata, timeout=10)
        return list(reply) if descriptor.server_streaming else reply
    except grpc.RpcError as exc:
        return exc


def reason_of(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "status has no details"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "chronicle"
            return str(info.reason)
    raise AssertionError("no ErrorInfo")


def caller(channel: grpc.Channel, metadata: Any) -> Any:
    return call(channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), metadata)


# Every 401 rule, over gRPC and REST


def _unauthorized_cases(tenant: Tenant) -> list[tuple[str, list[tuple[str, str]], str]]:
    tampered = tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B")
    wrong_secret = key_material.generate("live").raw.replace(
        key_material.generate("live").raw[:25], tenant.key[:25]
    )
    body = f"chr_live_{tenant.key_id.removeprefix('key_')}_{'x' * credentials.SECRET_LENGTH}"
    wrong_secret = body + credentials.checksum(body)
    unknown = key_material.generate("live").raw
    return [
        ("no header", [], "UNAUTHORIZED"),
        ("empty bearer", [("authorization", "Bearer")], "UNAUTHORIZED"),
        ("bearer and spaces", [("authorization", "Bearer   ")], "UNAUTHORIZED"),
        ("other scheme", [("authorization", f"Basic {tenant.key}")], "UNAUTHORIZED"),
        ("empty x-api-key", [("x-api-key", " ")], "UNAUTHORIZED"),
        (
            "two different keys",
            [("authorization", f"Bearer {tenant.key}"), ("x-api-key", unknown)],
            "UNAUTHORIZED",
        ),
        ("malformed key", [("x-api-key", "not-a-chronicle-key")], "API_KEY_INVALID"),
        ("bad checksum", [("x-api-key", tampered)], "API_KEY_INVALID"),
        ("truncated key", [("x-api-key", tenant.key[:-3])], "API_KEY_INVALID"),
        ("unknown key id", [("x-api-key", unknown)], "API_KEY_INVALID"),
        ("wrong secret", [("x-api-key", wrong_secret)], "API_KEY_INVALID"),
        ("wrong environment marker", [("x-api-key", _swap_env(tenant.key))], "API_KEY_INVALID"),
    ]


def _swap_env(raw: str) -> str:
    body = raw[: -credentials.CHECKSUM_LENGTH].replace("chr_live_", "chr_test_", 1)
    return body + credentials.checksum(body)


def test_every_401_rule_over_grpc(channel: grpc.Channel, tenant: Tenant) -> None:
    for name, metadata, reason in _unauthorized_cases(tenant):
        error = caller(channel, metadata)
        assert isinstance(error, grpc.RpcError), name
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, name
        assert reason_of(error) == reason, name
        assert tenant.key not in (error.details() or ""), name


def test_every_401_rule_over_rest(http: httpx.Client, tenant: Tenant) -> None:
    for name, metadata, reason in _unauthorized_cases(tenant):
        # HTTP drops the whitespace around a header value.
        headers = {k: v.strip() for k, v in metadata}
        response = http.get("/api/v1/templates", headers=headers)
        assert response.status_code == 401, name
        assert response.json()["error"] == {
            "code": reason,
            "message": response.json()["error"]["message"],
            "status": 401,
        }, name
        assert tenant.key not in response.text


def test_the_server_says_in_its_trailers_when_it_authenticated_the_key(
    channel: grpc.Channel, http: httpx.Client, tenant: Tenant
) -> None:
    stub = channel.unary_unary(
        GET_CALLER,
        request_serializer=identity_service_pb2.GetCallerRequest.SerializeToString,
        response_deserializer=identity_service_pb2.Caller.FromString,
    )
    _, served = stub.with_call(identity_service_pb2.GetCallerRequest(), metadata=tenant.bearer)
    assert dict(served.trailing_metadata())[contract.AUTHENTICATED_METADATA] == "1"
    request = presentation_service_pb2.GetPresentationRequest(id="pres_missing")
    get = "/chronicle.v1.PresentationService/GetPresentation"
    not_found = call(channel, get, request, tenant.bearer)
    assert not_found.code() == grpc.StatusCode.NOT_FOUND
    assert contract.AUTHENTICATED_METADATA in dict(not_found.trailing_metadata())
    for name, metadata, _reason in _unauthorized_cases(tenant):
        refused = caller(channel, metadata)
        assert contract.AUTHENTICATED_METADATA not in dict(refused.trailing_metadata()), name
    # The edge reads it; HTTP clients never see it.
    for path in ("/api/v1/caller", "/api/v1/presentations/pres_missing"):
        response = http.get(path, headers=tenant.headers)
        assert response.status_code in (200, 404)
        assert contract.AUTHENTICATED_METADATA not in response.headers


def test_unknown_key_and_wrong_secret_look_the_same(http: httpx.Client, tenant: Tenant) -> None:
    cases = {name: m for name, m, _ in _unauthorized_cases(tenant)}
    unknown = http.get("/api/v1/templates", headers=dict(cases["unknown key id"]))
    wrong = http.get("/api/v1/templates", headers=dict(cases["wrong secret"]))
    assert unknown.json() == wrong.json()


def test_an_unknown_key_id_is_answered_no_sooner_than_a_wrong_secret_without_argon2(
    container: Container, channel: grpc.Channel
) -> None:
    container.hasher.typical_seconds = 0.3  # as if argon2 took that long here
    before = container.hasher.verifications
    started = time.perf_counter()
    refused = call(
        channel,
        GET_CALLER,
        identity_service_pb2.GetCallerRequest(),
        [("x-api-key", key_material.generate("live").raw)],
    )
    assert time.perf_counter() - started >= 0.3
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    assert container.hasher.verifications == before  # a timer, not argon2


def test_expired_key_is_api_key_expired(
    container: Container, channel: grpc.Channel, http: httpx.Client, tenant: Tenant
) -> None:
    with container.uow() as uow:
        issued = key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=tenant.workspace_id,
            expires_in=timedelta(seconds=1),
            actor="test",
        )
    metadata = [("x-api-key", issued.raw)]
    assert not isinstance(caller(channel, metadata), grpc.RpcError)
    time.sleep(1.1)
    error = caller(channel, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(error) == "API_KEY_EXPIRED"
    response = http.get("/api/v1/templates", headers=dict(metadata))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "API_KEY_EXPIRED"


# Revocation within one second, however revoked


def _wait_until_refused(channel: grpc.Channel, metadata: Any, limit: float) -> float:
    start = time.monotonic()
    refusals: list[grpc.RpcError] = []

    def refused() -> bool:
        result = caller(channel, metadata)
        if isinstance(result, grpc.RpcError):
            refusals.append(result)
        return bool(refusals)

    wait_until(refused, limit + 1, what="revoked key still accepted", interval=0.02)
    elapsed = time.monotonic() - start
    assert reason_of(refusals[0]) == "API_KEY_REVOKED"
    return elapsed


def test_revoked_through_grpc_is_refused_at_once(
    channel: grpc.Channel, tenant: Tenant, service_token: str
) -> None:
    assert not isinstance(caller(channel, tenant.bearer), grpc.RpcError)
    revoked = call(
        channel,
        "/chronicle.v1.ApiKeyService/RevokeApiKey",
        api_key_service_pb2.RevokeApiKeyRequest(id=tenant.key_id, reason="leaked"),
        [("authorization", f"Bearer {service_token}")],
    )
    assert revoked.state == "revoked" and revoked.revoke_reason == "leaked"
    assert _wait_until_refused(channel, tenant.bearer, 1.0) < 1.0


def test_revoked_by_the_cli_in_another_process_is_refused_within_1s(
    container: Container, channel: grpc.Channel, http: httpx.Client, tenant: Tenant
) -> None:
    assert not isinstance(caller(channel, tenant.bearer), grpc.RpcError)
    assert http.get("/api/v1/templates", headers=tenant.headers).status_code == 200
    # The CLI is configured as the servers are: with Redis, it tells them over pub/sub.
    env = {
        **os.environ,
        "CHRONICLE_DATABASE_URL": container.settings.database_url,
        "CHRONICLE_REDIS_URL": container.settings.redis_url or "",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chronicle.cli",
            "key",
            "revoke",
            tenant.key_id,
            "--reason",
            "rotated out",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert tenant.key_id in done.stdout
    elapsed = _wait_until_refused(channel, tenant.bearer, 1.0)
    assert elapsed < 1.0
    response = http.get("/api/v1/templates", headers=tenant.headers)
    assert response.json()["error"]["code"] == "API_KEY_REVOKED"


def test_rotation_keeps_the_old_key_until_its_grace_ends(
    container: Container, channel: grpc.Channel, tenant: Tenant, service_token: str
) -> None:
    rotated = call(
        channel,
        "/chronicle.v1.ApiKeyService/RotateApiKey",
        api_key_service_pb2.RotateApiKeyRequest(id=tenant.key_id, grace_period={"seconds": 1}),
        [("authorization", f"Bearer {service_token}")],
    )
    assert rotated.key.startswith("chr_live_") and rotated.key != tenant.key
    assert rotated.previous.id == tenant.key_id and rotated.previous.HasField("expires_at")
    assert not isinstance(caller(channel, tenant.bearer), grpc.RpcError)
    assert not isinstance(caller(channel, [("x-api-key", rotated.key)]), grpc.RpcError)
    time.sleep(1.2)
    error = caller(channel, tenant.bearer)
    assert reason_of(error) == "API_KEY_EXPIRED"
    assert not isinstance(caller(channel, [("x-api-key", rotated.key)]), grpc.RpcError)


# Argon2 runs once per key per cache TTL


def test_argon2_runs_once_per_distinct_key(
    container: Container,
    grpc_server: GrpcServerThread,
    channel: grpc.Channel,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    before = container.authenticator.argon2_verifications
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda i: caller(channel, (tenant if i % 2 else other_tenant).bearer), range(200)
            )
        )
    assert not any(isinstance(r, grpc.RpcError) for r in results)
    assert container.authenticator.argon2_verifications - before == 2


# Workspace scoping: a 403 for every workspace-owned RPC, found from the descriptors


def _resource_fields(method: descriptor.MethodDescriptor) -> list[tuple[str, str]]:
    from google.api import resource_pb2

    found = []
    for field in method.input_type.fields:
        ref = field.GetOptions().Extensions[resource_pb2.resource_reference]
        if ref.type:
            found.append((field.name, ref.type))
    return found


WORKSPACE_OWNED = [
    method
    for service in contract.SERVICES
    if contract.API_KEY in contract.allowed_callers(service)
    for method in service.methods
    if _resource_fields(method)
]


def _foreign_resource(container: Container, owner: Tenant, resource_type: str) -> str:
    """Creates a resource of the given type in the owner's workspace and returns its id."""
    with container.uow() as uow:
        if resource_type == "chronicle.app/Presentation":
            row: Any = models.Presentation(
                id=f"pres_{owner.key_id[-10:]}x", workspace_id=owner.workspace_id, title="Theirs"
            )
            uow.presentations.add(row)
        elif resource_type == "chronicle.app/Template":
            row = models.Template(
                id=f"tpl_{owner.key_id[-10:]}x",
                workspace_id=owner.workspace_id,
                name="Their template",
                sections=[Section(id="sec_a", title="A", layout="title")],
            )
            uow.templates.add(row)
        elif resource_type == "chronicle.app/Generation":
            row = models.GenerationJob(
                id=f"gen_{owner.key_id[-10:]}x",
                workspace_id=owner.workspace_id,
                state="awaiting_input",
                question="What about?",
                spec={"answers": []},
            )
            uow.generation_jobs.add(row)
        else:
            raise LookupError(resource_type)
        uow.commit()
        return str(row.id)


# API-key RPCs that name no workspace-owned resource: each is scoped by the caller's
# workspace alone. A new RPC must land in WORKSPACE_OWNED or, deliberately, here.
UNSCOPED = {
    "ListTemplates",
    "ListPresentations",
    "CreateUploadTarget",
    "GetCaller",
    "GetSignedInUser",  # refuses every credential but a session: nothing to scope
    "ListWorkspaces",  # the caller's own workspace, by definition
}


def test_every_api_key_rpc_is_either_checked_for_403_or_deliberately_unscoped() -> None:
    api_key_rpcs = {
        m.name
        for service in contract.SERVICES
        if contract.API_KEY in contract.allowed_callers(service)
        for m in service.methods
    }
    owned = {m.name for m in WORKSPACE_OWNED}
    assert owned | UNSCOPED == api_key_rpcs
    assert not owned & UNSCOPED
    assert {
        "GetPresentation",
        "UpdatePresentation",
        "DeletePresentation",
        "CreatePresentation",
    } <= owned


@pytest.mark.parametrize("method", WORKSPACE_OWNED, ids=lambda m: m.name)
@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_another_workspaces_resource_is_403(
    method: descriptor.MethodDescriptor,
    transport: str,
    container: Container,
    channel: grpc.Channel,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    from google.protobuf import message_factory

    request = message_factory.GetMessageClass(method.input_type)()
    for field_name, resource_type in _resource_fields(method):
        # A resource type without a factory above fails here: add one.
        setattr(request, field_name, _foreign_resource(container, other_tenant, resource_type))
    for field in method.input_type.fields:  # other required fields get a plausible value
        if field.name in {"prompt", "content"}:
            setattr(request, field.name, "hello")

    if transport == "grpc":
        error = call(channel, contract.full_method_name(method), request, tenant.bearer)
        assert isinstance(error, grpc.RpcError)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "INSUFFICIENT_PRIVILEGES"
        return

    binding = next((b for b in contract.http_bindings() if b.method is method), None)
    if binding is None:
        pytest.skip(f"{method.name} is gRPC only")
    data = json_format.MessageToDict(request, preserving_proto_field_name=True)
    path = binding.path
    for name in list(data):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", str(data.pop(name)))
    response = http.request(
        binding.verb, path, headers=tenant.headers, json=data if binding.body else None
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "INSUFFICIENT_PRIVILEGES"


def test_403_leaves_the_other_workspaces_deck_untouched(
    container: Container, http: httpx.Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = _foreign_resource(container, other_tenant, "chronicle.app/Presentation")
    url = f"/api/v1/presentations/{theirs}"
    assert http.patch(url, json={"title": "mine now"}, headers=tenant.headers).status_code == 403
    assert http.delete(url, headers=tenant.headers).status_code == 403
    kept = http.get(url, headers={"x-api-key": other_tenant.key}).json()
    assert kept["title"] == "Theirs"


def test_api_key_cannot_call_api_key_service(channel: grpc.Channel, tenant: Tenant) -> None:
    error = call(
        channel,
        "/chronicle.v1.ApiKeyService/ListApiKeys",
        api_key_service_pb2.ListApiKeysRequest(workspace_id=tenant.workspace_id),
        tenant.bearer,
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "INSUFFICIENT_PRIVILEGES"


def test_service_token_cannot_call_presentation_service(
    channel: grpc.Channel, service_token: str
) -> None:
    error = call(
        channel,
        "/chronicle.v1.PresentationService/ListTemplates",
        presentation_service_pb2.ListTemplatesRequest(),
        [("x-api-key", service_token)],
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_health_and_reflection_need_no_key(channel: grpc.Channel) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="chronicle.v1.PresentationService")
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert "chronicle.v1.PresentationService" in names


# The raw key is shown once and nowhere else


def test_raw_key_appears_only_in_the_create_response(
    container: Container,
    channel: grpc.Channel,
    http: httpx.Client,
    tenant: Tenant,
    service_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    admin = [("authorization", f"Bearer {service_token}")]
    created = call(
        channel,
        "/chronicle.v1.ApiKeyService/CreateApiKey",
        api_key_service_pb2.CreateApiKeyRequest(
            workspace_id=tenant.workspace_id, name="ci", environment="test"
        ),
        admin,
    )
    raw = created.key
    assert raw.startswith("chr_test_") and created.api_key.hint.endswith(raw[-4:])
    # Use it (successes and failures), list it, get it, revoke it.
    assert http.get("/api/v1/templates", headers={"x-api-key": raw}).status_code == 200
    http.get("/api/v1/templates", headers={"x-api-key": raw[:-1] + "0"})
    http.get("/api/v1/templates", headers={"x-api-key": raw, "authorization": "Bearer x"})
    listed = call(
        channel,
        "/chronicle.v1.ApiKeyService/ListApiKeys",
        api_key_service_pb2.ListApiKeysRequest(workspace_id=tenant.workspace_id),
        admin,
    )
    got = call(
        channel,
        "/chronicle.v1.ApiKeyService/GetApiKey",
        api_key_service_pb2.GetApiKeyRequest(id=created.api_key.id),
        admin,
    )
    call(
        channel,
        "/chronicle.v1.ApiKeyService/RevokeApiKey",
        api_key_service_pb2.RevokeApiKeyRequest(id=created.api_key.id, reason="done"),
        admin,
    )
    http.get("/api/v1/templates", headers={"x-api-key": raw})
    events = call(
        channel,
        "/chronicle.v1.ApiKeyService/ListApiKeyEvents",
        api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=tenant.workspace_id),
        admin,
    )
    container.usage.flush()

    secret = raw.split("_")[3]
    for message in (listed, got, events):
        text = json_format.MessageToJson(message)
        assert raw not in text and secret[:16] not in text
    assert {k.id for k in listed.api_keys} >= {created.api_key.id, tenant.key_id}
    assert [e.event for e in events.events if e.key_id == created.api_key.id] == [
        "revoked",
        "created",
    ]
    assert raw not in caplog.text and secret[:16] not in caplog.text
    stored = stored_bytes(container)
    assert raw.encode() not in stored and secret.encode() not in stored


def stored_bytes(container: Container) -> bytes:
    """Everything the database holds: SQLite's files (WAL included) byte for byte, or
    every row of every table as PostgreSQL prints it."""
    url = container.settings.database_url
    if not on_sqlite(url):
        with container.engine.connect() as connection:
            tables = sqlalchemy.inspect(connection).get_table_names()
            rows = [
                connection.execute(sqlalchemy.text(f'SELECT t::text FROM "{name}" t'))  # noqa: S608
                .scalars()
                .all()
                for name in tables
            ]
        return "\n".join(str(r) for table in rows for r in table).encode()
    container.engine.dispose()
    data = b""
    for suffix in ("", "-wal", "-shm"):
        path = url.removeprefix("sqlite:///") + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                data += f.read()
    return data


def test_last_used_at_is_written_in_batches(
    container: Container, http: httpx.Client, tenant: Tenant
) -> None:
    for _ in range(5):
        http.get("/api/v1/templates", headers=tenant.headers)

    def written() -> bool:
        with container.uow() as uow:
            key = uow.api_keys.get(tenant.key_id)
            assert key is not None
            return key.last_used_at is not None

    wait_until(written, 3, what="last_used_at written", interval=0.05)


def test_key_json_from_admin_rest_routes(
    edge_factory: object, tenant: Tenant, service_token: str
) -> None:
    edge = edge_factory(admin_routes=True)  # type: ignore[operator]
    with httpx.Client(base_url=edge.url) as http:
        admin = {"authorization": f"Bearer {service_token}"}
        created = http.post(
            f"/api/v1/workspaces/{tenant.workspace_id}/api-keys",
            json={"name": "web", "environment": "test"},
            headers=admin,
        )
        assert created.status_code == 201
        key_id = created.json()["api_key"]["id"]
        revoked = http.post(
            f"/api/v1/api-keys/{key_id}:revoke", json={"reason": "x"}, headers=admin
        )
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        again = http.post(f"/api/v1/api-keys/{key_id}:revoke", json={"reason": "y"}, headers=admin)
        assert again.json()["revoke_reason"] == "x"  # idempotent: first revocation stands
        listed = http.get(f"/api/v1/workspaces/{tenant.workspace_id}/api-keys", headers=admin)
        assert created.json()["key"] not in listed.text
        assert json.loads(listed.text)["api_keys"]
        denied = http.get(
            f"/api/v1/workspaces/{tenant.workspace_id}/api-keys", headers=tenant.headers
        )
        assert denied.status_code == 403


def test_admin_routes_are_absent_unless_enabled(http: httpx.Client, service_token: str) -> None:
    response = http.get("/api/v1/api-keys/key_x", headers={"x-api-key": service_token})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_second_tenant_key_is_independent(container: Container, channel: grpc.Channel) -> None:
    a = make_tenant(container, "a")
    b = make_tenant(container, "b")
    assert caller(channel, a.bearer).workspace_id == a.workspace_id
    assert caller(channel, b.bearer).workspace_id == b.workspace_id


def test_last_use_of_a_service_token_is_recorded(
    container: Container, channel: grpc.Channel, service_token: str
) -> None:
    assert not isinstance(caller(channel, [("x-api-key", service_token)]), grpc.RpcError)
    container.usage.flush()
    token_id = "svc_" + service_token.split("_")[2]
    with container.uow() as uow:
        token = uow.service_tokens.get(token_id)
        assert token is not None and token.last_used_at is not None


def test_a_revocation_on_one_server_is_honoured_by_another_within_1s(
    settings: Any, tenant: Tenant, service_token: str
) -> None:
    """Two servers with their own caches (as two processes have) on one database."""
    servers = [GrpcServerThread(Container(settings), port=0).start() for _ in range(2)]
    try:
        first, second = (grpc.insecure_channel(f"127.0.0.1:{s.port}") for s in servers)
        assert not isinstance(caller(second, tenant.bearer), grpc.RpcError)  # cached there
        call(
            first,
            "/chronicle.v1.ApiKeyService/RevokeApiKey",
            api_key_service_pb2.RevokeApiKeyRequest(id=tenant.key_id, reason="leak"),
            [("authorization", f"Bearer {service_token}")],
        )
        assert _wait_until_refused(second, tenant.bearer, 1.0) < 1.0
    finally:
        for server in servers:
            server.stop(grace=0)
