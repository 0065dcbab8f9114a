"""Opaque, unguessable ids with a type prefix (`pres_…`, `ws_…`)."""

from __future__ import annotations

import secrets
import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_LENGTH = 20  # 20 base62 characters: 119 bits of randomness.


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_base62(ID_LENGTH)}"
