"""The built-in writer's plan: which slides a deck has, what each shows and what its notes keep.

The outline (structure.py) gives the sections, or topic segments (topics.py) when the
material has no headings. A section whose heading (for a segment: whose text) names a
storyline role takes that role, each role once (roles.py); it is titled with the role's
label in the deck's language when its heading is nothing but that name, and every other
section keeps its own heading (titles.py). The sections then fit the slide count
(fitting.py); each slide shows at most BULLETS_PER_SLIDE sentences, the most central
(material.rank), the others go to its notes. The closing slide states the document's
call to action (the ask, the next steps…), else its summary.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from server.generation import fitting, material, rewrite, roles, structure, titles, topics
from server.generation.labels import label
from server.generation.roles import LEXICON, Naming
from server.generation.structure import Group, Outline, Part
from server.generation.writer import Brief, PlannedSection
from server.vocabulary import Layout

BULLETS_PER_SLIDE = 5
MIN_AUTO_SECTIONS, MAX_AUTO_SECTIONS = 4, 12
_SUBTITLE_UNITS, _SUBTITLE_WORDS = 2, 45
_INSTRUCTION_WORDS, _DOCUMENT_WORDS = 25, 50
_RECAP_ITEMS, _RECAP_ITEM_WORDS = 3, 12
_RECAP_TITLES, _RECAP_CHARS = 6, 140
_END = ".!?:;\u3002\uff01\uff1f"


class Kind(StrEnum):
    """Slides the built-in writer makes besides the storyline's roles."""

    TITLE = "title"
    CLOSING = "closing"
    TEMPLATE = "template"
    SECTION = "section"  # a section that names no role: it keeps its own heading
    CONTENTS = "contents"  # the list of slides, only to make up a requested count
    PLACEHOLDER = "placeholder"  # a requested slide the material has nothing left for


@dataclass(frozen=True)
class Shown:
    """What a slide shows of its sentences: under a sub-heading, as bullets or prose."""

    heading: str = ""
    units: tuple[str, ...] = ()
    prose: bool = False  # a paragraph, not bullets
    inline: bool = False  # one sentence under a lead-in reads "Label: sentence"
    verbatim: bool = False  # the writer's own words (slide titles): no rewriting


@dataclass(frozen=True)
class SlidePlan(PlannedSection):
    """The built-in writer's plan of one slide: what it shows and what its notes keep."""

    shown: tuple[Shown, ...] = ()
    cut: tuple[str, ...] = ()  # sentences left off the slide, for the speaker notes


@dataclass(frozen=True)
class _Section:
    part: Part
    naming: Naming | None
    title: str


def _text(brief: Brief) -> str:
    """The material to outline: a short prompt before a document is an instruction
    ("Make a pitch deck from this memo"), not part of the deck."""
    rest = brief.material.removeprefix(brief.prompt)
    instruction = rest != brief.material and len(brief.prompt.split()) <= _INSTRUCTION_WORDS
    return rest if instruction and len(rest.split()) >= _DOCUMENT_WORDS else brief.material


def _segments(parts: list[Part], wanted: int | None) -> tuple[list[Part], list[str]]:
    """Topic segments of material with fewer than two sections (a heading it had stays with
    the first segment), and its opening paragraph when that is a line or two before several
    more: it introduces the document, as a subtitle does."""
    groups = [g for p in parts for g in p.groups]
    units = [u for g in groups for u in g.units]
    starts = fitting.paragraph_starts(groups) | {0}
    breaks = sorted(starts)
    subtitle: list[str] = []
    opening = units[: breaks[1]] if len(breaks) >= 3 else []
    # Shorter than the paragraphs after it, else it is just the first of them.
    after = [b - a for a, b in itertools.pairwise([*breaks[1:], len(units)])]
    shorter = len(opening) < statistics.median(after or [0])
    short = len(opening) <= _SUBTITLE_UNITS and len(" ".join(opening).split()) <= _SUBTITLE_WORDS
    if opening and shorter and short:
        subtitle, units = opening, units[len(opening) :]
        starts = {s - len(opening) for s in starts if s >= len(opening)}
    # Auto: at least two segments, so that each slide gets a title of its own.
    count = wanted or max(2, topics.auto_segments(units, starts))
    edges = [0, *topics.boundaries(units, starts, count), len(units)]
    segments = [
        Part(groups=[Group(units=units[a:b], starts={s - a for s in starts if a <= s < b})])
        for a, b in itertools.pairwise(edges)
    ]
    headed = next((p for p in parts if p.heading), None)
    if headed is not None and segments:
        segments[0].heading, segments[0].style = headed.heading, headed.style
        segments[0].subject = headed.subject
    return segments, subtitle


