"""Finding a document's sections in every way people write them, and its sentences."""

from __future__ import annotations

import pytest

from server.generation import material, roles, structure
from server.generation.structure import Style

SECTIONS = [
    ("Problem", "Small shops lose 8 percent of their stock. Counting takes a weekend."),
    ("Solution", "A robot scans every shelf overnight. Setup takes one hour."),
    ("Team", "Ana ran a warehouse for nine years. Ben built drones."),
]


def render(style: str) -> str:
    """The same document, its headings written in `style`."""
    lines = ["Acme memo", ""]
    for number, (heading, body) in enumerate(SECTIONS, 1):
        head = {
            "atx": f"## {heading}\n",
            "setext": f"{heading}\n{'-' * len(heading)}",
            "numbered": f"{number}. {heading}",
            "numbered_paren": f"{number}) {heading}",
            "step": f"Step {number}: {heading}",
            "caps": heading.upper(),
            "bold": f"**{heading}**",
            "bold_lead": f"**{heading}.** ",
            "lead_line_colon": f"{heading}:",
            "lead_line_period": f"{heading}.",
            "lead_in_period": f"{heading}. ",
            "lead_in_colon": f"{heading}: ",
        }[style]
        inline = style in {"bold_lead", "lead_in_period", "lead_in_colon"}
        lines += [head + body if inline else f"{head}\n{body}", ""]
    return "\n".join(lines)


STYLES = [
    ("atx", Style.ATX),
    ("setext", Style.SETEXT),
    ("numbered", Style.NUMBERED),
    ("numbered_paren", Style.NUMBERED),
    ("step", Style.STEP),
    ("caps", Style.CAPS),
    ("bold", Style.BOLD),
    ("bold_lead", Style.BOLD),
    ("lead_line_colon", Style.LEAD_LINE),
    ("lead_line_period", Style.LEAD_LINE),
    ("lead_in_period", Style.LEAD_IN),
    ("lead_in_colon", Style.LEAD_IN),
]


def read(text: str) -> structure.Outline:
    return structure.read(text, roles.names_role)


@pytest.mark.parametrize(("style", "kind"), STYLES, ids=[s for s, _ in STYLES])
def test_every_structure_style_gives_the_same_sections(style: str, kind: Style) -> None:
    outline = read(render(style))
    assert outline.title == "Acme memo"
    subjects = [p.subject for p in outline.parts]
    assert subjects == [h for h, _ in SECTIONS]
    assert {p.style for p in outline.parts} == {kind}
    for part, (_, body) in zip(outline.parts, SECTIONS, strict=True):
        assert part.units == material.sentences(body)  # the heading is in none of them
    assert not outline.lead.units


def test_step_headings_keep_their_number_in_the_title() -> None:
    outline = read(render("step"))
    assert [p.heading for p in outline.parts] == [
        "Step 1: Problem",
        "Step 2: Solution",
        "Step 3: Team",
    ]


def test_a_numbered_list_stays_a_list() -> None:
    outline = read("Setup\n\nDo this:\n1. Open the app\n2. Click settings\n3. Save\n")
    assert outline.parts == []
    assert outline.lead.units == ["Do this:", "Open the app", "Click settings", "Save"]


def test_a_single_numbered_line_before_prose_is_not_a_heading() -> None:
    outline = read("Notes\n\n1. Before you start\nInstall Python first.\n\nThat is all.\n")
    assert not outline.parts
    assert "Before you start" in outline.lead.units


def test_short_sentences_opening_paragraphs_are_not_taken_for_lead_ins() -> None:
    text = (
        "Review\n\nRevenue grew. Costs fell by 4 percent in March.\n\n"
        "The team shipped the export feature in April and the import in May.\n\n"
        "Customers asked for a German version of the app before the summer.\n"
    )
    outline = read(text)
    assert not outline.parts
    assert outline.lead.units[0] == "Revenue grew."


def test_a_lead_in_that_names_a_role_is_a_heading_even_alone() -> None:
    outline = read("Memo\n\nSome context first, written as prose.\n\nNext steps: ship on Friday.\n")
    assert [p.subject for p in outline.parts] == ["Next steps"]
    assert outline.parts[0].units == ["ship on Friday."]


