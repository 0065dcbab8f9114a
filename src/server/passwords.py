"""People's passwords: the policy a person is told in one sentence, generated passwords,
and the argon2id parameters they are hashed with (never below OWASP's minimum)."""

from __future__ import annotations

import secrets

from server import data
from server.errors import InvalidArgument, WeakPassword

MIN_LENGTH = 12
# Long passphrases are welcome; the cap only keeps one request from hashing megabytes.
MAX_LENGTH = 256
MAX_EMAIL = 254  # RFC 5321's limit for a path, the longest address that can be delivered

# OWASP's minimum for argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
# Keys' CHRONICLE_ARGON2_* settings may be set lower (tests do); passwords never are.
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1

_COMMON_SOURCE = "common_passwords.txt"
COMMON_COUNT = 10_000

# Generated passwords: 28 characters of a 32-letter alphabet without look-alikes
# (Crockford's base32: no i, l, o, u) = 140 bits, in groups of 4 to read aloud or retype.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_GROUPS = 7
_GROUP_LENGTH = 4


def parse_common(text: str, source: str = _COMMON_SOURCE) -> frozenset[str]:
    """The common-password list: one lower-case password a line, `#` lines comments; a
    DataError naming the line when it does not hold exactly COMMON_COUNT distinct ones."""
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            continue
        if not line or line != line.strip() or line != line.casefold():
            raise data.DataError(f"{source}:{number}: expected one lower-case password")
        if line in seen:
            raise data.DataError(f"{source}:{number}: {line!r} is listed twice")
        seen.add(line)
    if len(seen) != COMMON_COUNT:
        raise data.DataError(f"{source}: {len(seen)} passwords, expected {COMMON_COUNT}")
    return frozenset(seen)


COMMON = parse_common(data.read_text(_COMMON_SOURCE))


def normalize_email(email: str) -> tuple[str, str]:
    """(the email as given, without surrounding spaces; its case-folded form, the one that
    is unique per workspace), or InvalidArgument in one sentence."""
    given = email.strip()
    local, at, domain = given.rpartition("@")
    if not at or not local or not domain or len(given) > MAX_EMAIL:
        raise InvalidArgument(
            f"email: expected an address like name@example.com, at most {MAX_EMAIL} characters"
        )
    if not given.isprintable() or any(c.isspace() for c in given):
        raise InvalidArgument("email: must not contain spaces or control characters")
    return given, given.casefold()


def problem(password: str, email: str) -> str | None:
    """Why the policy refuses `password` for the person with `email`, in one sentence a
    person understands (never repeating the password); None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters long."
    folded = password.casefold()
    address = email.strip().casefold()
    local = address.rpartition("@")[0]
    if address in folded or folded == local:
        return "The password must not contain your email address or be the name before its @."
    if folded in COMMON:
        return "The password is one of the 10,000 most common passwords; choose another."
    return None


def check(password: str, email: str) -> None:
    reason = problem(password, email)
    if reason is not None:
        raise WeakPassword(reason)


def generate(email: str) -> str:
    """A new password for `email`: 140 random bits, readable, and one the policy accepts."""
    while True:
        letters = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LENGTH))
        password = "-".join(
            letters[i : i + _GROUP_LENGTH] for i in range(0, len(letters), _GROUP_LENGTH)
        )
        if problem(password, email) is None:  # always, in practice: 28 random letters
            return password


def hashing_parameters(memory_kib: int, time_cost: int, parallelism: int) -> tuple[int, int, int]:
    """The configured argon2id parameters, raised to OWASP's minimum where below it."""
    return (
        max(memory_kib, OWASP_MEMORY_KIB),
        max(time_cost, OWASP_TIME_COST),
        max(parallelism, OWASP_PARALLELISM),
    )
