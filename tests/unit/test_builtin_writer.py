"""The built-in writer's rules: the document's structure and roles decide the slides, counts are
exact without losing facts, slides read like slides, the closing states the call to action."""

from __future__ import annotations

import pytest

from chronicle.v1.presentation_pb2 import Section
from server.generation import archetypes, material
from server.generation.builtin import BuiltinWriter
from server.generation.labels import LANGUAGES, label
from server.generation.lexicon import PLACEHOLDER_NOTES
from server.generation.planning import BULLETS_PER_SLIDE
from server.generation.writer import Brief, PlannedSection

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

# The memo of issue 16, as a new user wrote it: lead-ins, no Markdown.
MEMO = """Acme Robotics — strategy memo

Summary. We build inventory robots for small warehouses. We are raising money to reach 300 sites.

Problem. Small warehouses lose 8 percent of their stock each year to miscounts. Manual counts take two people a full weekend every month.

Solution. Our robot scans every shelf overnight and flags gaps by morning. Setup takes under one hour.

Market. There are 40,000 small warehouses in the EU. They spend 2.1 billion euros a year on counting.

Competition. Large vendors sell fixed scanners that cost 200,000 euros per site.

Team. Ana ran operations at a logistics firm for nine years. Ben built warehouse drones at Kiva.

Ask. We are raising 1.5 million euros in a seed round. The money funds 18 months of sales.
"""  # noqa: E501
MEMO_TITLES = [
    "Acme Robotics — strategy memo",
    "Summary",
    "The problem",
    "The solution",
    "Market",
    "Competition",
    "The team",
    "The ask",
    "Let's build this together",
]


def write_all(brief: Brief) -> list[Section]:
    writer = BuiltinWriter()
    return [writer.write(brief, planned).section for planned in writer.plan(brief).sections]


def memo(count: int | None = None, style: str = "Subtle", text: str = MEMO) -> list[Section]:
    return write_all(Brief(text, text, "Pitch", style, count, "us"))


def bullets(section: Section) -> list[str]:
    return [item for block in section.blocks for item in block.bullet_list.items]


def shown(deck: list[Section]) -> str:
    """Everything the slides show (not the notes)."""
    return " ".join(
        " ".join([s.title, *(b.heading.text + " " + b.paragraph.text for b in s.blocks)])
        + " "
        + " ".join(bullets(s))
        for s in deck
    )


# The document's own structure wins


def test_the_issue_memo_gets_one_slide_per_lead_in_under_the_role_it_names() -> None:
    deck = memo()
    assert [s.title for s in deck] == MEMO_TITLES
    problem = deck[2]
    assert bullets(problem)[0].startswith("Small warehouses lose 8 percent")
    assert all("raising" not in b for b in bullets(problem))


@pytest.mark.parametrize(
    ("mark", "line"),
    [("## {}", "{}"), ("**{}**", "{}"), ("{}:", "{}"), ("{}", "{}\n" + "-" * 8)],
    ids=["markdown", "bold", "lead-line", "setext"],
)
def test_the_same_memo_written_with_headings_gets_the_same_slides(mark: str, line: str) -> None:
    text = MEMO
    for lead in ("Summary", "Problem", "Solution", "Market", "Competition", "Team", "Ask"):
        heading = line.format(mark.format(lead)) if line != "{}" else mark.format(lead)
        text = text.replace(f"{lead}. ", heading + "\n", 1)
    assert [s.title for s in memo(text=text)] == MEMO_TITLES


def test_a_recognised_heading_is_never_a_bullet_or_a_paragraph() -> None:
    leads = {"summary", "problem", "solution", "market", "competition", "team", "ask"}
    for deck in (memo(), memo(style="Preserve"), memo(count=5)):
        texts = [
            t.rstrip(".:").lower()
            for s in deck
            for t in [*bullets(s), *(b.paragraph.text for b in s.blocks)]
        ]
        assert not leads & set(texts)


