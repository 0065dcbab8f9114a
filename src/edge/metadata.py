"""Which parts of an HTTP request become the gRPC call's metadata: an allow-list of
headers, and the client's address, the same for the REST API and MCP."""

from __future__ import annotations

import ipaddress
import random

from starlette.requests import Request

from chronicle import contract
from edge.errors import HttpError, Refused

# Only these request headers cross to gRPC; nothing else does by accident.
FORWARDED_HEADERS = ("authorization", "x-api-key", "x-request-id", "idempotency-key")
_FORWARDED = frozenset(h.encode() for h in FORWARDED_HEADERS)
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})
# Far above any key or request id; gRPC refuses metadata past 8 KiB with a status
# that would read as a rate limit.
MAX_HEADER_BYTES = 1024
MAX_FORWARDED_BYTES = 4096  # all of them: repeats must not reach gRPC's limit either
# The HTTP client's address, for servers that trust this edge (CHRONICLE_TRUSTED_PROXIES).
# Never taken from the request's own headers: it is not in the allow-list.
CLIENT_ADDRESS = contract.CLIENT_ADDRESS_METADATA


def forwarded_metadata(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The allow-listed headers as gRPC metadata, repeats included (the server
    refuses a key sent twice)."""
    metadata, size = [], 0
    for name, value in headers:
        if name in _FORWARDED:
            problem = (
                "is too long"
                if len(value) > MAX_HEADER_BYTES
                else "contains characters that are not allowed"
                if not value.isascii() or not value.decode().isprintable()
                else ""
            )
            if problem:
                status = 401 if name in _CREDENTIAL_HEADERS else 400
                raise Refused(HttpError.of(status, f"The {name.decode()} header {problem}"))
            size += len(name) + len(value)
            if size > MAX_FORWARDED_BYTES:
                raise Refused(HttpError.of(400, "The request's headers are too large"))
            metadata.append((name.decode(), value.decode()))
    return metadata


def call_metadata(request: Request, request_id: str) -> tuple[list[tuple[str, str]], str]:
    """The call's metadata, and the client's address (sent along for the server's
    failed-verification budget)."""
    metadata = forwarded_metadata(request.scope["headers"])
    client = request.client.host if request.client is not None else ""
    if not _is_ip(client):
        client = ""  # the server would take anything sent here for an address
    if client:
        metadata.append((CLIENT_ADDRESS, client))
    if "x-request-id" not in request.headers:
        metadata.append(("x-request-id", request_id))
    return metadata, client


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def request_id() -> str:
    """A new request id: unique, not secret (no system call per request)."""
    return f"{random.getrandbits(128):032x}"