def _parts(outline: Outline, wanted: int | None) -> tuple[list[Part], list[str]]:
    """The sections to plan from, and the sentences (if any) the title slide shows."""
    parts = [p for p in outline.parts if p.size]
    lead = outline.lead
    if lead.size and len(parts) >= 2:
        words = len(" ".join(lead.units).split())
        if lead.size <= _SUBTITLE_UNITS and words <= _SUBTITLE_WORDS:
            return parts, lead.units
    sections = [lead, *parts] if lead.size else parts
    if len(sections) >= 2 or not sections:
        return sections, []
    return _segments(sections, wanted)


def _drop_title(outline: Outline, title: str) -> None:
    """Takes the material's first sentence off its slides when it became the deck's title."""
    first = next((p for p in [outline.lead, *outline.parts] if p.size), None)
    group = next((g for g in first.groups if g.units), None) if first else None
    if group is not None and group.units[0].rstrip(_END) == title:
        group.units.pop(0)
        group.starts = {s - 1 for s in group.starts if s > 0} | {0}


def _allot(sizes: Sequence[int], cap: int) -> list[int]:
    """How many sentences each share of a slide shows: one each, the rest to the largest."""
    cap = max(cap, sum(1 for s in sizes if s))
    allot = [min(1, s) for s in sizes]
    for _ in range(cap - sum(allot)):
        i = max(range(len(sizes)), key=lambda i: (sizes[i] - allot[i], -i))
        if sizes[i] <= allot[i]:
            break
        allot[i] += 1
    return allot


