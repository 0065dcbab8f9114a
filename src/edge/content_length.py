"""The request's declared body size, read strictly: `str.isdigit` takes "²" and `int()`
refuses over 4,300 digits, so a bare `int(header)` is a 500 waiting for its input."""

from __future__ import annotations

import re

from starlette.requests import Request

from edge.errors import HttpError, Refused

_DIGITS = re.compile(r"[0-9]{1,20}")


def declared_length(request: Request) -> int | None:
    """Content-Length as a number, None when absent; a malformed one is a 400."""
    length = request.headers.get("content-length")
    if length is None:
        return None
    if not _DIGITS.fullmatch(length):
        raise Refused(HttpError.of(400, "The Content-Length header is malformed"))
    return int(length)
