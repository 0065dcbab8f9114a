"""The one gRPC interceptor: authenticate, check the caller kind, map exceptions.

Runs inside the RPC's worker thread (wrapping the handler's behaviour), not in
grpc's polling thread, so argon2 on a cache miss never stalls other RPCs.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from chronicle import contract
from server import errors
from server.auth import Authenticator, Principal

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


class ChronicleInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        self._callers = {
            contract.full_method_name(method): contract.allowed_callers(service)
            for service in contract.SERVICES
            for method in service.methods
        }

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith("/chronicle."):
            return handler  # health, reflection: public by design
        allowed = self._callers.get(details.method, frozenset())
        guard = _Guard(self._authenticator, allowed, details.method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                guard.unary(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                guard.streaming(handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                guard.unary(handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            guard.streaming(handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Guard:
    def __init__(self, authenticator: Authenticator, allowed: frozenset[int], method: str) -> None:
        self._authenticator = authenticator
        self._allowed = allowed
        self._method = method

    def _admit(self, context: grpc.ServicerContext) -> Principal:
        principal = self._authenticator.authenticate(context.invocation_metadata())
        if principal.kind not in self._allowed:
            raise errors.CallerNotAllowed()
        return principal

    def _abort(self, context: grpc.ServicerContext, exc: Exception) -> None:
        if not isinstance(exc, errors.ChronicleError):
            log.exception("unhandled error in %s", self._method, exc_info=exc)
            exc = errors.ChronicleError()
        context.abort_with_status(to_rpc_status(exc))

    def unary(self, behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                token = _current.set(self._admit(context))
                try:
                    return behaviour(request, context)
                finally:
                    _current.reset(token)
            except Exception as exc:  # every failure becomes a status
                self._abort(context, exc)

        return call

    def streaming(
        self, behaviour: Callable[[Any, Any], Iterator[Any]]
    ) -> Callable[[Any, Any], Iterator[Any]]:
        def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                token = _current.set(self._admit(context))
                try:
                    yield from behaviour(request, context)
                finally:
                    _current.reset(token)
            except Exception as exc:  # every failure becomes a status
                self._abort(context, exc)

        return call
