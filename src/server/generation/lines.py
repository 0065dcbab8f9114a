"""Reading the user's text line by line: which lines are headings (and written how), which
are list items, and which paragraphs open with a lead-in ("Problem." / "Findings:").

Numbered lines and lead-ins are only candidates here: whether the document uses them as
headings is settled over the whole document (structure.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from server.generation import material
from server.generation.lexicon import STRUCTURE


class Style(StrEnum):
    """How a heading was written."""

    ATX = "atx"  # "## Market"
    SETEXT = "setext"  # "Market" over a line of = or -
    CAPS = "caps"  # "MARKET"
    BOLD = "bold"  # "**Market**", or "**Market.** The market…"
    NUMBERED = "numbered"  # "1. Market", "2) Team", "1.2 Scope"
    STEP = "step"  # "Step 1: Install the tools"
    LEAD_LINE = "lead_line"  # "Market." or "Market:" alone on its line
    LEAD_IN = "lead_in"  # "Market. The market is…", "Findings: most users…"


# Lower is outer: caps and bold sit between Markdown levels, lead-ins below everything.
RANK = {
    Style.CAPS: 2.5,
    Style.BOLD: 3.5,
    Style.NUMBERED: 3.6,
    Style.STEP: 3.6,
    Style.LEAD_LINE: 6.5,
    Style.LEAD_IN: 7.0,
}
LEAD_STYLES = frozenset({Style.LEAD_LINE, Style.LEAD_IN})
MAX_HEADING_WORDS = 12
_MAX_LEAD_WORDS = 5

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-{3,})\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^\s*[-*•+\u2013]\s+(.+)$")
_NUMBERED = re.compile(r"^\s*(?:(\d{1,2})[.)]|(\d{1,2}(?:\.\d{1,2})+)\.?)\s+(.+)$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)([^*_].*?)\1\s*[:.\uff1a]?\s*$")
_BOLD_LEAD = re.compile(r"^\s*(\*\*|__)([^*_].*?)([.:\uff1a]?)\1\s*([.:\uff1a]?)\s+(\S.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_STEP = re.compile(
    r"^\s*(?P<word>"
    + "|".join(re.escape(w) for w in STRUCTURE.step_words)
    + r")\s*(?P<n>\d{1,2})\s*(?:[:.)\uff1a\-\u2013\u2014]\s*|\s+|$)(?P<rest>.*)$",
    re.IGNORECASE,
)
_LEAD_LINE = re.compile(r"^(?P<lead>[^\W\d_][^.:!?;\u3002\uff1a]{0,60}?)\s*(?P<mark>[.:\uff1a])$")
_LEAD_IN = re.compile(
    r"^(?P<lead>[^\W\d_][^.:!?;,\u3002\uff1a]{0,48}?)\s*(?P<mark>[.:])\s+(?P<rest>\S.*)$"
)
_CJK_LEAD_IN = re.compile(
    r"^(?P<lead>[^\s\u3002\uff1a:\u3001\uff0c]{1,12})(?P<mark>[\uff1a:])\s*(?P<rest>\S.*)$"
)
TERMINAL = re.compile(r"[.!?;,\u3002\uff01\uff1f]$")


@dataclass
class HeadingLine:
    """A line that is (or may be) a heading; `rank` orders kinds of heading, outer first."""

    text: str
    style: Style
    rank: float
    subject: str = ""
    accepted: bool = True  # numbered lines and lead lines wait for the whole document
    original: str = ""  # the line as text, should it not be a heading after all
    item: bool = False  # …and whether that text is a list item


@dataclass
class TextBlock:
    """A paragraph (its lines joined) or one list item, code line or table row."""

    text: str
    item: bool = False
    lines: int = 1
    lead: str = ""  # a lead-in candidate opening the paragraph ("Problem" of "Problem. …")
    mark: str = ""
    rest: str = ""


Event = HeadingLine | TextBlock


def words_in(text: str) -> int:
    return len(text.split())


def short(text: str, limit: int) -> bool:
    if material.CJK.search(text):
        return len(text) <= limit * 3
    return 0 < words_in(text) <= limit


def _caps_heading(line: str) -> str | None:
    letters = [c for c in line if c.isalpha()]
    cased = [c for c in letters if c.isupper() or c.islower()]
    if len(cased) < 3 or any(c.islower() for c in cased) or line.endswith((".", "!", "?", ",")):
        return None
    if not short(line, 10) or _BULLET.match(line):
        return None
    return _sentence_case(line.rstrip(":\uff1a ").strip())


def _sentence_case(text: str) -> str:
    """ "KEY RISKS" reads "Key risks"; a short word that is neither common nor a function
    word ("ARR", "EU") stays as an acronym."""
    out = []
    for word in text.split():
        bare = word.strip("()&/,-").lower()
        common = bare in STRUCTURE.common_short_words or material.is_stopword(bare)
        acronym = len(bare) <= 3 and bare.isalpha() and not common
        out.append(word if acronym else word.lower())
    joined = " ".join(out)
    return joined[:1].upper() + joined[1:]


def heading_text(text: str) -> str:
    return material.clean(text).strip().rstrip(":\uff1a.").strip()


def _step(line: str) -> tuple[str, str, str] | None:
    """(heading, subject, rest of the line) of a "Step 2: Install the tools" line."""
    match = _STEP.match(line)
    if match is None:
        return None
    rest = material.clean(match.group("rest"))
    label = f"{match.group('word')} {match.group('n')}"
    first = material.sentences(rest)[:1]
    if not rest:
        return label, "", ""
    if first and short(first[0], 8) and not first[0].endswith(("!", "?")):
        subject = heading_text(first[0])
        return f"{label}: {subject}", subject, rest[len(first[0]) :].strip()
    return label, "", rest


def _next_text(lines: list[str], index: int) -> tuple[str, bool]:
    """The next non-blank line after `index`, and whether it directly follows."""
    for j in range(index + 1, len(lines)):
        if lines[j].strip():
            return lines[j].strip(), j == index + 1
    return "", False


def _is_prose(line: str) -> bool:
    return bool(line) and not (
        _BULLET.match(line) or _NUMBERED.match(line) or _ATX.match(line) or _SETEXT.match(line)
    )


def read_lines(text: str) -> list[Event]:
    """The headings and text blocks of `text`, in order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    events: list[Event] = []
    paragraph: list[str] = []
    fenced = False

    def end_paragraph() -> None:
        if paragraph:
            events.append(_paragraph(" ".join(paragraph), len(paragraph)))
            paragraph.clear()

    for index, raw in enumerate(lines):
        line = raw.strip()
        following, adjacent = _next_text(lines, index)
        if _FENCE.match(line):
            end_paragraph()
            fenced = not fenced
        elif fenced or line.startswith("|"):
            # Code and table rows: one unit each, as written.
            if line and not _TABLE_RULE.match(line):
                cells = [c.strip() for c in line.strip("|").split("|")]
                events.append(TextBlock(" · ".join(c for c in cells if c), item=True))
        elif not line:
            end_paragraph()
        elif setext := _SETEXT.match(raw):
            if len(paragraph) == 1 and short(paragraph[0], MAX_HEADING_WORDS):
                level = 1 if setext.group(1).startswith("=") else 2
                events.append(HeadingLine(heading_text(paragraph.pop()), Style.SETEXT, level))
            end_paragraph()
        elif atx := _ATX.match(raw):
            end_paragraph()
            events.append(HeadingLine(heading_text(atx.group(2)), Style.ATX, len(atx.group(1))))
        else:
            event = _line_event(line, following, adjacent)
            if event is None:
                paragraph.append(line)
            else:
                end_paragraph()
                events.extend(event)
    end_paragraph()
    return events


