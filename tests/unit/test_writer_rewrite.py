"""The rewrite styles: Preserve verbatim, Subtle trims filler and gives each idea its own
bullet, Strong condenses but never loses a number; the word lists are checked at load."""

from __future__ import annotations

from typing import Any

import pytest

from server import data
from server.data import DataError
from server.generation import lexicon
from server.generation.rewrite import Bullet, bullets, rewrite

SENTENCE = "We basically need about 250,000 euros; each centre treats about 60 otters a year."


def test_preserve_keeps_the_sentence_verbatim() -> None:
    assert bullets(SENTENCE, "Preserve") == [Bullet(SENTENCE, False)]
    assert rewrite(SENTENCE, "Preserve") == SENTENCE


def test_subtle_trims_filler_and_puts_each_idea_on_its_own_bullet() -> None:
    assert [b.text for b in bullets(SENTENCE, "Subtle")] == [
        "We need about 250,000 euros",
        "Each centre treats about 60 otters a year.",
    ]
    assert not any(b.shortened for b in bullets(SENTENCE, "Subtle"))


def test_fragments_between_semicolons_stay_one_bullet() -> None:
    assert [b.text for b in bullets("Red; blue; green.", "Subtle")] == ["Red; blue; green."]


def test_strong_keeps_every_number() -> None:
    assert [b.text for b in bullets(SENTENCE, "Strong")] == [
        "We need about 250,000 euros",
        "Each centre treats about 60 otters a year",
    ]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("However, churn fell after the redesign.", "Churn fell after the redesign"),
        ("We believe that churn will fall next year.", "Churn will fall next year"),
        ("We hired two people in order to cover nights.", "We hired two people to cover nights"),
        ("The pilot (run by Ana) ended in May.", "The pilot ended in May"),
        ("The pilot (12 schools) ended in May.", "The pilot (12 schools) ended in May"),
        (
            "Setup takes under an hour, which customers love.",
            "Setup takes under an hour",
        ),
        (
            "Setup takes under an hour, which saves 3 days a month.",
            "Setup takes under an hour, which saves 3 days a month",
        ),
        (
            "Private tutoring is expensive, which only twelve families can afford.",
            "Private tutoring is expensive, which only twelve families can afford",
        ),
    ],
)
def test_strong_condenses(sentence: str, expected: str) -> None:
    (bullet,) = bullets(sentence, "Strong")
    assert bullet.text == expected
    assert bullet.shortened == (expected.split() != sentence.rstrip(".").split())


def test_prose_keeps_its_full_stop() -> None:
    assert rewrite("However, we are raising 3 million dollars.", "Strong") == (
        "We are raising 3 million dollars."
    )


def _rewrite_words() -> dict[str, Any]:
    return data.load_toml("rewrite.toml")


def test_the_shipped_word_lists_load() -> None:
    assert lexicon.parse_rewrite(_rewrite_words(), "rewrite.toml") == lexicon.REWRITE
    assert lexicon.parse_structure(data.load_toml("structure.toml"), "s") == lexicon.STRUCTURE
    assert set(lexicon.PLACEHOLDER_NOTES) == set(lexicon.Language)


def test_a_word_list_that_is_not_a_list_of_words_is_refused() -> None:
    document = _rewrite_words()
    document["filler"] = ["ok", 3]
    with pytest.raises(DataError, match=r"rewrite.toml: filler must hold only non-blank"):
        lexicon.parse_rewrite(document, "rewrite.toml")
    document = _rewrite_words()
    document["replacements"] = [["in order to"]]
    with pytest.raises(DataError, match=r"replacements must be a list of \[long, short\]"):
        lexicon.parse_rewrite(document, "rewrite.toml")


def test_a_language_without_its_placeholder_note_is_refused() -> None:
    document = data.load_toml("placeholders.toml")
    del document["ja"]
    with pytest.raises(DataError, match=r"\[ja\] needs a non-blank note"):
        lexicon.parse_placeholders(document, "placeholders.toml")
