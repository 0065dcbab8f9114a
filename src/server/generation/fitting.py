"""Fitting the document's sections to the number of body slides asked for: the smallest
neighbouring pair merges while there are too many; the largest section splits (at a
sub-heading, else at the clearest change of topic between sentences) while there are too
few. Every sentence lands on exactly one slide: nothing is dropped to make the count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.generation import topics
from server.generation.structure import Group, Part


@dataclass(frozen=True)
class Share:
    """The part of one section a slide holds: all of it, or a run of its sentences."""

    part: int  # index of the section
    groups: tuple[Group, ...]

    @property
    def units(self) -> list[str]:
        return [u for g in self.groups for u in g.units]


Slide = tuple[Share, ...]


def _size(slide: Sequence[Share]) -> int:
    return sum(len(share.units) for share in slide)


def paragraph_starts(groups: Sequence[Group]) -> set[int]:
    """Unit indices that open a paragraph or a sub-heading's group."""
    found: set[int] = set()
    offset = 0
    for group in groups:
        found |= {offset + s for s in group.starts}
        if group.heading and group.units:
            found.add(offset)
        offset += len(group.units)
    return found


def _slice(groups: Sequence[Group], start: int, end: int) -> tuple[Group, ...]:
    """The groups' units from `start` to `end`, each keeping its sub-heading."""
    kept = []
    offset = 0
    for group in groups:
        low, high = max(start, offset), min(end, offset + len(group.units))
        if low < high:
            first = low - offset
            units = group.units[first : high - offset]
            starts = {s - first for s in group.starts if first <= s < high - offset}
            kept.append(Group(group.heading, group.style, units, starts))
        offset += len(group.units)
    return tuple(kept)


def split_point(share: Share) -> int:
    """Where to split a share of two or more units: at the sub-heading nearest the middle,
    else where the topic changes most."""
    units = share.units
    middle = len(units) / 2
    offsets, offset = [], 0
    for group in share.groups:
        if offset and group.units:
            offsets.append(offset)
        offset += len(group.units)
    if offsets:
        return min(offsets, key=lambda o: (abs(o - middle), o))
    return topics.best_split(units, paragraph_starts(share.groups))


def fit(parts: Sequence[Part], slots: int) -> list[Slide]:
    """`parts` as `slots` slides where the material allows; fewer when even one sentence a
    slide is not enough."""
    slides: list[list[Share]] = [[Share(i, tuple(p.groups))] for i, p in enumerate(parts)]
    while len(slides) > max(slots, 1):
        i = min(range(len(slides) - 1), key=lambda i: (_size(slides[i]) + _size(slides[i + 1]), i))
        slides[i : i + 2] = [slides[i] + slides[i + 1]]
    while len(slides) < slots:
        splittable = [i for i, s in enumerate(slides) if len(s) == 1 and _size(s) >= 2]
        if not splittable:
            break
        i = max(splittable, key=lambda i: (_size(slides[i]), -i))
        share = slides[i][0]
        cut = split_point(share)
        end = len(share.units)
        halves = [Share(share.part, _slice(share.groups, a, b)) for a, b in ((0, cut), (cut, end))]
        slides[i : i + 1] = [[halves[0]], [halves[1]]]
    return [tuple(s) for s in slides]
