"""Slide labels: every language covers every storyline key, in its own words and script, and
the loader refuses a labels file that does not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from server import data
from server.data import DataError
from server.generation.archetypes import all_label_keys
from server.generation.labels import LABELS, LANGUAGES, label, parse_labels
from server.vocabulary import Language

EXTRAS = {"speaker_notes_intro", "speaker_notes_closing"}
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
    assert label("de", "problem") == "Das Problem"
    assert label(Language.JA, "closing_questions") == "ご質問はありますか？"  # noqa: RUF001


def test_unknown_language_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown language 'xx'"):
        label("xx", "problem")


def test_unknown_key_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown label key 'nope'"):
        label("fr", "nope")


def _document() -> dict[str, Any]:
    return data.load_toml("labels.toml")  # a fresh copy to spoil


def test_loader_accepts_the_shipped_labels() -> None:
    assert parse_labels(_document()) == LABELS


def test_loader_rejects_a_language_missing_a_key() -> None:
    document = _document()
    del document["fr"]["budget"]
    with pytest.raises(
        DataError, match=r"labels\.toml: \[fr\] extra keys \[\], missing \['budget'\]"
    ):
        parse_labels(document)


def test_loader_rejects_an_extra_key() -> None:
    document = _document()
    document["ko"]["slide_of"] = "{n} / {total}"
    with pytest.raises(DataError, match=r"\[ko\] extra keys \['slide_of'\]"):
        parse_labels(document)


def test_loader_rejects_a_missing_or_unknown_language() -> None:
    document = _document()
    document["xx"] = document.pop("bn")
    with pytest.raises(DataError, match=r"unknown languages \['xx'\], missing languages \['bn'\]"):
        parse_labels(document)


def test_loader_rejects_a_blank_label() -> None:
    document = _document()
    document["ar"]["title"] = " "
    with pytest.raises(DataError, match=r"\[ar\] must map keys to non-blank strings"):
        parse_labels(document)