def test_label_paragraphs_are_sections_when_the_document_uses_them() -> None:
    text = "Study\n\nMethod: we asked 40 people.\n\nFindings: most said yes.\n\nOwner: Dana.\n"
    assert [p.subject for p in read(text).parts] == ["Method", "Findings", "Owner"]


def test_an_abbreviation_is_not_a_lead_in() -> None:
    outline = read("Team\n\nDr. Smith joined in May. She runs the lab.\n")
    assert not outline.parts
    assert outline.lead.units == ["Dr. Smith joined in May.", "She runs the lab."]


def test_all_caps_headings_read_in_sentence_case_with_acronyms_and_names_kept() -> None:
    text = (
        "Report\n\nKEY RISKS\nThe EU rules change.\n\nARR GROWTH AT TUTORLY\n"
        "Tutorly grew ARR by 40 percent; the Tutorly team hired 3 people.\n"
    )
    assert [p.heading for p in read(text).parts] == ["Key risks", "ARR growth at Tutorly"]


def test_setext_needs_a_heading_line_and_a_rule_alone_is_a_break() -> None:
    text = "Title\n=====\n\nIntro text here.\n\n---\n\nMore text.\n\nPart two\n--------\nBody.\n"
    outline = read(text)
    assert outline.title == "Title"
    assert [p.heading for p in outline.parts] == ["Part two"]
    assert outline.lead.units == ["Intro text here.", "More text."]


def test_a_first_heading_above_all_others_is_the_title() -> None:
    assert read("# Deck\n\n## A\nOne.\n\n## B\nTwo.\n").title == "Deck"
    same = read("# A\nOne.\n\n# B\nTwo.\n")
    assert same.title == "" and [p.heading for p in same.parts] == ["A", "B"]


def test_a_first_line_reading_label_then_text_is_the_title() -> None:
    text = "Proposal: one wiki\n\nBackground. Four wikis.\n\nBudget. 18,000 dollars.\n"
    outline = read(text)
    assert outline.title == "Proposal: one wiki"
    assert [p.subject for p in outline.parts] == ["Background", "Budget"]


def test_deeper_headings_group_the_text_of_a_section() -> None:
    text = (
        "# Review\n\n## Results\n### Revenue\nUp 18 percent.\n### Churn\nDown to 2 percent."
        "\n\n## Team\nRevenue: 6 hires.\n"
    )
    outline = read(text)
    assert [p.heading for p in outline.parts] == ["Results", "Team"]
    assert [(g.heading, g.units) for g in outline.parts[0].groups] == [
        ("Revenue", ["Up 18 percent."]),
        ("Churn", ["Down to 2 percent."]),
    ]


def test_lists_code_and_tables_become_one_unit_a_line() -> None:
    text = (
        "# Guide\n\n## Install\n- Get **Python 3.11**\n- Read [the docs](https://x.y)\n\n"
        "```\npip install chronicle\n```\n\n| Plan | Price |\n|---|---|\n| Pro | 9 |\n"
    )
    assert read(text).parts[0].units == [
        "Get Python 3.11",
        "Read the docs",
        "pip install chronicle",
        "Plan · Price",
        "Pro · 9",
    ]


def test_a_sentence_said_twice_is_kept_once() -> None:
    outline = read("# A\n\n## B\nSame point. Other point.\n\n## C\nSame point. Third.\n")
    assert [p.units for p in outline.parts] == [["Same point.", "Other point."], ["Third."]]


def test_japanese_sections_and_sentences() -> None:
    text = (
        "調査報告\n\n課題\uff1a解約率が4%と高い。中小企業に多い。\n\n"
        "結果\uff1a解約は半分になった。\n"
    )
    outline = read(text)
    assert outline.title == "調査報告"
    assert [p.subject for p in outline.parts] == ["課題", "結果"]
    assert outline.parts[0].units == ["解約率が4%と高い。", "中小企業に多い。"]


def test_sentences_end_where_they_end() -> None:
    assert material.sentences(
        "We met Dr. Lee, e.g. on Monday. J. Smith left. Frist ist der 1. März. Gut!"
    ) == ["We met Dr. Lee, e.g. on Monday.", "J. Smith left.", "Frist ist der 1. März.", "Gut!"]
    assert material.sentences("売上は増えた。利益も増えた\uff01") == [
        "売上は増えた。",
        "利益も増えた\uff01",
    ]
