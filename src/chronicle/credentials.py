"""The credential format, and the key a request presents: read by server and edge alike.

`chr_<kind>_<key id>_<secret><checksum>`: kind is `live` or `test` for API keys
and `svc` for service tokens; the key id (16 base62) is the public lookup
handle; the secret is 32 base62 characters (190 bits); the checksum is the
CRC32 of everything before it, 6 base62 characters, so a mistyped, truncated or
made-up key is refused offline, by whichever process sees it first.
"""

from __future__ import annotations

import hashlib
import re
import string
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_ID_LENGTH = 16
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
INVALID_KEY_MESSAGE = "The API key is invalid"


class KeyKind(StrEnum):
    """The `<kind>` part of a key: which credential it is, read once from the key."""

    LIVE = "live"
    TEST = "test"
    SERVICE_TOKEN = "svc"  # noqa: S105 - a marker, not a secret

    @property
    def is_service_token(self) -> bool:
        return self is KeyKind.SERVICE_TOKEN

    @property
    def environment(self) -> str:
        """live or test for an API key; empty for a service token."""
        return "" if self.is_service_token else self.value

    def record_id(self, handle: str) -> str:
        """The id of the key's record: `key_<handle>`, or `svc_<handle>` for a token."""
        return f"{'svc' if self.is_service_token else 'key'}_{handle}"


API_KEY_KINDS = (KeyKind.LIVE, KeyKind.TEST)
SERVICE_TOKEN_KIND = KeyKind.SERVICE_TOKEN

_FORMAT = re.compile(
    rf"^chr_({'|'.join(KeyKind)})_([0-9A-Za-z]{{{KEY_ID_LENGTH}}})_"
    rf"([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)


class CredentialError(ValueError):
    """The request's credential headers carry no single key; the message says why."""


def presented_key(metadata: Iterable[tuple[str, str | bytes]]) -> str:
    """The raw key from `authorization: Bearer …` and/or `x-api-key: …`."""
    candidates = set()
    for name, value in metadata:
        if name == "authorization":
            scheme, _, token = str(value).strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise CredentialError("Malformed Authorization header: expected 'Bearer <API_KEY>'")
            candidates.add(token.strip())
        elif name == "x-api-key":
            if not str(value).strip():
                raise CredentialError("Empty x-api-key header")
            candidates.add(str(value).strip())
    if not candidates:
        raise CredentialError(
            "Missing API key: send 'Authorization: Bearer <API_KEY>' or 'x-api-key: <API_KEY>'"
        )
    if len(candidates) > 1:
        raise CredentialError("Two different API keys were sent")
    (only,) = candidates
    return only


def checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, rem = divmod(value, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class ParsedKey:
    kind: KeyKind
    key_id: str  # the record id: key_… or svc_…
    secret: str = field(repr=False)

    @property
    def is_service_token(self) -> bool:
        return self.kind.is_service_token

    @property
    def environment(self) -> str:
        """live or test for an API key; empty for a service token."""
        return self.kind.environment


def parse(raw: str) -> ParsedKey | None:
    """The key's parts, or None when it is malformed or its checksum is wrong."""
    match = _FORMAT.match(raw)
    if match is None:
        return None
    kind, handle, secret, check = match.groups()
    if checksum(raw[:-CHECKSUM_LENGTH]) != check:
        return None
    key_kind = KeyKind(kind)
    return ParsedKey(key_kind, key_kind.record_id(handle), secret)


def digest(raw: str) -> bytes:
    """A cache key for a raw credential; the raw value is never kept."""
    return hashlib.sha256(raw.encode()).digest()
