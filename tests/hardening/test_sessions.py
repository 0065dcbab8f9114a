"""Issue 14, point 2: sessions of signed-in people are a credential checked by the same
interceptor as keys (decision 030)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time

import grpc
import httpx
import pytest
from sqlalchemy import text

from chronicle.config import Settings
from chronicle.v1 import (
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    identity_service_pb2,
    identity_service_pb2_grpc,
    presentation_service_pb2,
    presentation_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
)
from server.auth import FAILURES_PER_KEY
from server.container import Container
from server.services import users as user_service
from tests.conftest import Tenant
from tests.e2e.test_auth import reason_of
from tests.harness import GrpcServerThread
from tests.waiting import wait_until

PASSWORD = "correct horse battery staple 42"
SIGN_IN_FAILED = "Invalid email or password"


def make_user(container: Container, workspace_id: str, email: str, role: str) -> str:
    with container.uow() as uow:
        created = user_service.create_user(
            uow,
            container.password_hasher,
            workspace_id=workspace_id,
            email=email,
            role=role,
            password=PASSWORD,
        )
    return created.record.id


def sign_in(channel: grpc.Channel, email: str, password: str = PASSWORD) -> str:
    stub = session_service_pb2_grpc.SessionServiceStub(channel)
    reply = stub.SignIn(session_service_pb2.SignInRequest(email=email, password=password))
    return str(reply.session_token)


def refusal(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def session(token: str) -> list[tuple[str, str]]:
    return [("chronicle-session", token)]


def keys(channel: grpc.Channel) -> api_key_service_pb2_grpc.ApiKeyServiceStub:
    return api_key_service_pb2_grpc.ApiKeyServiceStub(channel)


def caller(channel: grpc.Channel, token: str) -> identity_service_pb2.Caller:
    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
    return stub.GetCaller(identity_service_pb2.GetCallerRequest(), metadata=session(token))


@pytest.fixture
def admin(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, "Ada@Example.com", "admin")
    return "ada@example.com"


@pytest.fixture
def member(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, "mel@example.com", "member")
    return "mel@example.com"


def test_a_session_from_sign_in_is_a_caller_of_its_workspace(
    channel: grpc.Channel, tenant: Tenant, admin: str
) -> None:
    token = sign_in(channel, admin)
    assert token.startswith("chr_ses_")
    who = caller(channel, token)
    assert (who.kind, who.workspace_id) == ("user_session", tenant.workspace_id)
    assert who.credential_id.startswith("ses_")
    listed = keys(channel).ListApiKeys(
        api_key_service_pb2.ListApiKeysRequest(workspace_id=tenant.workspace_id),
        metadata=session(token),
    )
    assert [k.id for k in listed.api_keys] == [tenant.key_id]


def test_a_wrong_password_and_an_unknown_email_are_answered_alike(
    channel: grpc.Channel, container: Container, admin: str
) -> None:
    hasher = container.password_hasher
    before = hasher.verifications
    wrong = refusal(lambda: sign_in(channel, admin, "not the password at all"))
    unknown = refusal(lambda: sign_in(channel, "nobody@example.com"))
    assert wrong.code() == unknown.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong.details() == unknown.details() == SIGN_IN_FAILED
    # One argon2 run each: the unknown email is checked against a dummy hash.
    assert hasher.verifications - before == 2


def test_a_disabled_user_cannot_sign_in(
    channel: grpc.Channel, container: Container, tenant: Tenant
) -> None:
    user_id = make_user(container, tenant.workspace_id, "gone@example.com", "admin")
    with container.uow() as uow:
        user_service.disable_user(uow, user_id)
    refused = refusal(lambda: sign_in(channel, "gone@example.com"))
    assert (refused.code(), refused.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        SIGN_IN_FAILED,
    )


def test_sign_in_is_throttled_per_email_before_argon2(
    channel: grpc.Channel, container: Container, admin: str
) -> None:
    for _ in range(FAILURES_PER_KEY.count + 1):  # the last one starts the refusal
        refusal(lambda: sign_in(channel, admin, "a wrong guess, again"))
    before = container.password_hasher.verifications
    throttled = refusal(lambda: sign_in(channel, admin))  # even the right password
    assert throttled.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(throttled) == "SIGN_IN_THROTTLED"
    assert container.password_hasher.verifications == before


def test_sign_in_is_throttled_per_client_before_argon2(
    channel: grpc.Channel, container: Container, settings: Settings, admin: str
) -> None:
    for n in range(settings.failed_verifications.count + 1):  # a different email each time
        refusal(lambda n=n: sign_in(channel, f"guess{n}@example.com"))  # type: ignore[misc]
    before = container.password_hasher.verifications
    throttled = refusal(lambda: sign_in(channel, admin))
    assert throttled.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert container.password_hasher.verifications == before


def test_a_member_reads_keys_but_may_not_change_them(
    channel: grpc.Channel, tenant: Tenant, member: str
) -> None:
    token = session(sign_in(channel, member))
    stub = keys(channel)
    stub.GetApiKey(api_key_service_pb2.GetApiKeyRequest(id=tenant.key_id), metadata=token)
    stub.ListApiKeyEvents(
        api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=tenant.workspace_id),
        metadata=token,
    )
    changes = [
        lambda: stub.CreateApiKey(
            api_key_service_pb2.CreateApiKeyRequest(workspace_id=tenant.workspace_id),
            metadata=token,
        ),
        lambda: stub.RotateApiKey(
            api_key_service_pb2.RotateApiKeyRequest(id=tenant.key_id), metadata=token
        ),
        lambda: stub.RevokeApiKey(
            api_key_service_pb2.RevokeApiKeyRequest(id=tenant.key_id), metadata=token
        ),
    ]
    for change in changes:
        assert refusal(change).code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_admin_changes_keys_as_themselves(
    channel: grpc.Channel, tenant: Tenant, admin: str
) -> None:
    token = session(sign_in(channel, admin))
    stub = keys(channel)
    created = stub.CreateApiKey(
        api_key_service_pb2.CreateApiKeyRequest(workspace_id=tenant.workspace_id, name="ci"),
        metadata=token,
    )
    assert created.api_key.created_by == "Ada@Example.com"
    stub.RevokeApiKey(
        api_key_service_pb2.RevokeApiKeyRequest(id=created.api_key.id, reason="leaked"),
        metadata=token,
    )
    events = stub.ListApiKeyEvents(
        api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=tenant.workspace_id),
        metadata=token,
    ).events
    actors = {(e.event, e.actor) for e in events}
    assert ("revoked", "Ada@Example.com") in actors
    assert ("signed_in", "Ada@Example.com") in actors


def test_no_session_touches_another_workspace(
    channel: grpc.Channel, tenant: Tenant, other_tenant: Tenant, admin: str
) -> None:
    token = session(sign_in(channel, admin))
    stub = keys(channel)
    other = other_tenant.workspace_id
    calls = [
        lambda: stub.ListApiKeys(
            api_key_service_pb2.ListApiKeysRequest(workspace_id=other), metadata=token
        ),
        lambda: stub.ListApiKeyEvents(
            api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=other), metadata=token
        ),
        lambda: stub.CreateApiKey(
            api_key_service_pb2.CreateApiKeyRequest(workspace_id=other), metadata=token
        ),
        lambda: stub.GetApiKey(
            api_key_service_pb2.GetApiKeyRequest(id=other_tenant.key_id), metadata=token
        ),
        lambda: stub.RevokeApiKey(
            api_key_service_pb2.RevokeApiKeyRequest(id=other_tenant.key_id), metadata=token
        ),
        lambda: stub.RotateApiKey(
            api_key_service_pb2.RotateApiKeyRequest(id=other_tenant.key_id), metadata=token
        ),
    ]
    for call in calls:
        assert refusal(call).code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_presentation_service_refuses_a_session(channel: grpc.Channel, admin: str) -> None:
    stub = presentation_service_pb2_grpc.PresentationServiceStub(channel)
    token = session(sign_in(channel, admin))
    refused = refusal(
        lambda: stub.ListPresentations(
            presentation_service_pb2.ListPresentationsRequest(), metadata=token
        )
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def seconds_until_refused(channel: grpc.Channel, token: str) -> float:
    start = time.monotonic()
    refusals: list[grpc.RpcError] = []

    def refused() -> bool:
        try:
            caller(channel, token)
        except grpc.RpcError as exc:
            refusals.append(exc)
        return bool(refusals)

    wait_until(refused, 3, what="the session refused", interval=0.02)
    assert refusals[0].code() == grpc.StatusCode.UNAUTHENTICATED
    return time.monotonic() - start


def test_signing_out_ends_the_session_within_1s(
    channel: grpc.Channel, tenant: Tenant, admin: str
) -> None:
    token = sign_in(channel, admin)
    caller(channel, token)  # cached
    stub = session_service_pb2_grpc.SessionServiceStub(channel)
    stub.SignOut(session_service_pb2.SignOutRequest(), metadata=session(token))
    assert seconds_until_refused(channel, token) < 1.0
    events = (
        keys(channel)
        .ListApiKeyEvents(
            api_key_service_pb2.ListApiKeyEventsRequest(workspace_id=tenant.workspace_id),
            metadata=session(sign_in(channel, admin)),
        )
        .events
    )
    assert "signed_out" in {e.event for e in events}


@pytest.mark.parametrize("change", ["disable", "set-password"])
def test_the_cli_ending_a_users_sessions_is_honoured_within_1s(
    channel: grpc.Channel, settings: Settings, tenant: Tenant, container: Container, change: str
) -> None:
    user_id = make_user(container, tenant.workspace_id, "eve@example.com", "admin")
    token = sign_in(channel, "eve@example.com")
    caller(channel, token)  # cached by the server
    cli = Container(settings)  # another process's view: what `chronicle user …` builds
    with cli.uow() as uow:
        if change == "disable":
            user_service.disable_user(uow, user_id)
        else:
            user_service.set_password(uow, cli.password_hasher, user_id, "a brand new passphrase 7")
    assert cli.key_changed(user_id)
    assert seconds_until_refused(channel, token) < 1.0


def test_the_token_is_never_logged_nor_stored(
    channel: grpc.Channel, container: Container, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sign_in(channel, admin)
    caller(channel, token)
    refusal(lambda: caller(channel, token[:-1] + "x"))
    session_service_pb2_grpc.SessionServiceStub(channel).SignOut(
        session_service_pb2.SignOutRequest(), metadata=session(token)
    )
    assert token not in caplog.text
    assert token[len("chr_ses_") :] not in caplog.text
    with container.engine.connect() as db:
        rows = db.execute(text("SELECT * FROM sessions")).all()
        events = db.execute(text("SELECT * FROM key_events")).all()
    assert len(rows) == 1
    for row in [*rows, *events]:
        for value in row:
            as_text = value.hex() if isinstance(value, bytes) else str(value)
            assert token[len("chr_ses_") :] not in as_text
    (row,) = rows
    assert bytes(row.token_digest) == hashlib.sha256(token.encode()).digest()


def test_the_rest_api_refuses_a_session_token_with_401(
    channel: grpc.Channel, http: httpx.Client, admin: str
) -> None:
    token = sign_in(channel, admin)
    for headers in (
        {"authorization": f"Bearer {token}"},
        {"x-api-key": token},
        {"chronicle-session": token},
    ):
        for path in ("/api/v1/templates", "/api/v1/caller"):
            assert http.get(path, headers=headers).status_code == 401


@pytest.mark.parametrize("limit", ["session_idle_seconds", "session_max_seconds"])
def test_a_session_ends_when_idle_or_at_its_absolute_expiry(
    settings: Settings, tenant: Tenant, limit: str
) -> None:
    short = Container(dataclasses.replace(settings, **{limit: 1}))
    make_user(short, tenant.workspace_id, "ida@example.com", "admin")
    server = GrpcServerThread(short, port=0).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            token = sign_in(channel, "ida@example.com")
            caller(channel, token)
            time.sleep(1.1)
            refused = refusal(lambda: caller(channel, token))
            assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        server.stop(grace=0)
