"""Chronicle's error envelope, built from a gRPC status and its details."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field, replace

import grpc
from google.rpc import error_details_pb2, status_pb2
from starlette.responses import Response

from chronicle import contract
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.redaction import redact

# API.md's status mapping.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

# Reasons whose HTTP status no gRPC code states: 422 has no gRPC twin (the server sends
# INVALID_ARGUMENT, which alone would be a 400).
REASON_HTTP_STATUS: dict[str, int] = {
    ErrorReason.Name(ErrorReason.IDEMPOTENCY_KEY_REUSED): 422,
}

# The reason, and a message safe to show, when the status carries no ErrorInfo.
DEFAULTS: dict[int, tuple[ErrorReason, str]] = {
    400: (ErrorReason.BAD_REQUEST, "Bad request"),
    401: (ErrorReason.UNAUTHORIZED, "Unauthorized"),
    403: (ErrorReason.INSUFFICIENT_PRIVILEGES, "Insufficient privileges"),
    404: (ErrorReason.NOT_FOUND, "Not found"),
    405: (ErrorReason.METHOD_NOT_ALLOWED, "Method not allowed"),
    409: (ErrorReason.CONFLICT, "Conflict"),
    413: (ErrorReason.PAYLOAD_TOO_LARGE, "Payload too large"),
    415: (ErrorReason.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    429: (ErrorReason.API_KEY_RATE_LIMITED, "Rate limit exceeded"),
    500: (ErrorReason.INTERNAL_ERROR, "Internal error"),
    501: (ErrorReason.NOT_IMPLEMENTED, "Not implemented"),
    503: (ErrorReason.UNAVAILABLE, "The service is temporarily unavailable"),
    504: (ErrorReason.DEADLINE_EXCEEDED, "The service did not answer in time"),
}


@dataclass(frozen=True)
class HttpError:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the refusal holds for the client whatever it sends (ErrorInfo scope
    # "client": throttled for failed key verifications); 0 when it is this request's.
    client_refused_for: float = 0.0

    @classmethod
    def of(
        cls,
        status: int,
        message: str | None = None,
        reason: ErrorReason | None = None,
    ) -> HttpError:
        default_reason, default_message = DEFAULTS.get(status, DEFAULTS[500])
        code = ErrorReason.Name(reason or default_reason)
        return cls(status, code, message or default_message)

    def retry_after(self, seconds: float, client_refused_for: float = 0.0) -> HttpError:
        """This error with `Retry-After` (whole seconds, at least 1)."""
        headers = {**self.headers, "retry-after": str(max(1, math.ceil(seconds)))}
        return replace(self, headers=headers, client_refused_for=client_refused_for)

    def body(self) -> bytes:
        return _envelope(self.status, self.code, self.message)


@functools.lru_cache(maxsize=256)  # a flood of refusals repeats a few envelopes
def _envelope(status: int, code: str, message: str) -> bytes:
    envelope = {"error": {"code": code, "message": redact(message), "status": status}}
    return json.dumps(envelope, ensure_ascii=False).encode()


class Refused(Exception):
    """An error the edge answers itself: raised where it is found, sent as the envelope."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.message)
        self.error = error


def error_response(error: HttpError, request_id: str | None = None) -> Response:
    """The envelope as a response; with `request_id`, echoed in `x-request-id`."""
    ids = {} if request_id is None else {"x-request-id": request_id}
    return Response(
        error.body(),
        status_code=error.status,
        media_type="application/json",
        headers={**ids, **error.headers},
    )


def from_status(
    code: grpc.StatusCode, details: str | None, trailing: tuple[tuple[str, str | bytes], ...]
) -> HttpError:
    """The envelope for a failed RPC. Only our own server's messages reach the client."""
    status = HTTP_STATUS.get(code, 500)
    rich = _rich_status(trailing)
    if rich is not None and rich.code != code.value[0]:
        rich = None  # details of some other status (e.g. grpc's own refusal): not ours
    reason, scope, delay = None, "", None
    for detail in rich.details if rich else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == contract.DOMAIN:
                reason, scope = info.reason, info.metadata.get("scope", "")
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    # grpc's own messages (connection errors and the like) may name internal hosts.
    error = HttpError.of(status)
    if reason:
        status = REASON_HTTP_STATUS.get(reason, status)
        error = replace(error, status=status, code=reason, message=details or error.message)
    if delay is not None:
        error = error.retry_after(delay, delay if scope == "client" else 0.0)
    return error


def _rich_status(trailing: tuple[tuple[str, str | bytes], ...]) -> status_pb2.Status | None:
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None
