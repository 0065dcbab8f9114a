"""Slide labels: every language covers every storyline key, in its own words and script."""

from __future__ import annotations

import re

import pytest

from server.generation.archetypes import all_label_keys
from server.generation.labels import LABELS, LANGUAGES, label

EXTRAS = {"speaker_notes_intro", "speaker_notes_closing", "slide_of", "continued"}
EXPECTED_KEYS = set(all_label_keys()) | EXTRAS
NON_ENGLISH = [language for language in LANGUAGES if language not in {"us", "uk"}]
SCRIPTS = {
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "hi": re.compile(r"[\u0900-\u097f]"),
    "bn": re.compile(r"[\u0980-\u09ff]"),
    "ja": re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af]"),
    "cn": re.compile(r"[\u4e00-\u9fff]"),
}


def test_languages_are_the_fourteen_supported() -> None:
    assert LANGUAGES == (
        "us",
        "uk",
        "es",
        "fr",
        "de",
        "it",
        "pt",
        "cn",
        "in",
        "ja",
        "ko",
        "ar",
        "hi",
        "bn",
    )
    assert set(LABELS) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_exactly_the_expected_keys(language: str) -> None:
    assert set(LABELS[language]) == EXPECTED_KEYS


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_label_is_empty(language: str) -> None:
    blank = [key for key, text in LABELS[language].items() if not text.strip()]
    assert blank == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_slide_of_formats_with_n_and_total(language: str) -> None:
    text = label(language, "slide_of", n=3, total=9)
    assert "3" in text
    assert "9" in text
    assert "{" not in text


@pytest.mark.parametrize("language", NON_ENGLISH)
def test_non_english_labels_are_translated(language: str) -> None:
    us = LABELS["us"]
    same = [key for key, text in LABELS[language].items() if text == us[key]]
    assert len(same) <= 0.1 * len(us), same


def test_british_english_covers_every_key() -> None:
    assert set(LABELS["uk"]) == set(LABELS["us"])


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_labels_are_written_in_the_language_script(language: str) -> None:
    script = SCRIPTS[language]
    texts = LABELS[language].values()
    in_script = [text for text in texts if script.search(text)]
    assert len(in_script) >= 0.9 * len(texts)


def test_label_returns_the_table_text() -> None:
    assert label("us", "problem") == "The problem"
    assert label("us", "closing_questions") == "Questions?"
    assert label("de", "slide_of", n=2, total=5) == "Folie 2 von 5"


def test_unknown_language_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown language 'xx'"):
        label("xx", "problem")


def test_unknown_key_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown label key 'nope'"):
        label("fr", "nope")
