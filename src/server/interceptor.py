"""The one gRPC interceptor: authenticate, check the caller kind, map exceptions.

The server is `grpc.aio`. Handlers marked inline (SQLite reads) run on the event
loop itself: no thread hand-off, no GIL convoy between worker threads. Writes,
which may wait on a lock, everything on a networked database, and argon2 on a
verification-cache miss run in a thread pool, so the loop never stalls.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import ipaddress
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError

from chronicle import contract
from chronicle.config import IPNetwork, RateLimit
from server import errors
from server.auth import Authenticator, CallerKind, NeedsVerification, Principal, UnknownKeyId
from server.ratelimit import Limiter

log = logging.getLogger(__name__)

DOMAIN = "chronicle"
# Distinct strangers' keys being verified at once, per process: a legitimate burst of
# new keys (every client after a restart) fits; a flood beyond it is told to retry.
MAX_PENDING_VERIFICATIONS = 64

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")

# Domain exception → gRPC status code. The only place such a choice is made.
STATUS_CODES: dict[type[errors.ChronicleError], grpc.StatusCode] = {
    errors.Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyInvalid: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyExpired: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyRevoked: grpc.StatusCode.UNAUTHENTICATED,
    errors.WrongWorkspace: grpc.StatusCode.PERMISSION_DENIED,
    errors.CallerNotAllowed: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    errors.NotImplementedYet: grpc.StatusCode.UNIMPLEMENTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.ChronicleError: grpc.StatusCode.INTERNAL,
}


def current_principal(_context: Any = None) -> Principal:
    """The caller of the RPC being served; set by the interceptor."""
    return _current.get()


def status_code_for(exc: errors.ChronicleError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return grpc.StatusCode.INTERNAL


def to_rpc_status(exc: errors.ChronicleError) -> grpc.Status:
    """Built once per distinct status: a flood of refusals costs no protobuf work."""
    retry = None
    if isinstance(exc, errors.RateLimited):  # whole milliseconds: plenty for a client
        retry = math.ceil(exc.retry_after_seconds * 1000) / 1000
    return _status_for(status_code_for(exc), exc.reason, exc.message, retry, exc.scope)


@functools.lru_cache(maxsize=4096)
def _status_for(
    code: grpc.StatusCode, reason: str, message: str, retry_after: float | None, scope: str
) -> grpc.Status:
    info = any_pb2.Any()
    metadata = {"scope": scope} if scope else {}
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))
    details = [info]
    if retry_after is not None:
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_after * 1e9))
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return rpc_status.to_status(status)


_DONE = object()  # the end of a streamed reply


def _next(replies: Iterator[Any]) -> Any:
    return next(replies, _DONE)


# Standard services that answer without a key; every other service needs one.
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


class ChronicleInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        authenticator: Authenticator,
        *,
        executor: Executor,
        runs_inline: Callable[[str], bool],
        verifier: Executor,
        limiter: Limiter,
        default_rate: RateLimit,
        trusted_proxies: tuple[IPNetwork, ...] = (),
    ) -> None:
        """`verifier` runs argon2 on cache misses, apart from `executor`, so a burst of
        unknown keys queues there and cannot take every thread the RPCs need."""
        self._shared = _Shared(
            authenticator,
            executor,
            _Verifications(verifier, MAX_PENDING_VERIFICATIONS),
            limiter,
            default_rate,
            trusted_proxies,
        )
        self._runs_inline = runs_inline
        self._draining = False
        self._callers = {
            contract.full_method_name(method): contract.allowed_callers(service)
            for service in contract.SERVICES
            for method in service.methods
        }

    def drain(self) -> None:
        """Shutting down: every new call is refused with UNAVAILABLE, which clients (and
        edges) retry on another server, while calls already running finish."""
        self._draining = True

    async def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or details.method.startswith(PUBLIC_SERVICES):
            return handler
        guard = _Guard(
            self._shared,
            self._callers.get(details.method, frozenset()),  # unknown: nobody may call
            details.method,
            self._runs_inline(details.method),
        )
        if handler.unary_unary is not None:
            make, behaviour = grpc.unary_unary_rpc_method_handler, guard.unary
        elif handler.unary_stream is not None:
            make, behaviour = grpc.unary_stream_rpc_method_handler, guard.server_streaming
        else:
            # No client-streaming RPC exists; refuse one rather than serve it unguarded.
            return grpc.unary_unary_rpc_method_handler(_refuse_client_streaming)
        served = handler.unary_unary or handler.unary_stream
        return make(
            _shutting_down if self._draining else behaviour(served),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _shutting_down(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAVAILABLE, "This server is shutting down")


async def _refuse_client_streaming(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Client streaming is not served")


class _Verifications:
    """Strangers' verifications (a status read, argon2) in the verifier pool: one at a
    time per presented key, however many requests bring it, and at most `limit` keys at
    once. Beyond that a stranger is told to retry (UNAVAILABLE), so a flood of keys
    cannot queue work without bound, nor keep the pool's threads contending with the
    event loop for the GIL. Keys already verified never come here."""

    def __init__(self, executor: Executor, limit: int) -> None:
        self._executor = executor
        self._limit = limit
        self._pending: dict[bytes, asyncio.Future[Principal]] = {}

    async def run(self, digest: bytes, verify: Callable[[], Principal]) -> Principal:
        pending = self._pending.get(digest)
        if pending is None:
            if len(self._pending) >= self._limit:
                raise errors.Unavailable("Too many API key verifications in progress; retry")
            pending = asyncio.get_running_loop().run_in_executor(self._executor, verify)
            self._pending[digest] = pending
            pending.add_done_callback(functools.partial(self._settled, digest))
        return await asyncio.shield(pending)  # a caller that goes away leaves it running

    def _settled(self, digest: bytes, future: asyncio.Future[Principal]) -> None:
        del self._pending[digest]
        if not future.cancelled():
            future.exception()  # read here too, in case every caller went away


@dataclass(frozen=True)
class _Shared:
    authenticator: Authenticator
    executor: Executor
    verifications: _Verifications
    limiter: Limiter
    default_rate: RateLimit
    trusted_proxies: tuple[IPNetwork, ...]


def client_address(
    peer: str, metadata: Iterable[tuple[str, str | bytes]], trusted: tuple[IPNetwork, ...]
) -> str:
    """The caller's address: the gRPC peer's, or, when the peer is a trusted proxy (an
    edge), the HTTP client's address it forwards."""
    forwarded = next((str(v) for k, v in metadata if k == contract.CLIENT_ADDRESS_METADATA), "")
    return _client_address(peer.rpartition(":")[0], forwarded, trusted)


