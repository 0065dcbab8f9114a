"""The built-in writer: storylines, exact counts, rewrite styles, languages, sources."""

from __future__ import annotations

import pytest

from chronicle.v1.presentation_pb2 import Section
from server.generation import archetypes, material
from server.generation.builtin import BuiltinWriter, rewrite
from server.generation.labels import LANGUAGES, label
from server.generation.writer import Brief

NOTES = """# Otter Rescue Network

## Why otters need help
River otters lost most of their habitat to drainage in the last century. Pollution in
estuaries keeps pups from surviving their first winter. Volunteers report injured otters
every week across the region.

## What we do
- Rescue injured otters within 24 hours of a report
- Rehabilitate them in three licensed centres
- Release them into protected wetlands

## Results so far
We released 212 otters since 2019. Survival after release is 87 percent, measured by
radio collars. Local schools joined 40 field days last year.

## What we need
We need 250,000 euros to open a fourth centre. Each centre treats about 60 otters a year.
"""


def write_all(brief: Brief) -> list[Section]:
    writer = BuiltinWriter()
    return [writer.write(brief, planned).section for planned in writer.plan(brief).sections]


def test_outline_finds_headings_lists_and_paragraphs() -> None:
    chunks = material.outline(NOTES)
    assert [c.heading for c in chunks] == [
        "Otter Rescue Network",
        "Why otters need help",
        "What we do",
        "Results so far",
        "What we need",
    ]
    assert chunks[2].items[0] == "Rescue injured otters within 24 hours of a report"
    assert chunks[1].paragraphs and not chunks[1].items


def test_ranking_keeps_original_order_and_prefers_central_sentences() -> None:
    text = (
        "Otters eat fish. The weather was fine. Otters need clean rivers to catch fish. "
        "Clean rivers help otters and fish alike. Lunch was late."
    )
    chosen = material.rank(material.sentences(text), 2)
    assert len(chosen) == 2
    assert "Lunch was late." not in chosen and "The weather was fine." not in chosen
    positions = [text.index(s) for s in chosen]
    assert positions == sorted(positions)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 9, 14])
def test_section_count_gives_exactly_that_many_sections(count: int) -> None:
    sections = write_all(Brief(NOTES, NOTES, "Pitch", "Subtle", count, "us"))
    assert len(sections) == count
    assert sections[0].layout == "title"
    if count > 1:
        assert sections[-1].layout == "closing"


def test_auto_count_follows_the_material() -> None:
    short = write_all(Brief("Otters", "Otters are great. They swim.", section_count=None))
    long = write_all(Brief(NOTES, NOTES, section_count=None))
    assert 4 <= len(short) <= len(long) <= 12


def test_each_narrative_type_gives_its_own_storyline() -> None:
    storylines = {}
    for name in archetypes.ARCHETYPES:
        planned = BuiltinWriter().plan(Brief(NOTES, NOTES, name, "Subtle", 7, "us")).sections
        storylines[name] = tuple(p.title for p in planned[1:])
    assert len(set(storylines.values())) == len(archetypes.ARCHETYPES)
    assert storylines["Pitch"][0] == label("us", "problem")
    assert storylines["Research"][0] == label("us", "research_question")


def test_slides_take_the_role_their_own_heading_names() -> None:
    planned = BuiltinWriter().plan(Brief(NOTES, NOTES, "Pitch", "Subtle", 6, "us")).sections
    assert [(p.heading, p.title) for p in planned[1:-1]] == [
        ("Why otters need help", "The problem"),
        ("What we do", "The solution"),
        ("Results so far", "Traction"),
        ("What we need", "The ask"),
    ]


def test_auto_picks_a_type_from_the_material() -> None:
    assert (
        archetypes.choose("Auto", "Our startup is raising a seed round from investors").name
        == "Pitch"
    )
    assert archetypes.choose("Auto", "Step by step guide: how to install and setup").name == "Guide"
    assert archetypes.choose("Auto", "").name == "Showcase"


def test_preserve_keeps_the_users_sentences_verbatim() -> None:
    sections = write_all(Brief(NOTES, NOTES, "Showcase", "Preserve", 6, "us"))
    source_sentences = {s for c in material.outline(NOTES) for s in c.sentences}
    bullets = [i for s in sections for b in s.blocks for i in b.bullet_list.items]
    assert len(bullets) >= 5 and set(bullets) <= source_sentences
    assert "Release them into protected wetlands" in bullets


def test_strong_condenses_and_subtle_only_trims() -> None:
    sentence = "We basically need about 250,000 euros; each centre treats about 60 otters a year."
    assert rewrite(sentence, "Preserve") == sentence
    assert rewrite(sentence, "Subtle") == (
        "We need about 250,000 euros; each centre treats about 60 otters a year."
    )
    strong = rewrite(sentence, "Strong")
    assert strong == "We need about 250,000 euros"
    long = (
        "Volunteers from twelve villages along the river report injured otters to our "
        "hotline every single week of the year"
    )
    assert rewrite(long, "Strong").endswith("…") and len(rewrite(long, "Strong").split()) == 12


@pytest.mark.parametrize("language", LANGUAGES)
def test_product_labels_appear_in_the_requested_language(language: str) -> None:
    sections = write_all(Brief(NOTES, NOTES, "Pitch", "Subtle", 5, language))
    pitch = {label(language, role) for role in archetypes.ARCHETYPES["Pitch"].roles}
    assert len(sections) == 5 and {s.title for s in sections[1:-1]} <= pitch
    assert sections[-1].title == label(language, "closing_pitch")
    # The user's own words stay as written.
    assert sections[0].title == "Otter Rescue Network"
    assert any(b.heading.text == "Why otters need help" for s in sections for b in s.blocks)


def test_the_deck_comes_visibly_from_the_material() -> None:
    sections = write_all(Brief(NOTES, NOTES, "Pitch", "Preserve", 6, "us"))
    text = " ".join(str(s) for s in sections)
    for phrase in ("212 otters", "250,000 euros", "three licensed centres"):
        assert phrase in text
    assert all(s.speaker_notes for s in sections)


def test_template_flow_follows_the_template_sections_in_order() -> None:
    template = (
        Section(id="sec_a", title="Intro", layout="title"),
        Section(id="sec_b", title="Details", layout="two_column"),
        Section(id="sec_c", title="Wrap up", layout="closing"),
    )
    planned = BuiltinWriter().plan(Brief(NOTES, NOTES, template_sections=template)).sections
    assert [(p.title, p.layout) for p in planned] == [
        ("Intro", "title"),
        ("Details", "two_column"),
        ("Wrap up", "closing"),
    ]


def test_writing_is_deterministic_and_counts_tokens() -> None:
    brief = Brief(NOTES, NOTES, "Sales", "Strong", 6, "de")
    writer = BuiltinWriter()
    first = [writer.write(brief, p) for p in writer.plan(brief).sections]
    second = [writer.write(brief, p) for p in writer.plan(brief).sections]
    assert [w.section for w in first] == [w.section for w in second]
    assert all(w.tokens > 0 for w in first)
    assert writer.plan(brief).tokens == 0  # planning reads no model
