"""Idempotency-Key (Stripe's semantics), for every RPC whose http rule is a POST.

The first request with a key claims it (a row in the database, so every server instance
sees it) and runs; its answer, success or failure, is stored and sent again for the same
key and the same request within 24 hours, without running it again. The same key for
another request is refused (IDEMPOTENCY_KEY_REUSED, 422); a retry while the first still
runs gets 409 with a retry delay. Keys belong to the caller's workspace (a service
token: to the token). Calls without the metadata `idempotency-key` run as before.

A raw key in a reply (fields marked `(chronicle.v1.secret)`) is never stored: a retry
of CreateApiKey or RotateApiKey gets 409 naming what the first request made.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError

from chronicle import contract
from chronicle.v1 import options_pb2
from server import errors
from server.auth import Principal, current_principal
from server.error_mapping import as_chronicle_error, status_code_for, stored_status
from server.storage import models
from server.storage.idempotency_repository import claimed_key
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

METADATA = contract.IDEMPOTENCY_KEY_METADATA
TTL = timedelta(hours=24)
# How long a claim holds when its server dies mid-request: longer than any POST runs.
LEASE = timedelta(seconds=60)
RETRY_AFTER_SECONDS = 1.0
# Expired records are deleted by the first claim after this long, per process.
SWEEP_SECONDS = 300.0
KEY_PATTERN = re.compile(contract.IDEMPOTENCY_KEY_PATTERN)
INVALID_KEY = (
    "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces "
    "(a UUID, for instance)"
)

Call = Callable[[contextvars.Context], Awaitable[Message]]


@dataclass(frozen=True)
class _Method:
    response: type[Message]
    secrets: tuple[str, ...]  # the reply's fields never stored


def _secret_fields(output: descriptor.Descriptor) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in output.fields
        if field.GetOptions().Extensions[options_pb2.secret]  # type: ignore[index]
    )


def idempotent_methods(
    bindings: Sequence[contract.HttpBinding] | None = None,
) -> dict[str, _Method]:
    """The RPCs a POST route serves, with their reply type and its secret fields."""
    return {
        binding.full_method: _Method(
            message_factory.GetMessageClass(binding.method.output_type),
            _secret_fields(binding.method.output_type),
        )
        for binding in (contract.http_bindings() if bindings is None else bindings)
        if binding.verb == "POST"
    }


def scope_key(principal: Principal) -> str:
    """Whose keys these are: an API key's workspace, or a service token itself."""
    return principal.workspace_id or f"token:{principal.credential_id}"


def fingerprint(method: str, request: Message) -> str:
    body = request.SerializeToString(deterministic=True)
    return hashlib.sha256(method.encode() + b"\0" + body).hexdigest()


@dataclass(frozen=True)
class _Replay:
    record: models.IdempotencyRecord


