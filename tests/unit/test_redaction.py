"""Keys are redacted however a client percent-encoded them."""

from __future__ import annotations

import pytest

from edge.redaction import redact

SECRET = "sEcReT9"
KEY = f"chr_live_AbCd1234_{SECRET}"


def encoded(text: str, which: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in which else c for c in text)


@pytest.mark.parametrize(
    "written",
    [
        KEY,
        encoded(KEY, "_"),
        encoded(KEY, "c"),  # %63hr_live_…
        encoded(KEY, "r"),  # chr_live_…sec%72et
        encoded(KEY, "C"),
        encoded(KEY, "chr_liveAbCd1234sEcReT9"),  # every character
        KEY.upper(),
        encoded(KEY.upper(), "C"),  # %43HR_LIVE_…
    ],
    ids=[
        "plain",
        "underscores",
        "first-letter",
        "inside-secret",
        "capital",
        "all",
        "upper",
        "upper-first-letter",
    ],
)
def test_a_key_is_redacted_whatever_its_percent_encoding(written: str) -> None:
    text = redact(f"/api/v1/templates?k={written}&page=2")
    assert text == "/api/v1/templates?k=chr_[redacted]&page=2", text


def test_text_around_a_key_stays() -> None:
    assert redact(f"/x/{KEY}%2Fnext") == "/x/chr_[redacted]%2Fnext"
    assert redact("character %63hat") == "character %63hat"
