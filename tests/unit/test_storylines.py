"""Storylines and the stop-word list come from data files; their loaders refuse a file that does
not hold what the writers expect."""

from __future__ import annotations

from typing import Any

import pytest

from server import data
from server.data import DataError
from server.generation import archetypes, material
from server.generation.archetypes import ARCHETYPES, parse_storylines
from server.vocabulary import NarrativeType


def _document() -> dict[str, Any]:
    return data.load_toml("storylines.toml")  # a fresh copy to spoil


def test_every_narrative_type_but_auto_has_a_storyline_in_vocabulary_order() -> None:
    assert list(ARCHETYPES) == [t for t in NarrativeType if t is not NarrativeType.AUTO]
    assert all(name == archetype.name for name, archetype in ARCHETYPES.items())


def test_narrative_types_are_the_vocabulary() -> None:
    assert archetypes.NARRATIVE_TYPES == (
        "Pitch",
        "Showcase",
        "Sales",
        "Proposal",
        "Research",
        "Guide",
        "Meeting",
        "Portfolio",
        "Auto",
    )


def test_pitch_storyline_reads_from_the_file() -> None:
    pitch = ARCHETYPES[NarrativeType.PITCH]
    assert pitch.roles[:3] == ("problem", "solution", "market")
    assert pitch.closing == "closing_pitch"
    assert "investors" in pitch.signals


def test_loader_accepts_the_shipped_storylines() -> None:
    assert parse_storylines(_document()) == ARCHETYPES


def test_loader_rejects_a_missing_narrative_type() -> None:
    document = _document()
    del document["Guide"]
    with pytest.raises(DataError, match=r"storylines\.toml: expected the tables Pitch, "):
        parse_storylines(document)


def test_loader_rejects_an_unknown_field() -> None:
    document = _document()
    document["Sales"]["colour"] = "blue"
    with pytest.raises(DataError, match=r"\[Sales\] must have exactly closing, roles, signals"):
        parse_storylines(document)


def test_loader_rejects_an_empty_role_list() -> None:
    document = _document()
    document["Meeting"]["roles"] = []
    with pytest.raises(DataError, match=r"\[Meeting\] roles: expected a non-empty list"):
        parse_storylines(document)


def test_loader_rejects_a_closing_that_is_not_a_key() -> None:
    document = _document()
    document["Portfolio"]["closing"] = 3
    with pytest.raises(DataError, match=r"\[Portfolio\] closing must be a label key"):
        parse_storylines(document)


def test_stop_words_skip_the_comment_lines() -> None:
    words = data.load_words("stopwords.txt")
    assert {"the", "and", "should", "own"} <= words
    assert not any(word.startswith("#") for word in words)
    assert words == material._STOPWORDS
