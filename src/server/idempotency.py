"""Idempotency-Key (Stripe's semantics), for every RPC whose http rule is a POST.

The first request with a key claims it (a row in the database, so every server instance
sees it) and runs; its answer, success or failure, is stored and sent again for the same
key and the same request within 24 hours, without running it again. The same key for
another request is refused (IDEMPOTENCY_KEY_REUSED, 422); a retry while the first still
runs gets 409 with a retry delay. Keys belong to the caller's workspace (a service
token: to the token). Calls without the metadata `idempotency-key` run as before; a key
sent twice is refused (400).

A raw key in a reply (fields marked `(chronicle.v1.secret)`) is never stored: a retry
of CreateApiKey or RotateApiKey gets 409 naming what the first request made.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import re
import secrets
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
from server.storage.idempotency_repository import Claim, ClaimLost, claimed_key
from server.storage.uow import UnitOfWork
from server.vocabulary import IdempotencyState

log = logging.getLogger(__name__)

METADATA = contract.IDEMPOTENCY_KEY_METADATA
TTL = timedelta(hours=24)
# How long a claim holds when its server dies mid-request: longer than any POST runs.
# One that runs longer anyway is refused at its commit once a retry took its key over.
LEASE = timedelta(seconds=60)
RETRY_AFTER_SECONDS = 1.0
# Expired records are deleted by the first claim after this long, per process.
SWEEP_SECONDS = 300.0
KEY_PATTERN = re.compile(contract.IDEMPOTENCY_KEY_PATTERN)
INVALID_KEY = (
    "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces "
    "(a UUID, for instance)"
)
REPEATED_KEY = "Idempotency-Key was sent more than once; send one key per request"
# Answers a client is told to retry: never stored as a key's answer for 24 hours.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
COMMITTED_THEN_FAILED = (
    "The request with this Idempotency-Key was carried out (its changes are saved), but "
    "it answered: {message} It is not run again with this key; send a new key to repeat it"
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
        where = (scope_key(scope.run(current_principal)), key)
        digest = fingerprint(method, request)
        # Shielded from the claim on: a client that hangs up (or an edge that cancels)
        # must neither leave a claim that nothing will answer nor stop the answer being
        # stored, or its retry would get 409 until the lease ends, or find no answer.
        first = asyncio.ensure_future(
            self._first(method, spec, where, digest, scope=scope, call=call)
        )
        first.add_done_callback(_retrieved)
        return await asyncio.shield(first)

    async def _first(
        self,
        method: str,
        spec: _Method,
        where: tuple[str, str],
        digest: str,
        *,
        scope: contextvars.Context,
        call: Call,
    ) -> Message:
        loop = asyncio.get_running_loop()
        claim = await loop.run_in_executor(self._executor, self._claim, where, digest)
        if isinstance(claim, _Replay):
            return _replayed(spec, claim.record)
        scope.run(claimed_key.set, claim)
        try:
            reply = await call(scope)
        except ClaimLost as exc:  # rolled back; the retry that holds the key answers it
            raise errors.IdempotentRequestSuperseded() from exc
        except Exception as exc:
            failure = as_chronicle_error(exc, method)
            await loop.run_in_executor(self._executor, self._store_failure, claim, failure, method)
            raise failure from exc
        kept, withheld = _without_secrets(reply, spec.secrets)
        await loop.run_in_executor(
            self._executor, self._store, claim, 0, kept.SerializeToString(), withheld
        )
        return reply

    def _claim(self, where: tuple[str, str], digest: str) -> Claim | _Replay:
        """The claim if the key is ours to run; else the stored answer; or raises."""
        now = self._clock()
        self._sweep(now)
        claim = Claim(*where, secrets.token_hex(16))
        with self._uow() as uow:
            uow.idempotency.delete_expired(now - TTL, where)  # an old use does not count
            uow.idempotency.add(
                models.IdempotencyRecord(
                    scope=claim.scope,
                    key=claim.key,
                    fingerprint=digest,
                    state=IdempotencyState.RUNNING,
                    locked_until=now + LEASE,
                    claim_token=claim.token,
                    created_at=now,
                )
            )
            try:
                uow.commit()
                return claim
            except IntegrityError:
                pass  # the key is taken: by this request before, or another one
        with self._uow() as uow:
            record = uow.idempotency.get(*where)
            if record is None:  # expired and deleted meanwhile: the retry may claim it
                raise errors.IdempotentRequestRunning(RETRY_AFTER_SECONDS)
            if record.fingerprint != digest:
                raise errors.IdempotencyKeyReused()
            if record.state == IdempotencyState.DONE:
                return _Replay(record)
            # A running claim past its lease: its work has not committed, so nothing was
            # done; run it (unless another retry took it first). Its request, if still
            # alive, now holds a stale token: its commit and its answer are refused.
            stale = record.state == IdempotencyState.RUNNING and record.locked_until < now
            if stale and uow.idempotency.take_over(claim, now, now + LEASE):
                uow.commit()
                return claim
            if record.state == IdempotencyState.COMMITTED and record.locked_until < now:
                raise errors.Conflict(
                    "The request with this Idempotency-Key was completed, but its server "
                    "stopped before storing the response; it is not run again"
                )
            raise errors.IdempotentRequestRunning(RETRY_AFTER_SECONDS)

    def _store(self, claim: Claim, code: int, response: bytes, withheld: bool) -> None:
        try:
            with self._uow() as uow:
                stored = uow.idempotency.finish(claim, code, response, withheld)
                uow.commit()
        except Exception as exc:  # the caller still gets its answer; a retry gets 409
            log.warning("could not store an idempotent answer: %s", type(exc).__name__)
            return
        if not stored:  # it did nothing that committed; the retry's answer counts
            log.info("an idempotent request's key was taken over by a retry meanwhile")

    def _store_failure(self, claim: Claim, failure: errors.ChronicleError, method: str) -> None:
        if status_code_for(failure) in TRANSIENT:
            released = self._release(claim)
            if released is not False:
                # Released: nothing was done (a busy database, shutting down), a retry
                # runs it. Unknown (the database is gone): the claim tells the retry.
                return
            # Its work committed: a retry must neither run it again nor be told to retry.
            failure = errors.Conflict(COMMITTED_THEN_FAILED.format(message=failure.message))
        code = status_code_for(failure).value[0]
        self._store(claim, code, stored_status(failure, method), False)

    def _release(self, claim: Claim) -> bool | None:
        """Frees a claim whose work did not commit; False if it did (or a retry holds
        the key now), None if the database could not be asked."""
        try:
            with self._uow() as uow:
                released = uow.idempotency.release(claim)
                uow.commit()
                return released
        except Exception as exc:
            log.warning("could not release an idempotency key: %s", type(exc).__name__)
            return None

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
    keys = [value for name, value in context.invocation_metadata() or () if name == METADATA]
    if len(keys) > 1:  # which one the client meant is a guess: refused, not picked
        raise errors.InvalidArgument(REPEATED_KEY)
    if not keys:
        return None
    return keys[0] if isinstance(keys[0], str) else keys[0].decode("latin-1")


def _retrieved(task: asyncio.Future[Message]) -> None:
    """A first request whose caller left: its outcome is stored, not lost in a warning."""
    if not task.cancelled():
        task.exception()


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
