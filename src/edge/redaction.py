"""What the edge never repeats in a message or a log line: API keys, wherever a client
put them (path, query, field name; also with any of their characters percent-encoded),
and the signatures of download links, each a credential for days."""

from __future__ import annotations

import logging
import re


def _literal_or_encoded(char: str) -> str:
    """`char` in either case, as written or percent-encoded."""
    forms = {char.lower(), char.upper()}
    return "(?:" + "|".join(re.escape(c) + f"|%{ord(c):02x}" for c in sorted(forms)) + ")"


# A key's characters, each also as its percent-encoding: %30-%39, %41-%5A, %5F, %61-%7A.
_KEY_CHAR = r"(?:[0-9a-z_]|%(?:3[0-9]|[46][1-9a-f]|[57][0-9a]|5f))"
# Any `chr_…`: complete keys, cut-off ones, and kinds not issued yet alike.
_KEY = re.compile("".join(_literal_or_encoded(c) for c in "chr_") + _KEY_CHAR + "*", re.IGNORECASE)
_SIGNATURE_PARAM = re.compile(r"((?:^|[?&])(?:signature|X-Amz-Signature)=)[^&\s]*", re.I)


def redact(text: str) -> str:
    text = _KEY.sub("chr_[redacted]", text)
    return _SIGNATURE_PARAM.sub(r"\1(redacted)", text)


class RedactSecrets(logging.Filter):
    """Applied to uvicorn's access log, whose arguments hold the raw path and query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
