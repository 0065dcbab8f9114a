"""The password policy as a person meets it, generated passwords, and email normalisation."""

from __future__ import annotations

import math
import re

import pytest

from server import data, passwords
from server.errors import InvalidArgument, WeakPassword

EMAIL = "Alice.Smith@Example.com"
GOOD = "correct horse battery staple"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "at least 12 characters"),
        ("short1!", "at least 12 characters"),
        ("x" * 257, "at most 256 characters"),
        ("alice.smith@example.com", "email address"),
        ("ALICE.SMITH@EXAMPLE.COM", "email address"),
        ("my alice.smith@example.com!", "email address"),
        ("Alice.Smith", "at least 12"),  # too short first: one sentence, the first problem
        ("1qaz2wsx3edc", "common"),
        ("1QAZ2WSX3EDC", "common"),  # case-insensitive
        ("LeaveMeAlone", "common"),
        ("finalfantasy", "common"),
    ],
)
def test_the_policy_refuses_with_one_sentence(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        passwords.check(password, EMAIL)
    message = refused.value.message
    assert reason in message
    assert message.endswith(".") and message.count(". ") == 0, "one sentence"
    assert not password or password not in message


def test_the_local_part_alone_is_refused_when_long_enough() -> None:
    email = "marguerite.dupont@example.org"
    assert passwords.problem("Marguerite.Dupont", email) is not None
    assert "email" in (passwords.problem("marguerite.dupont", email) or "")


@pytest.mark.parametrize(
    "password",
    [GOOD, "x" * 12, "x" * 256, "Tr0ub4dor&3-but-longer", "alice-in-wonderland-77"],
)
def test_the_policy_accepts_long_uncommon_passwords(password: str) -> None:
    passwords.check(password, EMAIL)


def test_generated_passwords_are_readable_strong_and_pass_the_policy() -> None:
    seen = {passwords.generate(EMAIL) for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){6}", password)
        assert passwords.problem(password, EMAIL) is None
    letters = len(next(iter(seen)).replace("-", ""))
    assert letters * math.log2(32) >= 128


def test_the_common_list_holds_ten_thousand_lower_case_passwords_with_its_source() -> None:
    assert len(passwords.COMMON) == 10_000
    assert {"123456", "password", "qwerty"} <= passwords.COMMON
    header = data.read_text("common_passwords.txt").splitlines()[:5]
    assert any("zxcvbn" in line for line in header)
    assert any("MIT" in line for line in header)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("# header\nabc\nabc\n", "listed twice"),
        ("# header\nAbc\n", "lower-case"),
        ("# header\nabc\n\n", "lower-case"),
        ("# header\nabc\n", "1 passwords, expected 10000"),
    ],
)
def test_a_damaged_common_list_stops_the_load_naming_the_line(text: str, complaint: str) -> None:
    with pytest.raises(data.DataError, match=complaint):
        passwords.parse_common(text, "common_passwords.txt")


def test_emails_keep_their_spelling_and_compare_case_insensitively() -> None:
    assert passwords.normalize_email("  Alice@Example.COM ") == (
        "Alice@Example.COM",
        "alice@example.com",
    )
    assert passwords.normalize_email("admin@localhost") == ("admin@localhost", "admin@localhost")


@pytest.mark.parametrize(
    "email",
    ["", "alice", "@example.com", "alice@", "al ice@example.com", "a\x00@b", "a" * 250 + "@b.com"],
)
def test_a_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(InvalidArgument):
        passwords.normalize_email(email)


def test_hashing_parameters_never_go_below_the_owasp_minimum() -> None:
    assert passwords.hashing_parameters(1024, 1, 1) == (19 * 1024, 2, 1)
    assert passwords.hashing_parameters(64 * 1024, 3, 4) == (64 * 1024, 3, 4)