def test_text_without_structure_is_cut_where_the_topic_changes() -> None:
    text = (
        "Our otters eat fish from clean rivers. Otters need rivers without pollution. "
        "Young otters learn to fish in their first summer. "
        "The budget for next year is 250,000 euros. Most of the budget pays for two new "
        "vets. The rest of the budget buys radio collars."
    )
    deck = write_all(Brief("Otter plan", text, "Auto", "Preserve", 4, "us"))
    first, second = deck[1], deck[2]
    assert "otter" in (first.title + " ".join(bullets(first))).lower()
    assert "budget" not in (first.title + " ".join(bullets(first))).lower()
    assert "budget" in (second.title + " ".join(bullets(second))).lower()


# Sections take roles by meaning, each role once


def test_a_second_section_naming_a_taken_role_keeps_its_own_heading() -> None:
    text = "# Memo\n\n## Problem\nStock goes missing.\n\n## The problem\nCounts take days.\n"
    titles = [s.title for s in memo(text=text)]
    assert titles[1:3] == ["The problem", "The problem (2)"]


def test_sections_that_name_no_role_keep_their_heading_as_title() -> None:
    text = (
        "# Memo\n\n## Go-to-market\nWe sell through three associations.\n\n"
        "## Why now\nFunds expire in 2026.\n\n## Market\nThere are 40,000 sites.\n"
    )
    titles = [s.title for s in memo(text=text)]
    assert titles[1:4] == ["Go-to-market", "Why now", "Market"]


def test_a_heading_that_says_more_than_a_role_keeps_its_own_words() -> None:
    text = "# Memo\n\n## Market size and growth\nThere are 40,000 sites.\n\n## Team\nAna.\n"
    assert [s.title for s in memo(text=text)][1:3] == ["Market size and growth", "The team"]


def test_the_narrative_type_decides_which_role_a_heading_takes() -> None:
    text = "# Offer\n\n## Our solution\nA robot that counts stock.\n\n## Pricing\n900 a month.\n"
    pitch = write_all(Brief(text, text, "Pitch", "Subtle", None, "us"))
    sales = write_all(Brief(text, text, "Sales", "Subtle", None, "us"))
    assert pitch[1].title == label("us", "solution")
    assert sales[1].title == label("us", "our_solution")
    assert pitch[-1].title == label("us", "closing_pitch")
    assert sales[-1].title == label("us", "closing_contact")


def test_auto_picks_the_type_whose_roles_the_headings_name() -> None:
    text = "# Study\n\n## Method\nWe asked 40 people.\n\n## Findings\nMost said yes.\n"
    deck = write_all(Brief(text, text, "Auto", "Subtle", None, "us"))
    assert deck[-1].title == label("us", archetypes.ARCHETYPES["Research"].closing)
    assert [s.title for s in deck[1:3]] == [label("us", "methodology"), label("us", "findings")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_product_labels_appear_in_the_requested_language(language: str) -> None:
    deck = write_all(Brief(MEMO, MEMO, "Pitch", "Subtle", None, language))
    assert [s.title for s in deck[2:8]] == [
        label(language, role)
        for role in ("problem", "solution", "market", "competition", "team", "ask")
    ]
    assert deck[-1].title == label(language, "closing_pitch")
    assert deck[0].title == "Acme Robotics — strategy memo"  # the user's words stay


# The count is exact, and no fact is dropped to make it


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 9, 12])
def test_section_count_gives_exactly_that_many_sections(count: int) -> None:
    deck = memo(count=count)
    assert len(deck) == count
    assert deck[0].layout == "title"
    if count >= 3:
        assert deck[-1].layout == "closing"


@pytest.mark.parametrize("count", [3, 4, 5, 6, 9, 12, 14])
def test_fitting_the_count_keeps_every_fact_on_a_slide(count: int) -> None:
    deck = memo(count=count, style="Preserve")
    text = shown(deck) + " ".join(s.speaker_notes for s in deck)
    for fact in ("8 percent", "40,000", "2.1 billion", "200,000 euros", "Kiva", "1.5 million"):
        assert fact in text


