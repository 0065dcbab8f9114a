"""Reading the user's material: outline detection and extractive summarisation."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from server import data

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+(.+)$")
# Western and CJK full stops, exclamation and question marks.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOPWORDS = data.load_words("stopwords.txt")


@dataclass
class Chunk:
    """One part of the material: its own heading (maybe none), paragraphs and list items."""

    heading: str = ""
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join([*self.paragraphs, *self.items])

    @property
    def sentences(self) -> list[str]:
        """Paragraph sentences, then each list item as one sentence."""
        return [s for p in self.paragraphs for s in sentences(p)] + self.items

    @property
    def empty(self) -> bool:
        return not (self.paragraphs or self.items)


def _is_label_line(line: str) -> bool:
    """A short line ending in a colon reads as a heading: `Why now:`."""
    stripped = line.strip()
    return stripped.endswith(":") and 0 < len(stripped.split()) <= 8


def outline(text: str) -> list[Chunk]:
    """Splits material into chunks at headings; blank lines end paragraphs."""
    chunks = [Chunk()]
    paragraph: list[str] = []

    def end_paragraph() -> None:
        if paragraph:
            chunks[-1].paragraphs.append(" ".join(paragraph))
            paragraph.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        heading = _HEADING.match(raw)
        item = _ITEM.match(raw)
        if heading or _is_label_line(line):
            end_paragraph()
            title = heading.group(1) if heading else line.rstrip(":")
            chunks.append(Chunk(heading=title.strip()))
        elif item:
            end_paragraph()
            chunks[-1].items.append(item.group(1).strip())
        elif not line:
            end_paragraph()
        else:
            paragraph.append(line)
    end_paragraph()
    return [c for c in chunks if not c.empty or c.heading]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def rank(candidates: list[str], k: int, context: str = "") -> list[str]:
    """The k most central sentences, in their original order.

    Each sentence scores the mean frequency (over the whole context) of its content
    words, damped for very short sentences, with a small bonus for coming early: a
    plain extractive summariser in the spirit of Luhn's.
    """
    if len(candidates) <= k:
        return list(candidates)
    frequency = Counter(w for w in words(context or " ".join(candidates)) if w not in _STOPWORDS)

    def score(index: int) -> float:
        content = [w for w in words(candidates[index]) if w not in _STOPWORDS]
        if not content:
            return 0.0
        centrality = sum(frequency[w] for w in content) / len(content)
        length = min(1.0, len(content) / 5)
        position = 1.0 / math.sqrt(index + 1)
        return centrality * length + 0.5 * position

    best = sorted(range(len(candidates)), key=score, reverse=True)[:k]
    return [candidates[i] for i in sorted(best)]
