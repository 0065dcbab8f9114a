"""Page sizes and opaque keyset page tokens."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from server.errors import InvalidArgument
from server.storage.repository import Cursor


def page_size(requested: int, *, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or default, maximum)


def encode_token(cursor: Cursor) -> str:
    created_at, row_id = cursor
    payload = json.dumps([created_at.isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str) -> Cursor | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), str(row_id)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument("page_token is not a token this service issued") from None


class _Keyed(Protocol):
    created_at: datetime
    id: str


Row = TypeVar("Row", bound=_Keyed)


def paginate(
    fetch: Callable[[int, Cursor | None], list[Row]],
    requested_size: int,
    token: str,
    *,
    default: int,
    maximum: int,
) -> tuple[list[Row], str]:
    """One page (newest first) and the token of the next, empty on the last page."""
    size = page_size(requested_size, default=default, maximum=maximum)
    rows = fetch(size + 1, decode_token(token))
    if len(rows) <= size:
        return rows, ""
    rows = rows[:size]
    return rows, encode_token((rows[-1].created_at, rows[-1].id))