@functools.lru_cache(maxsize=4096)
def _client_address(peer: str, forwarded: str, trusted: tuple[IPNetwork, ...]) -> str:
    """`peer` without its port ("ipv4:10.0.0.1", "ipv6:[::1]", "unix:…")."""
    kind, _, host = peer.partition(":")
    host = host.strip("[]") if kind in ("ipv4", "ipv6") else peer
    try:
        peer_ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if forwarded and any(peer_ip in network for network in trusted):
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return str(peer_ip)


class _Guard:
    """One method's wrapper: who may call it and where its handler runs."""

    def __init__(self, shared: _Shared, allowed: frozenset[int], method: str, inline: bool) -> None:
        self._shared = shared
        self._allowed = allowed
        self._method = method
        self._inline = inline

    async def _admit(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = context.invocation_metadata() or ()
        authenticate = self._shared.authenticator.authenticate

        def client() -> str:  # needed only for a key not verified yet; parsing is cached
            return client_address(context.peer(), metadata, self._shared.trusted_proxies)

        try:
            principal = authenticate(metadata, may_block=False, client=client)
        except NeedsVerification as needed:
            verify = functools.partial(authenticate, metadata, client=client())
            principal = await self._shared.verifications.run(needed.digest, verify)
        if principal.kind not in self._allowed:
            raise errors.CallerNotAllowed()
        if principal.kind == CallerKind.API_KEY:
            await self._spend(principal, context)
        return principal

    async def _spend(self, principal: Principal, context: grpc.aio.ServicerContext) -> None:
        """One request from the key's allowance; RateLimit-* go out with every answer."""
        rate = principal.rate_limit or self._shared.default_rate
        decision = self._shared.limiter.hit(principal.credential_id, rate)
        # Trailing metadata rides on the status the RPC sends anyway: no extra message.
        context.set_trailing_metadata(decision.headers())
        if not decision.allowed:
            self._shared.authenticator.tell_rate_limited(principal, rate)
            raise errors.RateLimited(decision.retry_after_seconds)

    async def _abort(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        if isinstance(exc, UnknownKeyId):  # as late as a wrong secret's answer
            await asyncio.sleep(exc.answer_after)
        if isinstance(exc, OperationalError):  # locked SQLite, unreachable PostgreSQL…
            log.warning("database unavailable in %s: %s", self._method, type(exc.orig).__name__)
            exc = errors.Unavailable()
        elif not isinstance(exc, errors.ChronicleError):
            log.exception("unhandled error in %s", self._method, exc_info=exc)
            exc = errors.ChronicleError()
        # Set, not raised with abort_with_status: raising through grpc's machinery was a
        # quarter of what the server spent refusing a key (bench/keys.py, py-spy). The
        # handler then returns nothing, which grpc discards for a status that is not OK.
        status = to_rpc_status(exc)
        already = tuple(context.trailing_metadata() or ())  # RateLimit-*, when set
        context.set_code(status.code)
        context.set_details(status.details)
        context.set_trailing_metadata(already + tuple(status.trailing_metadata))

    async def _run(self, principal: Principal, fn: Callable[..., Any], *args: Any) -> Any:
        """Calls fn with the principal set: on the loop when inline, else in a thread."""
        context = contextvars.copy_context()
        context.run(_current.set, principal)
        if not self._inline:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._shared.executor, context.run, fn, *args)
        result = context.run(fn, *args)
        if inspect.iscoroutine(result):  # an async servicer: run it in the same context
            return await asyncio.get_running_loop().create_task(result, context=context)
        return result

    def unary(self, behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await self._run(await self._admit(context), behaviour, request, context)
            except Exception as exc:  # every failure becomes a status
                await self._abort(context, exc)

        return call

    def server_streaming(
        self, behaviour: Callable[[Any, Any], Iterator[Any]]
    ) -> Callable[[Any, Any], AsyncIterator[Any]]:
        """A sync generator may wait between replies: each step runs in the thread pool,
        with the principal set, so the loop never blocks on it."""

        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                principal = await self._admit(context)
                step = contextvars.copy_context()
                step.run(_current.set, principal)
                replies = step.run(behaviour, request, context)
                loop = asyncio.get_running_loop()
                while (
                    reply := await loop.run_in_executor(
                        self._shared.executor, step.run, _next, replies
                    )
                ) is not _DONE:
                    yield reply
            except Exception as exc:  # every failure becomes a status
                await self._abort(context, exc)

        return call