def _bold(line: str, following: str, adjacent: bool) -> list[Event] | None:
    if (bold := _BOLD_LINE.match(line)) and short(bold.group(2), MAX_HEADING_WORDS):
        return [HeadingLine(heading_text(bold.group(2)), Style.BOLD, RANK[Style.BOLD])]
    lead = _BOLD_LEAD.match(line)
    if lead and (lead.group(3) or lead.group(4)) and short(lead.group(2), _MAX_LEAD_WORDS + 1):
        return [
            HeadingLine(heading_text(lead.group(2)), Style.BOLD, RANK[Style.BOLD]),
            _paragraph(lead.group(5), 1),
        ]
    return None


def _step_line(line: str, following: str, adjacent: bool) -> list[Event] | None:
    if not (step := _step(line)):
        return None
    heading, subject, rest = step
    found: list[Event] = [HeadingLine(heading, Style.STEP, RANK[Style.STEP], subject)]
    return found + ([_paragraph(rest, 1)] if rest else [])


def _list_line(line: str, following: str, adjacent: bool) -> list[Event] | None:
    """A list item, or a numbered line that heads the prose (or list) below it."""
    if bullet := _BULLET.match(line):
        return [TextBlock(material.clean(bullet.group(1)), item=True)]
    if not (numbered := _NUMBERED.match(line)):
        return None
    body = numbered.group(3).strip()
    depth = (numbered.group(2) or "").count(".")
    heads = short(body, 8) and not TERMINAL.search(body) and _is_prose(following)
    if heads or (following and _BULLET.match(following) and short(body, 8)):
        rank = RANK[Style.NUMBERED] + 0.1 * depth
        text = heading_text(body)
        return [HeadingLine(text, Style.NUMBERED, rank, accepted=False, original=body, item=True)]
    return [TextBlock(material.clean(body), item=True)]


