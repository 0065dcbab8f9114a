"""Bad inputs from outside testing (issue 13): each gets a clear 4xx in Chronicle's envelope,
never a 500. The local upload routes need no key; NUL in a string field is refused alike on
SQLite and PostgreSQL, over REST and gRPC."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import grpc
import httpx
import pytest

from chronicle import upload_policy
from chronicle.config import Settings
from chronicle.v1 import presentation_service_pb2 as ps
from chronicle.v1 import presentation_service_pb2_grpc as ps_grpc
from tests.conftest import Tenant
from tests.hardening.test_slow_clients import readable
from tests.harness import EdgeServer
from tests.waiting import wait_until

LOCAL = upload_policy.LOCAL_UPLOAD_PATH
KEY = "ws_a1/att_b2/notes.txt"
# The file limit and room for the form around it.
MAX_BODY_BYTES = upload_policy.MAX_FILE_BYTES + 64 * 1024


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The error of a response in Chronicle's envelope (and nothing else)."""
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == response.status_code, body
    return body["error"]  # type: ignore[no-any-return]


# The signed download


@pytest.mark.parametrize(
    "query",
    [
        {"expires": "²", "signature": "0" * 64},  # a unicode digit: str.isdigit() says yes
        {"expires": "9" * 5000, "signature": "0" * 64},  # past int()'s 4,300 digits
        {"expires": "4102444800", "signature": "é" * 64},  # hmac refuses non-ASCII text
        {"expires": "4102444800", "signature": "ü"},
    ],
    ids=["unicode-digit", "5000-digits", "non-ascii-signature", "short-non-ascii"],
)
def test_a_malformed_download_link_is_403(http: httpx.Client, query: dict[str, str]) -> None:
    response = http.get(f"{LOCAL}/{KEY}", params=query)
    assert response.status_code == 403
    assert envelope(response)["message"] in {
        "The download link is malformed",
        "The download signature is invalid",
    }


# The signed form POST


def multipart(fields: dict[str, str], content: bytes, boundary: str = "b0und") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    file_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="n.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return b"".join([*parts, file_head, content, f"\r\n--{boundary}--\r\n".encode()])


def signed_fields(settings: Settings, max_bytes: int = 100) -> dict[str, str]:
    """The form fields of a valid target, signed with the edge's own secret."""
    secret = upload_policy.load_signing_key(settings.upload_signing_key, settings.upload_dir)
    policy = upload_policy.Policy(KEY, "text/plain", max_bytes, "ws_a1", int(time.time()) + 600)
    encoded, signature = upload_policy.sign_policy(secret, policy)
    return {
        "key": KEY,
        "Content-Type": "text/plain",
        "policy": encoded,
        upload_policy.SIGNATURE_FIELD: signature,
    }


def test_a_non_ascii_form_signature_is_403(http: httpx.Client, settings: Settings) -> None:
    fields = {**signed_fields(settings), upload_policy.SIGNATURE_FIELD: "é"}
    response = http.post(
        LOCAL,
        content=multipart(fields, b"hello"),
        headers={"content-type": "multipart/form-data; boundary=b0und"},
    )
    assert response.status_code == 403
    assert envelope(response)["message"] == "The upload signature is invalid"


def test_a_valid_form_is_still_taken(http: httpx.Client, settings: Settings) -> None:
    response = http.post(
        LOCAL,
        content=multipart(signed_fields(settings), b"hello"),
        headers={"content-type": "multipart/form-data; boundary=b0und"},
    )
    assert response.status_code == 204, response.text


