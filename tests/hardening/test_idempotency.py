"""Idempotency-Key on every POST, over REST and gRPC: a retry gets the first answer and
does nothing again, also when the first request's connection died after its commit."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import grpc
import httpx
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from chronicle.v1 import (
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    presentation_pb2,
    presentation_service_pb2,
    presentation_service_pb2_grpc,
)
from server import errors, idempotency
from server.auth import CallerKind, Principal, scope_of
from server.auth.status_push import NoChannel
from server.container import Container
from server.generation.builtin import BuiltinWriter
from server.generation.worker import Worker
from server.servicers.presentations import PresentationServicer
from server.services import jobs
from server.services import presentations as presentation_service
from server.storage import models
from server.storage.idempotency_repository import IdempotencyRepository
from tests.conftest import Tenant
from tests.harness import EdgeServer

TEMPLATE = "tpl_XPCqg6WKxce0uqV0CpVo"  # a built-in template
SECTION = "sec_IcwLZcBRc0bd12YEWzmO"  # one of its sections
PROMPT = "Quarterly review. Revenue grew 18 percent. Churn fell to 2 percent."


def count(container: Container, model: Any, workspace_id: str) -> int:
    with container.uow() as uow:
        query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        return int(uow.session().scalar(query) or 0)


def keyed(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "idempotency-key": key}


def grpc_keyed(tenant: Tenant, key: str) -> list[tuple[str, str]]:
    return [*tenant.bearer, ("idempotency-key", key)]


def presentations(channel: grpc.Channel) -> presentation_service_pb2_grpc.PresentationServiceStub:
    return presentation_service_pb2_grpc.PresentationServiceStub(channel)


def reason_and_retry(error: grpc.RpcError) -> tuple[str, float | None]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    reason, retry = "", None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            delay = error_details_pb2.RetryInfo()
            detail.Unpack(delay)
            retry = delay.retry_delay.ToTimedelta().total_seconds()
    return reason, retry


class Gate:
    """Holds a service call in the server's thread until the test lets it go: `entered`
    once it has run (`after`: its work committed) or before it runs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def around(self, real: Callable[..., Any], *, after: bool) -> Callable[..., Any]:
        def gated(*args: Any, **kwargs: Any) -> Any:
            if not after:
                self.entered.set()
                assert self.release.wait(20)
            result = real(*args, **kwargs)
            if after:
                self.entered.set()
                assert self.release.wait(20)
            return result

        return gated


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.release.set()  # a failed test leaves no server thread waiting


def retried_until_done(send: Callable[[], httpx.Response], limit: float = 15) -> httpx.Response:
    """A well-behaved client: retries a 409 after its Retry-After."""
    deadline = time.monotonic() + limit
    while True:
        response = send()
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(min(float(response.headers["retry-after"]), 0.2))


# -- replay ----------------------------------------------------------------------------


def test_a_retried_rest_post_gets_the_first_status_and_body_and_creates_nothing(
    http: httpx.Client, tenant: Tenant, container: Container
) -> None:
    first = http.post(
        "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=keyed(tenant, "k-1")
    )
    again = http.post(
        "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=keyed(tenant, "k-1")
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert count(container, models.Presentation, tenant.workspace_id) == 1

    body = {"prompt": PROMPT, "non_interactive": True, "section_count": 3}
    generated = [
        http.post("/api/v1/presentations/generate", json=body, headers=keyed(tenant, "g-1"))
        for _ in range(3)
    ]
    assert [r.status_code for r in generated] == [202, 202, 202]
    assert generated[1].content == generated[0].content == generated[2].content
    assert count(container, models.GenerationJob, tenant.workspace_id) == 1

    # Only POSTs are replayed: a PATCH with the header is applied each time.
    url = f"/api/v1/presentations/{first.json()['id']}"
    http.patch(url, json={"title": "One"}, headers=keyed(tenant, "p-1"))
    assert (
        http.patch(url, json={"title": "Two"}, headers=keyed(tenant, "p-1")).json()["title"]
        == "Two"
    )


def test_a_retried_grpc_call_gets_the_first_message_and_creates_nothing(
    channel: grpc.Channel, tenant: Tenant, container: Container
) -> None:
    stub = presentations(channel)
    request = presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE)
    first = stub.CreatePresentation(request, metadata=grpc_keyed(tenant, "k-1"), timeout=10)
    again = stub.CreatePresentation(request, metadata=grpc_keyed(tenant, "k-1"), timeout=10)
    assert again == first
    assert count(container, models.Presentation, tenant.workspace_id) == 1


