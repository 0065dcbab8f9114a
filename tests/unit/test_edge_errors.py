"""gRPC status → Chronicle's envelope, per API.md's mapping."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from edge.errors import HttpError, from_status


def trailing(code: grpc.StatusCode, *details: object) -> tuple[tuple[str, bytes], ...]:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)  # type: ignore[arg-type]
        packed.append(item)
    status = status_pb2.Status(code=code.value[0], message="m", details=packed)
    return (("grpc-status-details-bin", status.SerializeToString()),)


@pytest.mark.parametrize(
    ("code", "http", "default_code"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, 401, "UNAUTHORIZED"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "INSUFFICIENT_PRIVILEGES"),
        (grpc.StatusCode.NOT_FOUND, 404, "NOT_FOUND"),
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "BAD_REQUEST"),
        (grpc.StatusCode.OUT_OF_RANGE, 400, "BAD_REQUEST"),
        (grpc.StatusCode.FAILED_PRECONDITION, 409, "CONFLICT"),
        (grpc.StatusCode.ABORTED, 409, "CONFLICT"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "CONFLICT"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "API_KEY_RATE_LIMITED"),
        (grpc.StatusCode.UNIMPLEMENTED, 501, "NOT_IMPLEMENTED"),
        (grpc.StatusCode.UNAVAILABLE, 503, "UNAVAILABLE"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"),
        (grpc.StatusCode.INTERNAL, 500, "INTERNAL_ERROR"),
        (grpc.StatusCode.UNKNOWN, 500, "INTERNAL_ERROR"),
        (grpc.StatusCode.DATA_LOSS, 500, "INTERNAL_ERROR"),
    ],
)
def test_every_status_maps_to_its_http_code(
    code: grpc.StatusCode, http: int, default_code: str
) -> None:
    error = from_status(code, "ipv4:10.0.0.1:50051 connection refused", ())
    assert (error.status, error.code) == (http, default_code)
    assert "10.0.0.1" not in error.message  # grpc's own text never reaches a client


def test_error_info_from_our_domain_sets_code_and_message() -> None:
    info = error_details_pb2.ErrorInfo(reason="DOCUMENT_NOT_FOUND", domain="chronicle")
    error = from_status(
        grpc.StatusCode.NOT_FOUND,
        "No presentation with id 'p'",
        trailing(grpc.StatusCode.NOT_FOUND, info),
    )
    assert json.loads(error.body()) == {
        "error": {
            "code": "DOCUMENT_NOT_FOUND",
            "message": "No presentation with id 'p'",
            "status": 404,
        }
    }


def test_error_info_from_another_domain_is_ignored() -> None:
    info = error_details_pb2.ErrorInfo(reason="SOMETHING", domain="elsewhere")
    error = from_status(grpc.StatusCode.NOT_FOUND, "x", trailing(grpc.StatusCode.NOT_FOUND, info))
    assert error.code == "NOT_FOUND" and error.message == "Not found"


def test_retry_info_becomes_retry_after_in_whole_seconds() -> None:
    info = error_details_pb2.ErrorInfo(reason="API_KEY_RATE_LIMITED", domain="chronicle")
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=1))
    error = from_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "slow down",
        trailing(grpc.StatusCode.RESOURCE_EXHAUSTED, info, retry),
    )
    assert error.status == 429 and error.headers["retry-after"] == "3"


def test_envelope_mirrors_the_status() -> None:
    body = json.loads(HttpError.of(413, "too big").body())
    assert body == {"error": {"code": "PAYLOAD_TOO_LARGE", "message": "too big", "status": 413}}