def test_merged_sections_share_a_slide_titled_with_both() -> None:
    deck = memo(count=6)
    assert any(" & " in s.title for s in deck[1:-1])
    assert "The ask" in " ".join(s.title for s in deck)


def test_a_split_section_continues_under_its_numbered_title() -> None:
    text = "# Notes\n\n## Market\n" + " ".join(f"Fact {n} is about the market." for n in range(6))
    text += "\n\n## Team\nAna and Ben.\n"
    deck = write_all(Brief(text, text, "Pitch", "Preserve", 5, "us"))
    assert [s.title for s in deck[1:4]] == ["Market (1/2)", "Market (2/2)", "The team"]
    assert sum(len(bullets(s)) for s in deck[1:3]) == 6


def test_a_count_larger_than_the_material_adds_empty_slides_that_say_so() -> None:
    deck = memo(count=20)
    assert len(deck) == 20
    placeholders = [s for s in deck if s.speaker_notes == PLACEHOLDER_NOTES["us"]]
    assert placeholders and all(not s.blocks for s in placeholders)
    assert len({s.title for s in deck}) == len(deck)


def test_auto_count_follows_the_material() -> None:
    short = write_all(Brief("Otters", "Otters are great. They swim.", section_count=None))
    long = write_all(Brief(NOTES, NOTES, section_count=None))
    assert 4 <= len(short) <= len(long) <= 12


# Slides read like slides


def test_no_heading_block_restates_its_slide_title() -> None:
    for deck in (memo(), write_all(Brief(NOTES, NOTES, "Pitch", "Subtle", None, "us"))):
        for section in deck:
            for block in section.blocks:
                heading = block.heading.text.lower()
                assert not heading or heading not in section.title.lower()


def test_no_bullet_appears_twice_even_when_the_source_repeats_itself() -> None:
    text = MEMO + "\nAsk. We are raising 1.5 million euros in a seed round.\n"
    items = [item for s in memo(text=text) for item in bullets(s)]
    assert len(items) == len(set(items))


def test_one_idea_per_bullet() -> None:
    text = "# Plan\n\n## Budget\nWe need 250,000 euros; each centre treats about 60 otters.\n"
    deck = write_all(Brief(text, text, "Proposal", "Subtle", None, "us"))
    assert bullets(deck[1]) == ["We need 250,000 euros", "Each centre treats about 60 otters."]


def test_strong_shortens_without_losing_numbers_and_notes_keep_the_original() -> None:
    sentence = (
        "However, we basically need about 250,000 euros in order to open a fourth centre, "
        "which the region has wanted for years."
    )
    text = f"# Plan\n\n## Budget\n{sentence}\n"
    section = write_all(Brief(text, text, "Proposal", "Strong", None, "us"))[1]
    assert bullets(section) == ["We need about 250,000 euros to open a fourth centre"]
    assert sentence in section.speaker_notes


def test_at_most_a_few_bullets_a_slide_and_the_notes_carry_the_rest() -> None:
    sentences = [f"Point {n} shows {n * 10} percent growth in region {n}." for n in range(8)]
    text = "# Report\n\n## Growth\n" + " ".join(sentences)
    section = write_all(Brief(text, text, "Showcase", "Preserve", 3, "us"))[1]
    assert len(bullets(section)) == BULLETS_PER_SLIDE
    left_out = [s for s in sentences if s not in bullets(section)]
    assert left_out and all(s in section.speaker_notes for s in left_out)


def test_the_closing_slide_states_the_ask() -> None:
    closing = memo()[-1]
    assert closing.layout == "closing"
    assert [b.paragraph.text for b in closing.blocks] == [
        "We are raising 1.5 million euros in a seed round."
    ]


def test_the_closing_slide_states_next_steps_written_as_a_list() -> None:
    text = (
        "# Sync\n\n## Updates\nThe migration finished.\n\n## Next steps\n"
        "- Ship the export by Friday\n- Book the design review\n- Publish the calendar\n"
    )
    closing = write_all(Brief(text, text, "Meeting", "Subtle", None, "us"))[-1]
    assert closing.blocks[0].paragraph.text == (
        "Ship the export by Friday; Book the design review; Publish the calendar."
    )


