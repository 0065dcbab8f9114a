"""Opaque, unguessable ids with a type prefix (`pres_…`, `ws_…`)."""

from __future__ import annotations

import secrets

from chronicle.credentials import BASE62

ID_LENGTH = 20  # 20 base62 characters: 119 bits of randomness.


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_base62(ID_LENGTH)}"
