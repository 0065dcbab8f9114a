"""The credential format and its hashing.

`chr_<kind>_<key id>_<secret><checksum>`: kind is `live` or `test` for API keys
and `svc` for service tokens; the key id (16 base62) is the public lookup
handle; the secret is 32 base62 characters (190 bits) from `secrets`; the
checksum is the CRC32 of everything before it, 6 base62 characters, so a
mistyped or truncated key is refused offline, before any database read.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from server.ids import BASE62, random_base62

KEY_ID_LENGTH = 16
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
API_KEY_KINDS = ("live", "test")
SERVICE_TOKEN_KIND = "svc"  # noqa: S105 - a marker, not a secret

_FORMAT = re.compile(
    rf"^chr_(live|test|svc)_([0-9A-Za-z]{{{KEY_ID_LENGTH}}})_"
    rf"([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
_ID_PREFIX = {"live": "key", "test": "key", "svc": "svc"}


def checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, rem = divmod(value, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class ParsedKey:
    kind: str  # live, test or svc
    key_id: str  # the record id: key_… or svc_…
    secret: str

    @property
    def is_service_token(self) -> bool:
        return self.kind == SERVICE_TOKEN_KIND

    @property
    def environment(self) -> str:
        """live or test for an API key; empty for a service token."""
        return "" if self.is_service_token else self.kind


@dataclass(frozen=True)
class NewKey:
    raw: str
    parsed: ParsedKey

    @property
    def hint(self) -> str:
        return hint(self.raw)


def generate(kind: str) -> NewKey:
    if kind not in (*API_KEY_KINDS, SERVICE_TOKEN_KIND):
        raise ValueError(f"unknown key kind {kind!r}")
    handle = random_base62(KEY_ID_LENGTH)
    secret = random_base62(SECRET_LENGTH)
    body = f"chr_{kind}_{handle}_{secret}"
    raw = body + checksum(body)
    return NewKey(raw, ParsedKey(kind, f"{_ID_PREFIX[kind]}_{handle}", secret))


def parse(raw: str) -> ParsedKey | None:
    """The key's parts, or None when it is malformed or its checksum is wrong."""
    match = _FORMAT.match(raw)
    if match is None:
        return None
    kind, handle, secret, check = match.groups()
    if checksum(raw[:-CHECKSUM_LENGTH]) != check:
        return None
    return ParsedKey(kind, f"{_ID_PREFIX[kind]}_{handle}", secret)


def hint(raw: str) -> str:
    """Non-secret: prefix with key id, and the last 4 characters."""
    prefix = raw[: len("chr_live_") + KEY_ID_LENGTH]
    return f"{prefix}…{raw[-4:]}"


def digest(raw: str) -> bytes:
    """A cache key for a raw credential; the raw value is never kept."""
    return hashlib.sha256(raw.encode()).digest()


class SecretHasher:
    """argon2id over the secret part of a key."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self.verifications = 0
        # How long one verification takes here, so that an unknown key id can be answered
        # after as long as a wrong secret is, without spending the CPU (see auth).
        started = time.perf_counter()
        self._hasher.hash(random_base62(SECRET_LENGTH))  # costs what a verify costs
        self.typical_seconds = time.perf_counter() - started

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored_hash: str, secret: str) -> bool:
        self.verifications += 1
        started = time.perf_counter()
        try:
            return self._hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
        finally:  # a moving average: the machine's speed changes under load
            took = time.perf_counter() - started
            self.typical_seconds += (took - self.typical_seconds) / 8