def _add_template(container: Container, tenant: Tenant, template_id: str) -> None:
    with container.uow() as uow:
        uow.templates.add(
            models.Template(id=template_id, workspace_id=tenant.workspace_id, name="Later")
        )
        uow.commit()


def test_a_failed_first_request_is_answered_again_with_the_same_error(
    http: httpx.Client, channel: grpc.Channel, tenant: Tenant, container: Container
) -> None:
    """Stripe's rule: the key's answer is the first one, even once a new request would
    succeed (here: the template it named exists now)."""
    body = {"template_id": "tpl_later"}
    first = http.post("/api/v1/presentations", json=body, headers=keyed(tenant, "k-404"))
    request = presentation_service_pb2.CreatePresentationRequest(template_id="tpl_later")
    with pytest.raises(grpc.RpcError) as refused:
        presentations(channel).CreatePresentation(
            request, metadata=grpc_keyed(tenant, "g-404"), timeout=10
        )
    _add_template(container, tenant, "tpl_later")

    again = http.post("/api/v1/presentations", json=body, headers=keyed(tenant, "k-404"))
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json()
    assert first.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as refused_again:
        presentations(channel).CreatePresentation(
            request, metadata=grpc_keyed(tenant, "g-404"), timeout=10
        )
    assert refused_again.value.code() == refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert refused_again.value.details() == refused.value.details()
    assert reason_and_retry(refused_again.value) == reason_and_retry(refused.value)
    assert count(container, models.Presentation, tenant.workspace_id) == 0
    fresh = http.post("/api/v1/presentations", json=body, headers=keyed(tenant, "k-new"))
    assert fresh.status_code == 201


# -- misuse ----------------------------------------------------------------------------