def test_a_boundary_over_256_characters_is_400(http: httpx.Client, settings: Settings) -> None:
    boundary = "b" * 300
    response = http.post(
        LOCAL,
        content=multipart(signed_fields(settings), b"hello", boundary),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    assert "boundary" in envelope(response)["message"]


# Oversized uploads are refused before their body arrives


def raw_request(edge: EdgeServer, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", edge.port), timeout=5)
    sock.sendall(head.encode())
    return sock


def read_response(sock: socket.socket) -> bytes:
    """What the server sent until it closed (or paused for 5 s)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_content_length_over_the_limit_is_413_before_any_body(edge: EdgeServer) -> None:
    sock = raw_request(
        edge,
        f"POST {LOCAL} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b0und\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n",
    )
    with sock:
        status, body = status_and_body(read_response(sock))  # no body sent at all
    assert status == 413
    assert b'"PAYLOAD_TOO_LARGE"' in body


def test_a_chunked_upload_is_cut_off_once_past_the_limit(
    edge: EdgeServer, settings: Settings
) -> None:
    """A body without a length: the edge stops reading it soon after the limit, instead
    of reading on (as it did, up to twice the limit) before answering."""
    fields = signed_fields(settings, max_bytes=upload_policy.MAX_FILE_BYTES)
    start = multipart(fields, b"")[: -len(b"\r\n--b0und--\r\n")]
    sock = raw_request(
        edge,
        f"POST {LOCAL} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b0und\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    )
    chunk = b"x" * (1 << 20)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent, answered = 0, b""
    with sock:
        sock.sendall(f"{len(start):x}\r\n".encode() + start + b"\r\n")
        try:
            while sent < 3 * MAX_BODY_BYTES:
                if readable(sock, 0):
                    break  # the edge answered
                sock.sendall(framed)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        answered = read_response(sock)
    # Socket buffers on both sides hold a few MB more than the edge read.
    assert sent < MAX_BODY_BYTES + 16 * (1 << 20)
    if answered:  # the answer may be lost to the reset of an unread body
        status, body = status_and_body(answered)
        assert status in {400, 413} and b'"error"' in body


# NUL in a string field: refused on both databases, before any service runs


NUL_REST = [
    ("POST", "/api/v1/presentations/generate", {"prompt": "a deck\u0000about cats"}, "prompt"),
    ("GET", "/api/v1/presentations/pres_%00x", None, "id"),
    ("DELETE", "/api/v1/presentations/pres_%00x", None, "id"),
    ("POST", "/api/v1/presentations", {"template_id": "tpl\u0000"}, "template_id"),
    ("PATCH", "/api/v1/presentations/pres_x", {"title": "a\u0000"}, "title"),
    ("GET", "/api/v1/presentations?page_token=a%00b", None, "page_token"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_REST, ids=lambda v: str(v)[:20])
def test_nul_in_a_string_is_400_naming_the_field(
    http: httpx.Client,
    tenant: Tenant,
    method: str,
    path: str,
    body: dict[str, str] | None,
    field: str,
) -> None:
    response = http.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    error = envelope(response)
    assert error["code"] == "BAD_REQUEST" and field in error["message"]
    assert "NUL" in error["message"]


def test_nul_in_a_string_is_invalid_argument_over_grpc(
    channel: grpc.Channel, tenant: Tenant
) -> None:
    stub = ps_grpc.PresentationServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetPresentation(ps.GetPresentationRequest(id="pres_\u0000"), metadata=tenant.bearer)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("id ")


def test_nul_in_a_streaming_request_is_invalid_argument(
    channel: grpc.Channel, tenant: Tenant
) -> None:
    stub = ps_grpc.PresentationServiceStub(channel)
    replies = stub.WatchGeneration(
        ps.WatchGenerationRequest(generation_id="gen_\u0000"), metadata=tenant.bearer
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(iter(replies))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("generation_id ")


# The client's address


def _raw_get(edge: EdgeServer, path: str, *headers: bytes) -> bytes:
    head = [f"GET {path} HTTP/1.1".encode(), b"host: edge", *headers, b"connection: close"]
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_non_ascii_x_forwarded_for_is_ignored_not_a_500(edge: EdgeServer, tenant: Tenant) -> None:
    answer = _raw_get(
        edge,
        "/api/v1/caller",
        f"authorization: Bearer {tenant.key}".encode(),
        b"x-forwarded-for: \xff",
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


def test_x_forwarded_for_does_not_choose_the_client_address(
    edge: EdgeServer, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)
    old = access.level
    access.setLevel(logging.INFO)
    try:
        _raw_get(edge, "/healthz", b"x-forwarded-for: 203.0.113.9")
        wait_until(lambda: bool(caplog.records), what="an access log line")
    finally:
        access.removeHandler(caplog.handler)
        access.setLevel(old)
    line = caplog.records[0].getMessage()
    assert "127.0.0.1" in line and "203.0.113.9" not in line, line
