"""Fitting sections to a slide count: merge the smallest neighbours, split the largest at a
sentence boundary (a sub-heading first), never lose a sentence."""

from __future__ import annotations

import pytest

from server.generation import fitting
from server.generation.structure import Group, Part


def part(name: str, size: int, groups: int = 1) -> Part:
    units = [f"{name} point {n}." for n in range(size)]
    step = max(1, size // groups)
    split = [units[i : i + step] for i in range(0, size, step)] if groups > 1 else [units]
    return Part(
        name,
        None,
        name,
        [Group(f"{name} {i}" if groups > 1 else "", units=u) for i, u in enumerate(split)],
    )


def contents(slides: list[fitting.Slide]) -> list[list[str]]:
    return [[u for share in slide for u in share.units] for slide in slides]


def test_too_many_sections_merge_the_smallest_neighbours() -> None:
    parts = [part("a", 4), part("b", 1), part("c", 1), part("d", 3)]
    slides = fitting.fit(parts, 3)
    assert [[share.part for share in slide] for slide in slides] == [[0], [1, 2], [3]]


def test_too_few_sections_split_the_largest() -> None:
    parts = [part("a", 2), part("b", 6)]
    slides = fitting.fit(parts, 3)
    assert [[share.part for share in slide] for slide in slides] == [[0], [1], [1]]
    assert [len(u) for u in contents(slides)] == [2, 3, 3]


def test_a_split_prefers_a_sub_heading() -> None:
    parts = [part("a", 6, groups=2)]
    first, second = fitting.fit(parts, 2)
    assert [g.heading for g in first[0].groups] == ["a 0"]
    assert [g.heading for g in second[0].groups] == ["a 1"]


@pytest.mark.parametrize("slots", range(1, 16))
def test_no_sentence_is_lost_or_repeated(slots: int) -> None:
    parts = [part("a", 3), part("b", 1), part("c", 5, groups=2), part("d", 2)]
    every = [u for p in parts for u in p.units]
    slides = fitting.fit(parts, slots)
    assert [u for slide in contents(slides) for u in slide] == every
    assert len(slides) == min(slots, len(every))


def test_a_sentence_is_never_cut_in_two() -> None:
    slides = fitting.fit([part("a", 1)], 3)
    assert contents(slides) == [["a point 0."]]
