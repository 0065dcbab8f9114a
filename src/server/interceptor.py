"""The one gRPC interceptor: authenticate, check the caller kind, map exceptions.

The server is `grpc.aio`. Handlers marked inline run on the event loop itself
(quick SQLite work: no thread hand-off, no GIL convoy between worker threads);
the others, and argon2 on a verification-cache miss, run in a thread pool so
the loop never stalls.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from chronicle import contract
from server import errors
from server.auth import Authenticator, NeedsVerification, Principal

log = logging.getLogger(__name__)

DOMAIN = "chronicle"

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
    errors.ChronicleError: grpc.StatusCode.INTERNAL,
}

_DONE = object()


def _next(replies: Any) -> Any:
    return next(replies, _DONE)


def current_principal(_context: Any = None) -> Principal:
    """The caller of the RPC being served; set by the interceptor."""
    return _current.get()


def status_code_for(exc: errors.ChronicleError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return grpc.StatusCode.INTERNAL


def to_rpc_status(exc: errors.ChronicleError) -> grpc.Status:
    code = status_code_for(exc)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=exc.reason, domain=DOMAIN))
    status = status_pb2.Status(code=code.value[0], message=exc.message, details=[detail])
    return rpc_status.to_status(status)


class ChronicleInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        authenticator: Authenticator,
        executor: Executor,
        runs_inline: Callable[[str], bool],
    ) -> None:
        self._authenticator = authenticator
        self._executor = executor
        self._runs_inline = runs_inline
        self._callers = {
            contract.full_method_name(method): contract.allowed_callers(service)
            for service in contract.SERVICES
            for method in service.methods
        }

    async def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/chronicle."):
            return handler  # health, reflection: public by design
        guard = _Guard(
            self._authenticator,
            self._callers.get(details.method, frozenset()),
            details.method,
            self._executor,
            self._runs_inline(details.method),
        )
        kinds = (
            (handler.unary_unary, grpc.unary_unary_rpc_method_handler, guard.unary),
            (handler.unary_stream, grpc.unary_stream_rpc_method_handler, guard.streaming),
            (handler.stream_unary, grpc.stream_unary_rpc_method_handler, guard.unary),
            (handler.stream_stream, grpc.stream_stream_rpc_method_handler, guard.streaming),
        )
        for behaviour, make, wrap in kinds:
            if behaviour is not None:
                return make(
                    wrap(behaviour),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler


class _Guard:
    def __init__(
        self,
        authenticator: Authenticator,
        allowed: frozenset[int],
        method: str,
        executor: Executor,
        inline: bool,
    ) -> None:
        self._authenticator = authenticator
        self._allowed = allowed
        self._method = method
        self._executor = executor
        self._inline = inline

    async def _admit(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = context.invocation_metadata() or ()
        try:
            principal = self._authenticator.authenticate(metadata, may_block=False)
        except NeedsVerification:
            principal = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._authenticator.authenticate, metadata
            )
        if principal.kind not in self._allowed:
            raise errors.CallerNotAllowed()
        return principal

    async def _abort(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        if not isinstance(exc, errors.ChronicleError):
            log.exception("unhandled error in %s", self._method, exc_info=exc)
            exc = errors.ChronicleError()
        await context.abort_with_status(to_rpc_status(exc))

    async def _run(self, principal: Principal, fn: Callable[..., Any], *args: Any) -> Any:
        """Calls fn with the principal set: on the loop when inline, else in a thread."""
        context = contextvars.copy_context()
        context.run(_current.set, principal)
        if self._inline:
            return context.run(fn, *args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, fn, *args)

    def unary(self, behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                result = await self._run(await self._admit(context), behaviour, request, context)
                return await result if inspect.isawaitable(result) else result
            except Exception as exc:  # every failure becomes a status
                await self._abort(context, exc)

        return call

    def streaming(
        self, behaviour: Callable[[Any, Any], Any]
    ) -> Callable[[Any, Any], AsyncIterator[Any]]:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                principal = await self._admit(context)
                replies = await self._run(principal, behaviour, request, context)
                if hasattr(replies, "__aiter__"):
                    async for reply in replies:
                        yield reply
                    return
                # A sync generator may wait between replies: each step runs in a thread.
                loop = asyncio.get_running_loop()
                step = contextvars.copy_context()
                step.run(_current.set, principal)
                while (
                    reply := await loop.run_in_executor(self._executor, step.run, _next, replies)
                ) is not _DONE:
                    yield reply
            except Exception as exc:  # every failure becomes a status
                await self._abort(context, exc)

        return call
