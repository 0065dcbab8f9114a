"""The one place an exception becomes a gRPC status: code, ErrorInfo and RetryInfo."""

from __future__ import annotations

import functools
import logging
import math

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError

from chronicle import contract
from server import errors

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[errors.ChronicleError], grpc.StatusCode] = {
    errors.Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyInvalid: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyExpired: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyRevoked: grpc.StatusCode.UNAUTHENTICATED,
    errors.SignInFailed: grpc.StatusCode.UNAUTHENTICATED,
    errors.SessionInvalid: grpc.StatusCode.UNAUTHENTICATED,
    errors.AdminOnly: grpc.StatusCode.PERMISSION_DENIED,
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


def status_code_for(exc: errors.ChronicleError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return grpc.StatusCode.INTERNAL


def as_chronicle_error(exc: Exception, method: str) -> errors.ChronicleError:
    """What the client is told about `exc`: never SQL, a stack trace or a key."""
    if isinstance(exc, errors.ChronicleError):
        return exc
    if isinstance(exc, OperationalError):  # locked SQLite, unreachable PostgreSQL…
        log.warning("database unavailable in %s: %s", method, type(exc.orig).__name__)
        return errors.Unavailable()
    log.exception("unhandled error in %s", method, exc_info=exc)
    return errors.ChronicleError()


def to_rpc_status(exc: errors.ChronicleError) -> grpc.Status:
    if isinstance(exc, errors.ReplayedStatus):  # sent again exactly as first sent
        return rpc_status.to_status(status_pb2.Status.FromString(exc.status))
    retry = None
    if isinstance(exc, errors.RateLimited | errors.IdempotentRequestRunning):
        retry = math.ceil(exc.retry_after_seconds * 1000) / 1000  # whole milliseconds
    return _status_for(status_code_for(exc), exc.reason, exc.message, retry, exc.scope)


def stored_status(exc: Exception, method: str) -> bytes:
    """`exc`'s status as a serialized google.rpc.Status: what an Idempotency-Key's
    record keeps of a failed first request, for `errors.ReplayedStatus`."""
    status = to_rpc_status(as_chronicle_error(exc, method))
    for key, value in status.trailing_metadata:
        if key == "grpc-status-details-bin":
            return bytes(value)
    fallback = status_pb2.Status(code=status.code.value[0], message=status.details)
    return bytes(fallback.SerializeToString())


def set_status(context: grpc.aio.ServicerContext, exc: Exception, method: str) -> None:
    """Ends the call with `exc`'s status, keeping trailing metadata already set.

    Set rather than raised with abort_with_status: raising through grpc is costly when
    refusing a flood of keys. The handler then returns nothing, which grpc discards."""
    status = to_rpc_status(as_chronicle_error(exc, method))
    already = tuple(context.trailing_metadata() or ())
    context.set_code(status.code)
    context.set_details(status.details)
    context.set_trailing_metadata(already + tuple(status.trailing_metadata))


@functools.lru_cache(maxsize=4096)  # a flood of refusals repeats a few statuses
def _status_for(
    code: grpc.StatusCode, reason: str, message: str, retry_after: float | None, scope: str
) -> grpc.Status:
    info = any_pb2.Any()
    metadata = {"scope": scope} if scope else {}
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=contract.DOMAIN, metadata=metadata))
    details = [info]
    if retry_after is not None:
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_after * 1e9))
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return rpc_status.to_status(status)
