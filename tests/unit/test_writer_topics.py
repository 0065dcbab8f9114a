"""Topic segmentation (TF-IDF similarity between neighbouring sentences) for text without
headings: boundaries fall where the subject changes, not at equal lengths."""

from __future__ import annotations

from server.generation import topics

OTTERS = [
    "Otters eat fish from clean rivers.",
    "Young otters learn to fish in their first summer.",
    "Otters need rivers without pollution to find fish.",
]
BUDGET = [
    "The budget for next year is 250,000 euros.",
    "Most of the budget pays for two new vets.",
]
SCHOOLS = [
    "Schools visit the centre every spring.",
    "Each school class adopts one otter enclosure.",
    "Teachers get a school pack with worksheets.",
    "Schools pay nothing for a visit.",
]


def test_boundaries_fall_where_the_topic_changes() -> None:
    units = OTTERS + BUDGET + SCHOOLS
    assert topics.boundaries(units, set(), 3) == [3, 5]


def test_a_paragraph_break_wins_over_a_weaker_change() -> None:
    units = OTTERS + OTTERS[:1]
    assert topics.boundaries(units, {0, 2}, 2) == [2]


def test_segments_are_never_empty_and_there_are_no_more_than_sentences() -> None:
    assert topics.boundaries(OTTERS, set(), 10) == [1, 2]
    assert topics.boundaries(OTTERS, set(), 1) == []


def test_auto_counts_paragraphs_else_about_four_sentences_a_topic() -> None:
    units = OTTERS + BUDGET + SCHOOLS
    assert topics.auto_segments(units, {0, 3, 5}) == 3
    assert topics.auto_segments(units * 2, set()) == 4


def test_a_long_section_splits_at_its_clearest_change() -> None:
    assert topics.best_split(OTTERS + SCHOOLS, set()) == 3


def test_japanese_is_compared_by_character_pairs() -> None:
    units = ["売上は増えた。", "売上の伸びは続く。", "採用は遅れた。", "採用の計画を見直す。"]
    assert topics.boundaries(units, set(), 2) == [2]