def _caps_line(line: str, following: str, adjacent: bool) -> list[Event] | None:
    caps = _caps_heading(line)
    return [HeadingLine(caps, Style.CAPS, RANK[Style.CAPS])] if caps else None


def _lead_line(line: str, following: str, adjacent: bool) -> list[Event] | None:
    """ "Market." or "Findings:" alone on a line, text right below it (or after a colon)."""
    own = _LEAD_LINE.match(line)
    if not (own and short(own.group("lead"), _MAX_LEAD_WORDS) and following):
        return None
    colon = own.group("mark") in ":\uff1a"
    if (colon or (adjacent and _is_prose(following))) and not _abbreviation(line):
        text = heading_text(own.group("lead"))
        rank = RANK[Style.LEAD_LINE]
        return [HeadingLine(text, Style.LEAD_LINE, rank, accepted=False, original=line)]
    return None


# Tried in order: the first that recognises a line wins.
_LINE_KINDS = (_bold, _step_line, _list_line, _caps_line, _lead_line)


def _line_event(line: str, following: str, adjacent: bool) -> list[Event] | None:
    """The heading or list item a line is, or None for a line of a paragraph."""
    for kind in _LINE_KINDS:
        if (found := kind(line, following, adjacent)) is not None:
            return found
    return None


def _abbreviation(text: str) -> bool:
    return text.split(" ", 1)[0].lower() in STRUCTURE.abbreviations


def _paragraph(text: str, lines: int) -> TextBlock:
    text = material.clean(text)
    match = _CJK_LEAD_IN.match(text) if material.CJK.search(text[:4]) else _LEAD_IN.match(text)
    if match and not _abbreviation(text):
        lead = match.group("lead").strip()
        mark = ":" if match.group("mark") in ":\uff1a" else "."
        limit = 4 if mark == ":" else _MAX_LEAD_WORDS
        starts_upper = not lead[:1].islower()
        if starts_upper and (short(lead, limit) if not material.CJK.search(lead) else True):
            return TextBlock(text, lines=lines, lead=lead, mark=mark, rest=match.group("rest"))
    return TextBlock(text, lines=lines)
