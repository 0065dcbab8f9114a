"""The sections of the user's material, however a person wrote them: Markdown headings (ATX and
setext), numbered headings (`1.`, `1)`, `1.2`, `Step 1:`), ALL-CAPS and bold lines, and
short lead-ins before a paragraph ("Problem." / "Findings:"), on their own line or inline.

Strong marks (Markdown, caps, bold, steps) always make a heading. Numbered lines and
lead-ins are only headings when the document uses them as such: numbered lines when there
are at least two followed by prose, lead-ins when they name a storyline role, are a single
word, or recur. The shallowest kind of heading present cuts the sections; deeper ones
group the text within a section. A recognised heading is never left in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from server.generation import material
from server.generation.lines import (
    LEAD_STYLES,
    MAX_HEADING_WORDS,
    RANK,
    TERMINAL,
    Event,
    HeadingLine,
    Style,
    TextBlock,
    heading_text,
    read_lines,
    short,
    words_in,
)

__all__ = ["LEAD_STYLES", "Group", "Outline", "Part", "Style", "read"]


@dataclass
class Group:
    """Units (sentences and list items, cleaned) under one sub-heading, or none."""

    heading: str = ""
    style: Style | None = None
    units: list[str] = field(default_factory=list)
    starts: set[int] = field(default_factory=set)  # units that open a paragraph


@dataclass
class Part:
    """One section of the document: its heading (maybe none) and its text in groups."""

    heading: str = ""
    style: Style | None = None
    subject: str = ""  # what the heading is about, without a "Step 2:" prefix
    groups: list[Group] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        return [u for g in self.groups for u in g.units]

    @property
    def size(self) -> int:
        return sum(len(g.units) for g in self.groups)


@dataclass
class Outline:
    title: str  # the document's own title, "" when it has none
    lead: Part  # the text before the first section, without a heading
    parts: list[Part]  # the sections, in order


def _accept(events: list[Event], names_role: Callable[[str], bool]) -> list[Event]:
    """Settles the headings that depend on the whole document, and turns what is not a
    heading back into text."""
    numbered = sum(1 for e in events if isinstance(e, HeadingLine) and e.style is Style.NUMBERED)
    leads = [e for e in events if isinstance(e, TextBlock) and e.lead]
    paragraphs = sum(1 for e in events if isinstance(e, TextBlock) and not e.item)
    by_mark = {m: sum(1 for e in leads if e.mark == m) for m in ".:"}
    lead_lines = sum(1 for e in events if isinstance(e, HeadingLine) and e.style is Style.LEAD_LINE)

    def lead_ok(lead: str, mark: str) -> bool:
        if names_role(lead) or (words_in(lead) == 1 and not material.has_number(lead)):
            return True
        if mark == ":":
            return by_mark[":"] + lead_lines >= 2
        # A short first sentence is common in prose: only a habit of the document counts.
        return by_mark["."] >= 3 and by_mark["."] * 2 >= paragraphs

    settled: list[Event] = []
    for event in events:
        if isinstance(event, HeadingLine) and not event.accepted:
            if event.style is Style.NUMBERED:
                ok = numbered >= 2
            else:
                ok = lead_ok(event.text, ":" if event.original.endswith((":", "\uff1a")) else ".")
            if ok:
                event.accepted = True
                settled.append(event)
            else:
                settled.append(TextBlock(material.clean(event.original), item=event.item))
        elif isinstance(event, TextBlock) and event.lead:
            if lead_ok(event.lead, event.mark):
                text = heading_text(event.lead)
                rank = RANK[Style.LEAD_IN]
                # The whole line stays at hand: a first line "Proposal: new wiki" is a title.
                original = event.text if event.lines == 1 else ""
                settled.append(HeadingLine(text, Style.LEAD_IN, rank, original=original))
                settled.append(TextBlock(event.rest, lines=event.lines))
            else:
                settled.append(TextBlock(event.text, lines=event.lines))
        else:
            settled.append(event)
    return settled


def _title(events: list[Event]) -> str:
    """The document's own title, taken off `events`: a first heading shallower than every
    other, or a short first line without end punctuation (even one that reads "Label: …")."""
    if len(events) < 2:
        return ""
    first = events[0]
    if (
        isinstance(first, HeadingLine)
        and first.style is Style.LEAD_IN
        and _title_line(first.original)
    ):
        del events[:2]  # the lead-in and the rest of its line
        return first.original
    if isinstance(first, HeadingLine):
        deeper = [e.rank for e in events[1:] if isinstance(e, HeadingLine)]
        if not deeper or min(deeper) > first.rank:
            events.pop(0)
            return first.text
        return ""
    if not first.item and first.lines == 1 and not first.lead and _title_line(first.text):
        events.pop(0)
        return first.text
    return ""


def _title_line(text: str) -> bool:
    fits = short(text, MAX_HEADING_WORDS) and not TERMINAL.search(text)
    return fits and not text.endswith((":", "\uff1a"))


def _key(unit: str) -> str:
    return re.sub(r"\W+", " ", unit.casefold()).strip()


def read(text: str, names_role: Callable[[str], bool] = lambda _: False) -> Outline:
    """The outline of `text`. `names_role` says whether a would-be lead-in names a
    storyline role, which makes it a heading even where lead-ins are rare."""
    events = _accept(read_lines(text), names_role)
    title = _title(events)
    headings = [e.rank for e in events if isinstance(e, HeadingLine)]
    top = min(headings, default=0.0)
    lead = Part()
    parts: list[Part] = []
    current = lead
    seen: set[str] = set()
    for event in events:
        if isinstance(event, HeadingLine):
            if event.rank == top:
                current = Part(event.text, event.style, event.subject or event.text)
                parts.append(current)
            else:
                current.groups.append(Group(event.text, event.style))
            continue
        if not current.groups:
            current.groups.append(Group())
        group = current.groups[-1]
        units = [event.text] if event.item else material.sentences(event.text)
        first = True
        for unit in units:
            key = _key(unit)
            if not key or key in seen:
                continue  # a sentence said twice is shown once
            seen.add(key)
            if first and not event.item:
                group.starts.add(len(group.units))
            first = False
            group.units.append(unit)
    casing = _casing(u for part in [lead, *parts] for u in part.units)
    for part in [lead, *parts]:
        part.groups = [g for g in part.groups if g.units or g.heading]
        if part.style is Style.CAPS:
            part.heading = part.subject = _recased(part.heading, casing)
        for group in part.groups:
            if group.style is Style.CAPS:
                group.heading = _recased(group.heading, casing)
    return Outline(title, lead, [p for p in parts if p.size or p.heading])


def _casing(units: Iterable[str]) -> dict[str, str]:
    """How the text spells the names it capitalises ("Tutorly", "Berlin"): words it writes
    with a capital and never in lower case."""
    capital: dict[str, str] = {}
    lower: set[str] = set()
    for unit in units:
        for word in unit.split():
            bare = word.strip(".,;:!?()\"'")
            if bare[:1].isupper() and not bare.isupper():
                capital.setdefault(bare.lower(), bare)
            elif bare[:1].islower():
                lower.add(bare)
    return {key: word for key, word in capital.items() if key not in lower}


def _recased(heading: str, casing: dict[str, str]) -> str:
    """An ALL-CAPS heading put in sentence case spells names as the text does."""
    words = [casing.get(w.lower(), w) for w in heading.split()]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]