class Idempotency:
    """The interceptor's stage between limiting and dispatch."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        executor: Executor,
        clock: Callable[[], datetime] = models.utcnow,
    ) -> None:
        self._uow = uow
        self._executor = executor
        self._clock = clock
        self._methods = idempotent_methods()
        self._last_sweep = -SWEEP_SECONDS  # the first claim sweeps

    async def run(
        self,
        method: str,
        scope: contextvars.Context,
        request: Message,
        context: grpc.aio.ServicerContext,
        call: Call,
    ) -> Message:
        """`call(scope)` once per key; a stored answer for a repeat."""
        spec = self._methods.get(method)
        key = _key_of(context) if spec is not None else None
        if spec is None or key is None:
            return await call(scope)
        if not KEY_PATTERN.fullmatch(key):
            raise errors.InvalidArgument(INVALID_KEY)
        claim = (scope_key(scope.run(current_principal)), key)
        loop = asyncio.get_running_loop()
        digest = fingerprint(method, request)
        found = await loop.run_in_executor(self._executor, self._claim, claim, digest)
        if found is not None:
            return _replayed(spec, found.record)
        scope.run(claimed_key.set, claim)
        # Shielded: a client that hangs up (or an edge that cancels) after the work began
        # must not stop its answer being stored, or its retry would find no answer.
        first = asyncio.ensure_future(self._first(method, spec, claim, scope, call))
        return await asyncio.shield(first)

    async def _first(
        self,
        method: str,
        spec: _Method,
        claim: tuple[str, str],
        scope: contextvars.Context,
        call: Call,
    ) -> Message:
        loop = asyncio.get_running_loop()
        try:
            reply = await call(scope)
        except Exception as exc:
            failure = as_chronicle_error(exc, method)
            await loop.run_in_executor(self._executor, self._store_failure, claim, failure, method)
            raise failure from exc
        kept, withheld = _without_secrets(reply, spec.secrets)
        await loop.run_in_executor(
            self._executor, self._store, claim, 0, kept.SerializeToString(), withheld
        )
        return reply

    def _claim(self, claim: tuple[str, str], digest: str) -> _Replay | None:
        """None: the key is ours to run. Else the stored answer; or raises."""
        now = self._clock()
        self._sweep(now)
        with self._uow() as uow:
            uow.idempotency.delete_expired(now - TTL, claim)  # an old use does not count
            uow.idempotency.add(
                models.IdempotencyRecord(
                    scope=claim[0],
                    key=claim[1],
                    fingerprint=digest,
                    state="running",
                    locked_until=now + LEASE,
                    created_at=now,
                )
            )
            try:
                uow.commit()
                return None
            except IntegrityError:
                pass  # the key is taken: by this request before, or another one
        with self._uow() as uow:
            record = uow.idempotency.get(*claim)
            if record is None:  # expired and deleted meanwhile: the retry may claim it
                raise errors.IdempotentRequestRunning(RETRY_AFTER_SECONDS)
            if record.fingerprint != digest:
                raise errors.IdempotencyKeyReused()
            if record.state == "done":
                return _Replay(record)
            # A running claim past its lease: its server died before the work committed,
            # so nothing was done; run it (unless another retry took it first).
            stale = record.state == "running" and record.locked_until < now
            if stale and uow.idempotency.take_over(*claim, now, now + LEASE):
                uow.commit()
                return None
            if record.state == "committed" and record.locked_until < now:
                raise errors.Conflict(
                    "The request with this Idempotency-Key was completed, but its server "
                    "stopped before storing the response; it is not run again"
                )
            raise errors.IdempotentRequestRunning(RETRY_AFTER_SECONDS)

    def _store(self, claim: tuple[str, str], code: int, response: bytes, withheld: bool) -> None:
        try:
            with self._uow() as uow:
                uow.idempotency.finish(*claim, code, response, withheld)
                uow.commit()
        except Exception as exc:  # the caller still gets its answer; a retry gets 409
            log.warning("could not store an idempotent answer: %s", type(exc).__name__)

    def _store_failure(
        self, claim: tuple[str, str], failure: errors.ChronicleError, method: str
    ) -> None:
        if status_code_for(failure) == grpc.StatusCode.UNAVAILABLE and self._release(claim):
            return  # a busy database, shutting down: nothing was done, a retry runs it
        code = status_code_for(failure).value[0]
        self._store(claim, code, stored_status(failure, method), False)

    def _release(self, claim: tuple[str, str]) -> bool:
        """Frees a claim whose work did not commit; False if it did (or on failure)."""
        try:
            with self._uow() as uow:
                released = uow.idempotency.release(*claim)
                uow.commit()
                return released
        except Exception as exc:
            log.warning("could not release an idempotency key: %s", type(exc).__name__)
            return False

    def _sweep(self, now: datetime) -> None:
        if time.monotonic() - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        with self._uow() as uow:
            removed = uow.idempotency.delete_expired(now - TTL, None)
            uow.commit()
        if removed:
            log.info("removed %d expired idempotency keys", removed)


def _key_of(context: grpc.aio.ServicerContext) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == METADATA:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _without_secrets(reply: Message, secrets: tuple[str, ...]) -> tuple[Message, bool]:
    """The reply as stored, and whether a secret was taken out of it."""
    present = {field.name for field, _ in reply.ListFields()}
    if not present.intersection(secrets):
        return reply, False
    kept = type(reply)()
    kept.CopyFrom(reply)
    for name in secrets:
        kept.ClearField(name)
    return kept, True


def _replayed(spec: _Method, record: models.IdempotencyRecord) -> Message:
    if record.status_code != 0:
        raise errors.ReplayedStatus(record.response or b"")
    reply = spec.response.FromString(record.response or b"")
    if record.secret_withheld:
        raise errors.Conflict(
            "The request with this Idempotency-Key already succeeded"
            f"{_ids(reply)}; its response held a secret shown only once, which is not "
            "kept: use that key, or rotate it if it was lost"
        )
    return reply


def _ids(reply: Message) -> str:
    """The ids of what the first request made, e.g. ` (api_key: key_…)`."""
    named = [
        f"{field.name}: {value.id}"
        for field, value in reply.ListFields()
        if field.message_type is not None and "id" in field.message_type.fields_by_name
    ]
    return f" ({', '.join(named)})" if named else ""
