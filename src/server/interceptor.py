"""The one gRPC interceptor: drain → authenticate → authorise → limit → idempotency →
dispatch.

Failures at any step, and in the handler, end the call with the status that
`server.error_mapping` gives them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from chronicle import contract
from chronicle.config import IPNetwork, RateLimit
from chronicle.gcra import Decision
from server import errors
from server.auth import (
    Authenticator,
    CallerKind,
    NeedsVerification,
    Principal,
    UnknownKeyId,
    scope_of,
)
from server.auth.in_flight import Verifications
from server.client_address import client_address
from server.dispatch import Dispatcher, StreamHandler, UnaryHandler
from server.error_mapping import set_status
from server.idempotency import Idempotency
from server.ratelimit import Limiter

# Distinct strangers' keys being verified at once, per process: a legitimate burst of
# new keys (every client after a restart) fits; a flood beyond it is told to retry.
MAX_PENDING_VERIFICATIONS = 64

# Standard services that answer without a key; every other service needs one.
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_AUTHENTICATED = ((contract.AUTHENTICATED_METADATA, "1"),)
ANONYMOUS = Principal(CallerKind.ANONYMOUS, "", "", "")


@dataclass(frozen=True)
class _Shared:
    """What every method's guard uses."""

    authenticator: Authenticator
    verifications: Verifications
    limiter: Limiter
    default_rate: RateLimit
    trusted_proxies: tuple[IPNetwork, ...]
    dispatcher: Dispatcher
    idempotency: Idempotency | None  # None: Idempotency-Key is not honoured


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
        idempotency: Idempotency | None = None,
    ) -> None:
        """`verifier` runs argon2 on cache misses apart from `executor`, so a burst of
        unknown keys cannot take every thread the RPCs need."""
        self._shared = _Shared(
            authenticator,
            Verifications(verifier, MAX_PENDING_VERIFICATIONS),
            limiter,
            default_rate,
            trusted_proxies,
            Dispatcher(executor),
            idempotency,
        )
        self._runs_inline = runs_inline
        self._draining = False
        self._callers = {
            contract.full_method_name(method): contract.allowed_callers(service)
            for service in contract.SERVICES
            for method in service.methods
        }

    def drain(self) -> None:
        """Shutting down: new calls are refused with UNAVAILABLE, which clients (and
        edges) retry on another server; calls already running finish."""
        self._draining = True

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
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
            return grpc.unary_unary_rpc_method_handler(
                _shutting_down if self._draining else guard.unary(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _shutting_down if self._draining else guard.server_streaming(handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # No client-streaming RPC exists; refuse one rather than serve it unguarded.
        return grpc.unary_unary_rpc_method_handler(_refuse_client_streaming)


async def _shutting_down(_request: Message, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAVAILABLE, "This server is shutting down")


async def _refuse_client_streaming(_request: Message, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Client streaming is not served")


class _Guard:
    """One method's chain: who may call it, its rate limit, and where its handler runs."""

    def __init__(self, shared: _Shared, allowed: frozenset[int], method: str, inline: bool) -> None:
        self._shared = shared
        self._allowed = allowed
        self._method = method
        self._inline = inline

    def unary(
        self, handler: UnaryHandler
    ) -> Callable[[Message, grpc.aio.ServicerContext], Awaitable[Message | None]]:
        async def call(request: Message, context: grpc.aio.ServicerContext) -> Message | None:
            try:
                scope = await self._admit(context)
                return await self._dispatch(scope, handler, request, context)
            except Exception as exc:  # every failure becomes a status
                await self._fail(context, exc)
                return None

        return call

    def server_streaming(
        self, handler: StreamHandler
    ) -> Callable[[Message, grpc.aio.ServicerContext], AsyncIterator[Message]]:
        async def call(
            request: Message, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Message]:
            try:
                scope = await self._admit(context)
                async for reply in self._shared.dispatcher.stream(scope, handler, request, context):
                    yield reply
            except Exception as exc:  # every failure becomes a status
                await self._fail(context, exc)

        return call

    async def _dispatch(
        self,
        scope: contextvars.Context,
        handler: UnaryHandler,
        request: Message,
        context: grpc.aio.ServicerContext,
    ) -> Message:
        """The handler's reply; through the Idempotency-Key stage when there is one."""

        def call(scope: contextvars.Context) -> Awaitable[Message]:
            return self._shared.dispatcher.unary(scope, self._inline, handler, request, context)

        idempotency = self._shared.idempotency
        if idempotency is None:
            return await call(scope)
        return await idempotency.run(self._method, scope, request, context, call)

    async def _admit(self, context: grpc.aio.ServicerContext) -> contextvars.Context:
        """The context the handler runs in, with the caller set; or raises. Once the key
        is authenticated, every answer says so in its trailers (an edge reads that as
        "this key is good"), with an API key's RateLimit-* beside it."""
        if CallerKind.ANONYMOUS in self._allowed and not self._session_sent(context):
            # No credential needed: the call is its own check (SignIn), or what it shows
            # an anonymous caller is public (ViewerService).
            return scope_of(ANONYMOUS)
        principal = await self._authenticate(context)
        trailers: tuple[tuple[str, str], ...] = _AUTHENTICATED
        try:
            self._authorise(principal)
            decision = await self._limit(principal)
            if decision is not None:
                trailers += decision.headers()
                if not decision.allowed:
                    raise errors.RateLimited(decision.retry_after_seconds)
        finally:
            context.set_trailing_metadata(trailers)
        return scope_of(principal)

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> Principal:
        """The caller; a key not verified yet is verified in the verifier pool."""
        metadata = context.invocation_metadata() or ()
        authenticate = self._shared.authenticator.authenticate

        def client() -> str:  # needed only for a key not verified yet
            return client_address(context.peer(), metadata, self._shared.trusted_proxies)

        try:
            principal = authenticate(metadata, may_block=False, client=client)
        except NeedsVerification as needed:
            verify = functools.partial(authenticate, metadata, client=client())
            principal = await self._shared.verifications.run(needed.digest, verify)
        return principal

    def _session_sent(self, context: grpc.aio.ServicerContext) -> bool:
        """Whether a service that takes anonymous callers and sessions got a session:
        then it is verified like any credential (a stale one is UNAUTHENTICATED)."""
        if CallerKind.USER_SESSION not in self._allowed:
            return False
        metadata = context.invocation_metadata() or ()
        return any(name == contract.SESSION_METADATA for name, _ in metadata)

    def _authorise(self, principal: Principal) -> None:
        if principal.kind not in self._allowed:
            raise errors.CallerNotAllowed()

    async def _limit(self, principal: Principal) -> Decision | None:
        """One request from an API key's allowance (None: no allowance applies)."""
        if principal.kind != CallerKind.API_KEY:
            return None
        rate = principal.rate_limit or self._shared.default_rate
        decision = await self._shared.limiter.hit(principal.credential_id, rate)
        if not decision.allowed:
            self._shared.authenticator.tell_rate_limited(principal, rate)
        return decision

    async def _fail(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        if isinstance(exc, UnknownKeyId):  # as late as a wrong secret's answer
            await asyncio.sleep(exc.answer_after)
        set_status(context, exc, self._method)
