"""Minting API keys and service tokens, and hashing their secrets with argon2.

The format (`chr_<kind>_<key id>_<secret><checksum>`) is `chronicle.credentials`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from chronicle.credentials import (
    KEY_ID_LENGTH,
    SECRET_LENGTH,
    KeyKind,
    ParsedKey,
    checksum,
)
from server.ids import random_base62


@dataclass(frozen=True)
class NewKey:
    raw: str
    parsed: ParsedKey

    @property
    def hint(self) -> str:
        return hint(self.raw)


def generate(kind: KeyKind | str) -> NewKey:
    """A new key of `kind` (a KeyKind, or its spelling: live, test or svc)."""
    try:
        key_kind = KeyKind(kind)
    except ValueError:
        raise ValueError(f"unknown key kind {kind!r}") from None
    handle = random_base62(KEY_ID_LENGTH)
    secret = random_base62(SECRET_LENGTH)
    body = f"chr_{key_kind}_{handle}_{secret}"
    raw = body + checksum(body)
    return NewKey(raw, ParsedKey(key_kind, key_kind.record_id(handle), secret))


def hint(raw: str) -> str:
    """Non-secret: prefix with key id, and the last 4 characters."""
    prefix = raw[: len("chr_live_") + KEY_ID_LENGTH]
    return f"{prefix}…{raw[-4:]}"


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
        # after as long as a wrong secret is, without spending the CPU (`server.auth.verification`).
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
