"""Which request headers cross from the edge to gRPC."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from edge.content_length import declared_length
from edge.errors import Refused
from edge.metadata import CLIENT_ADDRESS, MAX_HEADER_BYTES, call_metadata, forwarded_metadata


def test_only_allow_listed_headers_cross_and_repeats_are_kept() -> None:
    headers = [
        (b"authorization", b"Bearer k"),
        (b"x-api-key", b"k"),
        (b"x-api-key", b"k2"),
        (b"x-request-id", b"r1"),
        (b"idempotency-key", b"i1"),
        (b"cookie", b"session=1"),
        (b"x-workspace-id", b"ws_other"),
        (b"grpc-timeout", b"1n"),
        (b"host", b"example"),
    ]
    assert forwarded_metadata(headers) == [
        ("authorization", "Bearer k"),
        ("x-api-key", "k"),
        ("x-api-key", "k2"),
        ("x-request-id", "r1"),
        ("idempotency-key", "i1"),
    ]


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        (b"x-api-key", "chr_ключ".encode(), 401),
        (b"authorization", b"Bearer \x01abc", 401),
        (b"x-api-key", b"k" * (MAX_HEADER_BYTES + 1), 401),
        (b"x-request-id", b"r" * (MAX_HEADER_BYTES + 1), 400),
        (b"idempotency-key", b"\xff", 400),
    ],
)
def test_unusable_values_are_refused_with_the_right_status(
    header: bytes, value: bytes, status: int
) -> None:
    with pytest.raises(Refused) as refused:
        forwarded_metadata([(header, value)])
    assert refused.value.error.status == status
    assert value.decode("latin-1") not in refused.value.error.message


@pytest.mark.parametrize("value", ["²", "1" * 5000, "-1", "1 2", ""])
def test_a_malformed_content_length_is_a_400_not_a_500(value: str) -> None:
    scope = {"type": "http", "headers": [(b"content-length", value.encode())]}
    with pytest.raises(Refused) as refused:
        declared_length(Request(scope))
    assert refused.value.error.status == 400


def test_a_declared_length_is_read_as_a_number() -> None:
    assert declared_length(Request({"type": "http", "headers": [(b"content-length", b"42")]})) == 42
    assert declared_length(Request({"type": "http", "headers": []})) is None


@pytest.mark.parametrize("host", ["\udcff", "not an address", "10.0.0.1, 10.0.0.2"])
def test_a_client_address_that_is_no_ip_is_not_sent(host: str) -> None:
    scope = {"type": "http", "headers": [], "client": (host, 1234)}
    metadata, client = call_metadata(Request(scope), "r1")
    assert CLIENT_ADDRESS not in dict(metadata) and client == ""


@pytest.mark.parametrize("host", ["192.0.2.7", "2001:db8::1"])
def test_an_ip_client_address_is_sent(host: str) -> None:
    scope = {"type": "http", "headers": [], "client": (host, 1234)}
    metadata, client = call_metadata(Request(scope), "r1")
    assert dict(metadata)[CLIENT_ADDRESS] == host and client == host
