"""Sections take storyline roles by what their heading (or, without one, their text) says, in
any supported language, each role once; the role lexicon is checked at load."""

from __future__ import annotations

from typing import Any

import pytest

from server import data
from server.data import DataError
from server.generation import roles
from server.generation.labels import LABELS, LANGUAGES
from server.generation.roles import Naming, assign, heading_namings, parse_roles


def best(heading: str, storyline: tuple[str, ...] = ()) -> Naming | None:
    found = heading_namings(heading, storyline)
    return found[0] if found else None


def test_every_languages_label_of_every_role_names_that_role() -> None:
    missed = []
    for language in LANGUAGES:
        for role in roles.storyline_roles():
            found = {n.role for n in heading_namings(LABELS[language][role]) if n.whole}
            if role not in found:
                missed.append((language, role))
    assert missed == []


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        ("Problem", "problem"),
        ("The Problem", "problem"),
        ("What we need", "ask"),
        ("Results so far", "traction"),
        ("Próximos pasos", "next_steps"),
        ("Nächste Schritte", "next_steps"),
        ("Unser Team", "team"),
        ("課題", "problem"),
        ("次のステップ", "next_steps"),
        ("Méthodologie", "methodology"),
        ("Metodologia", "methodology"),
        ("Step 3", None),
        ("Why otters need help", None),
    ],
)
def test_headings_name_roles_by_meaning(heading: str, role: str | None) -> None:
    whole = [n.role for n in heading_namings(heading) if n.whole]
    assert (whole[0] if whole else None) == role


def test_go_to_market_is_not_the_market() -> None:
    assert all(n.role != "market" for n in heading_namings("Go-to-market"))
    assert best("Market")


def test_a_heading_with_more_words_names_its_role_only_in_part() -> None:
    naming = best("Market size and growth", ("market",))
    assert naming is not None and naming.role == "market" and not naming.whole


def test_the_storyline_decides_between_roles_a_heading_names_equally() -> None:
    assert best("Our solution", ("solution",)) == Naming("solution", 20.0, True)
    pitch, sales = best("Our solution", ("solution",)), best("Our solution", ("our_solution",))
    assert pitch is not None and sales is not None
    assert (pitch.role, sales.role) == ("solution", "our_solution")


def test_each_role_goes_to_one_section_the_strongest_first() -> None:
    namings = [heading_namings(h) for h in ("Problem", "The problem", "Market trends", "Market")]
    chosen = assign(namings)
    assert [n.role if n else None for n in chosen] == ["problem", None, None, "market"]


def test_text_without_a_heading_needs_two_phrases_to_name_a_role() -> None:
    assert roles.content_namings(["Team leads chose who got a buddy."]) == []
    found = roles.content_namings(["Our team has two founders.", "Both ran warehouses."])
    assert [n.role for n in found][:1] == ["team"]


def test_names_role_is_whole_names_only() -> None:
    assert roles.names_role("Findings")
    assert not roles.names_role("Findings from the pilot")


def test_auto_follows_the_headings_then_the_words() -> None:
    assert roles.archetype_for("Auto", ["Method", "Findings"], "").name == "Research"
    assert roles.archetype_for("Auto", ["Updates", "Action items"], "").name == "Meeting"
    assert (
        roles.archetype_for("Auto", ["Intro"], "our investors and the seed round").name == "Pitch"
    )
    assert roles.archetype_for("Guide", ["Problem", "Solution"], "").name == "Guide"


def _document() -> dict[str, Any]:
    return data.load_toml("roles.toml")  # a fresh copy to spoil


def test_loader_accepts_the_shipped_lexicon() -> None:
    lexicon = parse_roles(_document(), LABELS)
    assert lexicon.call_to_action[0] == "ask"
    assert "problema" in lexicon.phrases["problem"]


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: d["phrases"].update(colour={"us": ["blue"]}), r"phrases for unknown roles"),
        (lambda d: d["phrases"]["team"].update(xx=["equipe"]), r"\[phrases.team\] unknown lang"),
        (lambda d: d["phrases"]["team"].update(us=[]), r"us must be a non-empty list"),
        (lambda d: d.update(call_to_action=["lunch"]), r"call_to_action names unknown roles"),
        (lambda d: d.pop("articles"), r"articles must be a non-empty list"),
    ],
)
def test_loader_rejects_what_does_not_fit(spoil: Any, message: str) -> None:
    document = _document()
    spoil(document)
    with pytest.raises(DataError, match=message):
        parse_roles(document, LABELS)