def test_without_a_call_to_action_the_closing_sums_the_deck_up() -> None:
    text = (
        "# Guide\n\n## Install\nRun pip install chronicle.\n\n## Sign in\nRun chronicle login."
        "\n\n## Generate\nRun chronicle generate.\n"
    )
    closing = write_all(Brief(text, text, "Guide", "Subtle", None, "us"))[-1]
    assert closing.blocks[0].paragraph.text == "Install · Sign in · Generate"
    summary = "# Memo\n\n## Summary\nWe count stock with robots.\n\n## Team\nAna and Ben.\n"
    closing = write_all(Brief(summary, summary, "Pitch", "Subtle", None, "us"))[-1]
    assert closing.blocks[0].paragraph.text == "We count stock with robots."


def test_the_title_slide_shows_a_short_introduction_without_restating_the_title() -> None:
    text = NOTES.replace("## Why", "Founded in 2019.\n\n## Why")
    title = write_all(Brief(text, text, "Pitch"))[0]
    assert title.title == "Otter Rescue Network"
    assert [b.paragraph.text for b in title.blocks] == ["Founded in 2019."]


def test_preserve_keeps_the_users_sentences_verbatim() -> None:
    deck = write_all(Brief(NOTES, NOTES, "Showcase", "Preserve", None, "us"))
    source = " ".join(NOTES.split())
    items = [item for s in deck for item in bullets(s)]
    assert len(items) >= 5 and all(item in source for item in items)
    assert "Release them into protected wetlands" in items


def test_a_short_instruction_before_a_document_is_not_part_of_the_deck() -> None:
    prompt = "Make a pitch deck from this memo for our investors"
    deck = write_all(Brief(prompt, f"{prompt}\n\n{MEMO}", "Pitch", "Subtle", None, "us"))
    assert [s.title for s in deck] == MEMO_TITLES
    assert "investors" not in shown(deck)


def test_a_one_word_prompt_still_makes_a_deck() -> None:
    for count in (None, 1, 3):
        deck = write_all(Brief("Otters", "Otters", "Auto", "Subtle", count, "us"))
        assert deck[0].title == "Otters" and len(deck) == (count or 2)
        assert all(b.WhichOneof("kind") for s in deck for b in s.blocks)


def test_every_slide_has_speaker_notes() -> None:
    assert all(s.speaker_notes for s in memo(count=12))


# The interface the worker and the model writer share


def test_template_flow_follows_the_template_sections_in_order() -> None:
    template = (
        Section(id="sec_a", title="Intro", layout="title"),
        Section(id="sec_b", title="Details", layout="two_column"),
        Section(id="sec_c", title="Wrap up", layout="closing"),
    )
    brief = Brief(NOTES, NOTES, template_sections=template)
    planned = BuiltinWriter().plan(brief).sections
    assert [(p.title, p.layout) for p in planned] == [
        ("Intro", "title"),
        ("Details", "two_column"),
        ("Wrap up", "closing"),
    ]
    deck = write_all(brief)
    assert "212 otters" in shown(deck) + " ".join(s.speaker_notes for s in deck)


def test_a_plan_made_elsewhere_is_written_from_its_sentences() -> None:
    planned = PlannedSection("Results", "title_and_body", "model", ("We released 212 otters.",))
    written = BuiltinWriter().write(Brief("x", "x"), planned)
    assert written.section.title == "Results"
    assert bullets(written.section) == ["We released 212 otters."]


def test_writing_is_deterministic_and_counts_tokens() -> None:
    brief = Brief(NOTES, NOTES, "Sales", "Strong", 6, "de")
    writer = BuiltinWriter()
    first = [writer.write(brief, p) for p in writer.plan(brief).sections]
    second = [writer.write(brief, p) for p in writer.plan(brief).sections]
    assert [w.section for w in first] == [w.section for w in second]
    assert all(w.tokens > 0 for w in first)
    assert writer.plan(brief).tokens == 0  # planning reads no model


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