def test_the_same_key_for_another_request_is_422_idempotency_key_reused(
    http: httpx.Client, channel: grpc.Channel, tenant: Tenant, container: Container
) -> None:
    headers = keyed(tenant, "k-1")
    assert (
        http.post(
            "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=headers
        ).status_code
        == 201
    )
    other = http.post(
        "/api/v1/presentations",
        json={"template_id": TEMPLATE, "selected_section_ids": [SECTION]},
        headers=headers,
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    elsewhere = http.post(
        "/api/v1/presentations/generate", json={"prompt": PROMPT}, headers=headers
    )
    assert elsewhere.status_code == 422
    assert count(container, models.Presentation, tenant.workspace_id) == 1
    assert count(container, models.GenerationJob, tenant.workspace_id) == 0

    stub = presentations(channel)
    stub.CreatePresentation(
        presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE),
        metadata=grpc_keyed(tenant, "g-1"),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.GeneratePresentation(
            presentation_service_pb2.GeneratePresentationRequest(prompt=PROMPT),
            metadata=grpc_keyed(tenant, "g-1"),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_and_retry(refused.value)[0] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("key", ["x" * 256, "two words", ""])
def test_a_key_too_long_or_with_spaces_is_a_clear_400(
    http: httpx.Client, tenant: Tenant, container: Container, key: str
) -> None:
    refused = http.post(
        "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=keyed(tenant, key)
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == idempotency.INVALID_KEY
    assert count(container, models.Presentation, tenant.workspace_id) == 0


def test_two_workspaces_using_the_same_key_are_independent(
    http: httpx.Client, tenant: Tenant, other_tenant: Tenant, container: Container
) -> None:
    mine = http.post(
        "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=keyed(tenant, "same")
    )
    theirs = http.post(
        "/api/v1/presentations",
        json={"template_id": TEMPLATE, "selected_section_ids": []},
        headers=keyed(other_tenant, "same"),
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    mine_again = http.post(
        "/api/v1/presentations", json={"template_id": TEMPLATE}, headers=keyed(tenant, "same")
    )
    assert mine_again.content == mine.content  # each workspace's key answers its own request
    assert count(container, models.Presentation, tenant.workspace_id) == 1
    assert count(container, models.Presentation, other_tenant.workspace_id) == 1


# -- a retry while the first runs -------------------------------------------------------


def test_a_retry_while_the_first_request_runs_is_409_with_retry_after(
    http: httpx.Client,
    channel: grpc.Channel,
    tenant: Tenant,
    container: Container,
    gate: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = presentation_service.create_presentation
    monkeypatch.setattr(presentation_service, "create_presentation", gate.around(real, after=False))
    body, headers = {"template_id": TEMPLATE}, keyed(tenant, "slow")
    # The edge accepts the key first: until then it holds a new key's requests in line.
    assert http.get("/api/v1/caller", headers=tenant.headers).status_code == 200
    with httpx.Client(base_url=str(http.base_url), timeout=20) as other:
        first: list[httpx.Response] = []
        running = threading.Thread(
            target=lambda: first.append(
                other.post("/api/v1/presentations", json=body, headers=headers)
            )
        )
        running.start()
        assert gate.entered.wait(10)

        retry = http.post("/api/v1/presentations", json=body, headers=headers)
        assert retry.status_code == 409
        assert retry.json()["error"]["code"] == "CONFLICT"
        assert int(retry.headers["retry-after"]) >= 1
        with pytest.raises(grpc.RpcError) as refused:
            presentations(channel).CreatePresentation(
                presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE),
                metadata=grpc_keyed(tenant, "slow"),
                timeout=10,
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_and_retry(refused.value) == ("CONFLICT", 1.0)

        gate.release.set()
        running.join(10)
    after = http.post("/api/v1/presentations", json=body, headers=headers)
    assert first[0].status_code == after.status_code == 201
    assert after.content == first[0].content
    assert count(container, models.Presentation, tenant.workspace_id) == 1


# -- 24 hours ---------------------------------------------------------------------------


def _age_records(container: Container, by: timedelta) -> None:
    """Moves every stored key's first use back in time (SQLite has no date arithmetic)."""
    with container.uow() as uow:
        for record in uow.session().scalars(select(models.IdempotencyRecord)):
            record.created_at -= by
        uow.commit()


def _records(container: Container) -> int:
    with container.uow() as uow:
        query = select(func.count()).select_from(models.IdempotencyRecord)
        return int(uow.session().scalar(query) or 0)


def test_a_key_is_forgotten_after_24_hours_and_expired_records_are_removed(
    http: httpx.Client, tenant: Tenant, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create(key: str, **extra: Any) -> httpx.Response:
        return http.post(
            "/api/v1/presentations",
            json={"template_id": TEMPLATE, **extra},
            headers=keyed(tenant, key),
        )

    first = create("day-1")
    create("other")
    _age_records(container, timedelta(hours=23, minutes=59))
    assert create("day-1").content == first.content  # still within the day
    _age_records(container, timedelta(minutes=2))

    later = create("day-1", selected_section_ids=[])  # not "reused": the old use expired
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert count(container, models.Presentation, tenant.workspace_id) == 3

    monkeypatch.setattr(idempotency, "SWEEP_SECONDS", 0.0)
    _age_records(container, timedelta(hours=25))
    create("fresh")
    assert _records(container) == 1  # "day-1" and "other" are gone; "fresh" is kept


# -- a connection killed after the commit -------------------------------------------------


def _raw_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"content-length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def _run_worker_until_done(container: Container, workspace_id: str) -> None:
    worker = Worker(container.uow, BuiltinWriter())
    stop = threading.Event()
    thread = threading.Thread(target=worker.serve, args=(stop, 0.02), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with container.uow() as uow:
                states = (
                    uow.session()
                    .scalars(
                        select(models.GenerationJob.state).where(
                            models.GenerationJob.workspace_id == workspace_id
                        )
                    )
                    .all()
                )
            if states and all(s in ("completed", "failed") for s in states):
                assert list(states) == ["completed"]
                return
            time.sleep(0.05)
        raise AssertionError("the job never finished")
    finally:
        stop.set()
        thread.join(10)


def _one_deck_one_job(container: Container, tenant: Tenant, generation_id: str) -> None:
    assert count(container, models.GenerationJob, tenant.workspace_id) == 1
    _run_worker_until_done(container, tenant.workspace_id)
    with container.uow() as uow:
        job = uow.session().get(models.GenerationJob, generation_id)
        assert job is not None and job.attempts == 1  # written (and its tokens spent) once
    assert count(container, models.Presentation, tenant.workspace_id) == 1


def test_a_rest_client_that_hangs_up_after_the_commit_and_retries_gets_one_deck(
    edge: EdgeServer,
    http: httpx.Client,
    tenant: Tenant,
    container: Container,
    gate: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "submit", gate.around(jobs.submit, after=True))
    body = b'{"prompt": "%s", "non_interactive": true, "section_count": 3}' % PROMPT.encode()
    sock = _raw_post(edge.port, "/api/v1/presentations/generate", body, keyed(tenant, "once"))
    assert gate.entered.wait(10)  # the job is committed; the client is gone before its answer
    sock.close()
    time.sleep(0.2)
    gate.release.set()

    retry = retried_until_done(
        lambda: http.post(
            "/api/v1/presentations/generate",
            content=body,
            headers={**keyed(tenant, "once"), "content-type": "application/json"},
        )
    )
    assert retry.status_code == 202
    _one_deck_one_job(container, tenant, retry.json()["generation_id"])


def test_a_grpc_call_cancelled_after_the_commit_and_retried_gets_one_deck(
    channel: grpc.Channel,
    tenant: Tenant,
    container: Container,
    gate: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "submit", gate.around(jobs.submit, after=True))
    stub = presentations(channel)
    request = presentation_service_pb2.GeneratePresentationRequest(
        prompt=PROMPT, non_interactive=True
    )
    metadata = grpc_keyed(tenant, "once")
    future = stub.GeneratePresentation.future(request, metadata=metadata, timeout=20)
    assert gate.entered.wait(10)
    future.cancel()
    time.sleep(0.2)
    gate.release.set()

    deadline = time.monotonic() + 15
    while True:
        try:
            reply: Message = stub.GeneratePresentation(request, metadata=metadata, timeout=10)
            break
        except grpc.RpcError as error:
            reason, retry = reason_and_retry(error)
            assert (error.code(), reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
            assert retry is not None and time.monotonic() < deadline
            time.sleep(min(retry, 0.2))
    assert isinstance(reply, presentation_service_pb2.GeneratePresentationResponse)
    _one_deck_one_job(container, tenant, reply.generation_id)


# -- secrets -------------------------------------------------------------------------------


def test_a_retried_create_api_key_is_409_naming_the_key_and_no_secret_is_stored(
    channel: grpc.Channel, tenant: Tenant, service_token: str, container: Container
) -> None:
    stub = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    metadata = [("authorization", f"Bearer {service_token}"), ("idempotency-key", "new-key")]
    request = api_key_service_pb2.CreateApiKeyRequest(
        workspace_id=tenant.workspace_id, name="ci", environment="test"
    )
    created = stub.CreateApiKey(request, metadata=metadata, timeout=10)
    with pytest.raises(grpc.RpcError) as refused:
        stub.CreateApiKey(request, metadata=metadata, timeout=10)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert created.api_key.id in (refused.value.details() or "")
    assert created.key not in (refused.value.details() or "")
    assert count(container, models.ApiKey, tenant.workspace_id) == 2  # the tenant's and this
    with container.uow() as uow:
        stored = uow.session().scalars(select(models.IdempotencyRecord.response)).all()
    secret = created.key.rsplit("_", 1)[-1].encode()
    assert stored and not any(secret in (blob or b"") for blob in stored)


def test_a_server_that_stops_between_the_commit_and_storing_the_answer_never_runs_it_twice(
    channel: grpc.Channel,
    tenant: Tenant,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work's own transaction marks the key: a retry after the dead server's lease
    is told what happened (409, no retry delay) instead of creating a second deck."""

    def stopped(*_args: Any) -> None:
        raise ConnectionError("the server stopped here")

    monkeypatch.setattr(IdempotencyRepository, "finish", stopped)
    stub = presentations(channel)
    request = presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE)
    metadata = grpc_keyed(tenant, "crash")
    stub.CreatePresentation(request, metadata=metadata, timeout=10)
    with container.uow() as uow:  # the dead server's lease runs out
        for record in uow.session().scalars(select(models.IdempotencyRecord)):
            record.locked_until -= idempotency.LEASE
        uow.commit()

    with pytest.raises(grpc.RpcError) as refused:
        stub.CreatePresentation(request, metadata=metadata, timeout=10)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_and_retry(refused.value) == ("CONFLICT", None)
    assert "not run again" in (refused.value.details() or "")
    assert count(container, models.Presentation, tenant.workspace_id) == 1


# -- a first request that outlives its lease, a caller cancelled while claiming -------------
# The stage is driven directly here: its clock is injected, so a lease ends on demand.

CREATE = "/chronicle.v1.PresentationService/CreatePresentation"


class Clock:
    def __init__(self) -> None:
        self.now = models.utcnow()

    def __call__(self) -> datetime:
        return self.now


class Metadata:
    """The part of a gRPC ServicerContext the stage reads."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self._pairs = pairs

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._pairs


@dataclass
class Stage:
    idempotency: idempotency.Idempotency
    clock: Clock
    executor: ThreadPoolExecutor
    servicer: PresentationServicer
    principal: Principal

    def create(
        self, key: str, gate: Gate | None = None, failure: Exception | None = None
    ) -> Awaitable[Message]:
        """CreatePresentation with `key`, as the interceptor runs it; held at `gate` in
        the server's thread before its work, and failing with `failure` if given."""
        request = presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE)

        def handler(request: Message, context: object) -> Message:
            if gate is not None:
                gate.entered.set()
                assert gate.release.wait(20)
            if failure is not None:
                raise failure
            return self.servicer.CreatePresentation(request, context)

        async def call(scope: Any) -> Message:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, scope.run, handler, request, None)

        context = cast(grpc.aio.ServicerContext, Metadata(("idempotency-key", key)))
        return self.idempotency.run(CREATE, scope_of(self.principal), request, context, call)


@pytest.fixture
def stage(container: Container, tenant: Tenant) -> Iterator[Stage]:
    clock = Clock()
    executor = ThreadPoolExecutor(8)
    yield Stage(
        idempotency.Idempotency(container.uow, executor, clock),
        clock,
        executor,
        PresentationServicer(container.uow, "http://chronicle.test"),
        Principal(CallerKind.API_KEY, tenant.key_id, tenant.workspace_id, "live"),
    )
    executor.shutdown(wait=False, cancel_futures=True)


async def _entered(gate: Gate) -> None:
    assert await asyncio.to_thread(gate.entered.wait, 10)


@pytest.mark.parametrize(
    "failure",
    [None, errors.NotFound(), errors.Unavailable()],
    ids=["its-work-commits", "it-fails", "it-answers-503"],
)
def test_a_request_past_its_lease_whose_key_a_retry_took_over_changes_nothing(
    stage: Stage, container: Container, tenant: Tenant, failure: Exception | None
) -> None:
    """One deck, and one answer for the key (the retry's): the late first request can
    neither commit, nor store its answer over the retry's, nor free the retry's claim."""
    late, retry_gate = Gate(), Gate()

    async def scenario() -> tuple[Exception, Message, Message]:
        first = asyncio.ensure_future(stage.create("late", late, failure))
        await _entered(late)  # queued, or waiting on a lock, past its lease:
        stage.clock.now += idempotency.LEASE + timedelta(seconds=1)
        retry = asyncio.ensure_future(stage.create("late", retry_gate))
        await _entered(retry_gate)  # the retry took the key over and runs
        late.release.set()
        with pytest.raises(errors.ChronicleError) as refused:
            await first
        with pytest.raises(errors.IdempotentRequestRunning):
            await stage.create("late")  # the retry still runs: nobody runs it a third time
        retry_gate.release.set()
        return refused.value, await retry, await stage.create("late")

    refused, answer, replay = asyncio.run(scenario())
    if failure is None:
        assert isinstance(refused, errors.IdempotentRequestSuperseded)
        assert "superseded by a retry" in refused.message
    assert replay == answer
    assert count(container, models.Presentation, tenant.workspace_id) == 1


def test_a_caller_cancelled_while_its_key_is_claimed_does_not_block_the_retry(
    stage: Stage, container: Container, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    claiming = Gate()
    real = idempotency.Idempotency._claim
    monkeypatch.setattr(idempotency.Idempotency, "_claim", claiming.around(real, after=True))

    async def scenario() -> Message:
        first = asyncio.ensure_future(stage.create("gone"))
        await _entered(claiming)  # the claim is committed; the caller hangs up now
        first.cancel()
        claiming.release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        deadline = time.monotonic() + 5
        while True:  # a well-behaved client: retries a 409 running after a moment
            try:
                return await stage.create("gone")
            except errors.IdempotentRequestRunning:
                assert time.monotonic() < deadline, "the key stays claimed until the lease ends"
                await asyncio.sleep(0.05)

    reply = asyncio.run(scenario())
    assert isinstance(reply, presentation_pb2.Presentation)
    assert count(container, models.Presentation, tenant.workspace_id) == 1


# -- answers a client is told to retry are not kept ---------------------------------------------


class RedisNotTold(NoChannel):
    def publish(self, credential_id: str) -> bool:
        return False


def test_a_revoke_that_committed_but_answered_503_is_409_on_retry_not_503_for_a_day(
    channel: grpc.Channel,
    tenant: Tenant,
    service_token: str,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 503 says "revoking again is safe": with the same key the retry is told the
    revoke was done, and that a new key runs it (and tells the servers) again."""
    monkeypatch.setattr(container, "key_status", RedisNotTold())
    stub = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    request = api_key_service_pb2.RevokeApiKeyRequest(id=tenant.key_id, reason="leak")
    bearer = ("authorization", f"Bearer {service_token}")
    with pytest.raises(grpc.RpcError) as first:
        stub.RevokeApiKey(request, metadata=[bearer, ("idempotency-key", "rv-1")], timeout=10)
    assert first.value.code() == grpc.StatusCode.UNAVAILABLE

    with pytest.raises(grpc.RpcError) as again:
        stub.RevokeApiKey(request, metadata=[bearer, ("idempotency-key", "rv-1")], timeout=10)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_and_retry(again.value) == ("CONFLICT", None)
    details = again.value.details() or ""
    assert "carried out" in details and "The key is revoked" in details
    assert "send a new key" in details

    with pytest.raises(grpc.RpcError) as new_key:  # runs again: the servers are told again
        stub.RevokeApiKey(request, metadata=[bearer, ("idempotency-key", "rv-2")], timeout=10)
    assert new_key.value.code() == grpc.StatusCode.UNAVAILABLE


# -- a key sent twice ------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [("k-a", "k-b"), ("k-a", "k-a")], ids=["two", "same-twice"])
def test_a_key_sent_twice_is_400_over_rest_and_invalid_argument_over_grpc(
    http: httpx.Client,
    channel: grpc.Channel,
    tenant: Tenant,
    container: Container,
    keys: tuple[str, str],
) -> None:
    headers = [*tenant.headers.items(), *(("idempotency-key", key) for key in keys)]
    refused = http.post("/api/v1/presentations", json={"template_id": TEMPLATE}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == idempotency.REPEATED_KEY

    metadata = [*tenant.bearer, *(("idempotency-key", key) for key in keys)]
    with pytest.raises(grpc.RpcError) as rejected:
        presentations(channel).CreatePresentation(
            presentation_service_pb2.CreatePresentationRequest(template_id=TEMPLATE),
            metadata=metadata,
            timeout=10,
        )
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rejected.value.details() == idempotency.REPEATED_KEY
    assert count(container, models.Presentation, tenant.workspace_id) == 0