class Planner:
    """Reads a brief once; `slides()` is the deck's plan."""

    def __init__(self, brief: Brief) -> None:
        self.brief = brief
        text = _text(brief)
        self.frequency = Counter(material.terms(text))
        outline = structure.read(text, roles.names_role)
        self.title = outline.title or titles.deck_title(brief.prompt)
        if not outline.title:
            _drop_title(outline, self.title)
        parts, self.subtitle = _parts(outline, self._wanted())
        subjects = [p.subject for p in parts if p.heading]
        self.archetype = roles.archetype_for(brief.narrative_type, subjects, brief.material)
        story = self.archetype.roles
        namings = [
            roles.heading_namings(p.subject, story)
            if p.heading
            else roles.content_namings(p.units, story)
            for p in parts
        ]
        self.sections = [
            self._section(p, n) for p, n in zip(parts, roles.assign(namings), strict=True)
        ]

    def _wanted(self) -> int | None:
        """The body slides asked for, None for auto."""
        count = self.brief.section_count
        if self.brief.template_sections:
            return len(self.brief.template_sections)
        return None if count is None else max(1, count - 2)

    def _label(self, key: str) -> str:
        return label(self.brief.language, key)

    def _section(self, part: Part, naming: Naming | None) -> _Section:
        """The title a section brings: its role's label, its heading, or (for text without
        either) none yet: slides of it are titled from their own sentences."""
        # A numbered step keeps its number: "Step 1: Before you start", not the label.
        numbered = part.style is structure.Style.STEP
        if naming is not None and (naming.whole or not part.heading) and not numbered:
            return _Section(part, naming, self._label(naming.role))
        return _Section(part, naming, part.heading)

    def slides(self) -> list[SlidePlan]:
        if self.brief.template_sections:
            return self._template()
        count = self.brief.section_count or self._auto_count()
        if count == 1:
            return [self._single()]
        wanted = self._wanted() or count - 2
        fitted = fitting.fit([s.part for s in self.sections], wanted)
        body = [
            self._body(slide, title, used)
            for slide, (title, used) in zip(fitted, self._titles(fitted), strict=True)
        ]
        if self.brief.section_count:
            body = self._padded(body, wanted)
        closing = [self._closing(body)] if count >= 3 else []
        return [self._title_slide(), *body, *closing]

    def _auto_count(self) -> int:
        return max(MIN_AUTO_SECTIONS, min(MAX_AUTO_SECTIONS, 2 + len(self.sections)))

    def _titles(self, fitted: Sequence[fitting.Slide]) -> list[tuple[str, str]]:
        """Each slide's title, and the sentence (if any) the title used up."""
        pieces = Counter(slide[0].part for slide in fitted if len(slide) == 1)
        seen: defaultdict[int, int] = defaultdict(int)
        found: list[tuple[str, str]] = []
        for slide in fitted:
            named = [self.sections[share.part].title for share in slide]
            if len(slide) > 1:
                names = [
                    n or titles.from_text(s.units, self.frequency)[0]
                    for n, s in zip(named, slide, strict=True)
                ]
                found.append((titles.joined(names, self._label("overview")), ""))
            elif named[0]:
                part = slide[0].part
                seen[part] += 1
                found.append((titles.numbered(named[0], seen[part], pieces[part]), ""))
            else:
                found.append(titles.from_text(slide[0].units, self.frequency))
        unique = titles.unique([t for t, _ in found], [self.title])
        return [(t, used) for t, (_, used) in zip(unique, found, strict=True)]

    def _selection(
        self, slide: fitting.Slide, name_parts: bool, used: str = ""
    ) -> tuple[tuple[Shown, ...], tuple[str, ...]]:
        """What the slide shows under which sub-headings, and what it leaves to the notes:
        at most BULLETS_PER_SLIDE sentences, shared between its sections by size. `used`
        is a sentence the title already says."""
        shown: list[Shown] = []
        cut: list[str] = []
        shares = [[u for u in share.units if u != used] for share in slide]
        allot = _allot([len(units) for units in shares], BULLETS_PER_SLIDE)
        for share, units, k in zip(slide, shares, allot, strict=True):
            keep = set(material.rank(units, k, frequency=self.frequency))
            for index, group in enumerate(share.groups):
                kept = tuple(u for u in group.units if u in keep)
                cut += [u for u in group.units if u not in keep and u != used]
                if not kept:
                    continue
                heading = group.heading
                if not heading and index == 0 and name_parts:
                    heading = self.sections[share.part].title
                inline = group.style in structure.LEAD_STYLES and len(group.units) == 1
                shown.append(Shown(heading, kept, inline=inline))
        return tuple(shown), tuple(cut)

    def _body(self, slide: fitting.Slide, title: str, used: str) -> SlidePlan:
        shown, cut = self._selection(slide, len(slide) > 1, used)
        cut = (used, *cut) if used else cut  # the notes keep the headline's whole sentence
        first = self.sections[slide[0].part]
        role = first.naming.role if first.naming and len(slide) == 1 else Kind.SECTION
        source = tuple(u for share in slide for u in share.units)
        layout = Layout.TITLE_AND_BODY
        return SlidePlan(title, layout, role, source, first.part.heading, shown, cut)

    def _padded(self, body: list[SlidePlan], wanted: int) -> list[SlidePlan]:
        """More slides than the material fills: a list of the slides first, then slides
        titled with the storyline's unused roles, empty and saying so in their notes."""
        if len(body) >= wanted:
            return body
        padded = list(body)
        if len(body) >= 2:
            contents = Shown(units=tuple(s.title for s in body), verbatim=True)
            padded.insert(
                0,
                SlidePlan(
                    self._label("agenda"),
                    Layout.TITLE_AND_BODY,
                    Kind.CONTENTS,
                    (),
                    shown=(contents,),
                ),
            )
        used = {s.naming.role for s in self.sections if s.naming}
        spare = [r for r in self.archetype.roles if r not in used] or list(self.archetype.roles)
        extra = [self._label(spare[i % len(spare)]) for i in range(wanted - len(padded))]
        for title in titles.unique(extra, [self.title, *(s.title for s in padded)]):
            padded.append(SlidePlan(title, Layout.TITLE_AND_BODY, Kind.PLACEHOLDER, ()))
        return padded

    def _title_slide(self) -> SlidePlan:
        shown = (Shown(units=tuple(self.subtitle), prose=True),) if self.subtitle else ()
        return SlidePlan(self.title, Layout.TITLE, Kind.TITLE, tuple(self.subtitle), shown=shown)

    def _single(self) -> SlidePlan:
        """A one-slide deck: the title, and the document's most central sentences."""
        units = [u for s in self.sections for u in s.part.units]
        keep = material.rank(units, BULLETS_PER_SLIDE, frequency=self.frequency)
        shown = [Shown(units=tuple(self.subtitle), prose=True)] if self.subtitle else []
        shown += [Shown(units=tuple(keep))] if keep else []
        cut = tuple(u for u in units if u not in keep)
        source = (*self.subtitle, *units)
        return SlidePlan(self.title, Layout.TITLE, Kind.TITLE, source, shown=tuple(shown), cut=cut)

    def _closing(self, body: Sequence[SlidePlan]) -> SlidePlan:
        line, verbatim = self._closing_line(body)
        shown = (Shown(units=(line,), prose=True, verbatim=verbatim),) if line else ()
        title = self._label(self.archetype.closing)
        return SlidePlan(title, Layout.CLOSING, Kind.CLOSING, (line,) if line else (), shown=shown)

    def _closing_line(self, body: Sequence[SlidePlan]) -> tuple[str, bool]:
        """The call to action when the document has one, else its summary: its own (a
        summary section), else the deck's sections in a line, else its most central
        sentence. True when the line is the writer's own words."""
        # Only a section that is nothing but the role: "Approval and refund" is no request.
        by_role = {s.naming.role: s.part for s in self.sections if s.naming and s.naming.whole}
        for role in LEXICON.call_to_action:
            if role in by_role and by_role[role].units:
                return _recap(by_role[role].units), False
        for role in LEXICON.summaries:
            if role in by_role and by_role[role].units:
                return by_role[role].units[0], False
        named = [s.title for s in body if s.role not in (Kind.CONTENTS, Kind.PLACEHOLDER)]
        recap = " · ".join(dict.fromkeys(named))
        headed = all(s.title for s in self.sections)  # no title made from a sentence
        if headed and 2 <= len(named) <= _RECAP_TITLES and len(recap) <= _RECAP_CHARS:
            return recap, True
        units = [u for s in self.sections for u in s.part.units]
        whole = {t: float(n) for t, n in self.frequency.items()}

        def centrality(unit: str) -> float:
            return topics.cosine(
                {t: float(n) for t, n in Counter(material.terms(unit)).items()}, whole
            )

        return max(units, key=centrality, default=""), False

    def _template(self) -> list[SlidePlan]:
        flow = self.brief.template_sections
        fitted = fitting.fit([s.part for s in self.sections], len(flow))
        planned = []
        for index, section in enumerate(flow):
            layout = section.layout or Layout.TITLE_AND_BODY
            if index >= len(fitted):
                planned.append(SlidePlan(section.title, layout, Kind.TEMPLATE, ()))
                continue
            slide = fitted[index]
            shown, cut = self._selection(slide, name_parts=True)
            source = tuple(u for share in slide for u in share.units)
            heading = self.sections[slide[0].part].part.heading
            planned.append(
                SlidePlan(section.title, layout, Kind.TEMPLATE, source, heading, shown, cut)
            )
        return planned


def _recap(units: Sequence[str]) -> str:
    """The closing line of a call to action: its first few list items joined (next steps
    written as a list), else its first sentence that holds a figure (the amount asked
    for), else its first sentence."""
    first = units[:_RECAP_ITEMS]
    listed = all(not u.endswith(tuple(_END)) and len(u.split()) <= _RECAP_ITEM_WORDS for u in first)
    if len(first) > 1 and listed:
        return "; ".join(first) + "."
    return next((u for u in units[:2] if rewrite.holds_number(u)), units[0])
