"""The titles the built-in writer gives slides: the document's own words where it has them,
a storyline label where a section is nothing but a role's name, and never one title twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from server.generation import material

MAX_DECK_TITLE_WORDS = 10
# A slide without a heading of its own gets a sentence headline (assertion-evidence style:
# at most two lines), the rest of its sentences as the evidence below it.
_MAX_TITLE_WORDS = 15
_MIN_CLAUSE_WORDS = 3
_MAX_JOINED = 3
_MAX_JOINED_CHARS = 60
_CLAUSE = re.compile(r"\s*(?:[,;:(\u2014\u2013]| - |[\u3001\uff0c\uff1a])\s*")
_END = ".!?:;\u3002\uff01\uff1f"
_STOPS = ".:;\u3002"  # a question or exclamation keeps its mark as a title
_MARKS = re.compile(r"^\s*#{1,6}\s+|^\s*[-*]\s+")


def _fits(text: str) -> bool:
    if material.CJK.search(text):
        return 0 < len(text) <= 2 * _MAX_TITLE_WORDS
    return _MIN_CLAUSE_WORDS <= len(text.split()) <= _MAX_TITLE_WORDS


def deck_title(prompt: str) -> str:
    """A title from the prompt, for material without a title of its own: its first line
    when short (a heading's marks taken off), else its first sentence."""
    line = next((x for x in prompt.splitlines() if x.strip()), prompt)
    line = material.clean(_MARKS.sub("", line)).rstrip(_END)
    if 0 < len(line.split()) <= MAX_DECK_TITLE_WORDS:
        return line
    first = material.sentences(material.clean(prompt)) or [prompt.strip()]
    words = first[0].rstrip(_END).split()
    title = " ".join(words[:MAX_DECK_TITLE_WORDS]).rstrip(":;,")
    return title + ("…" if len(words) > MAX_DECK_TITLE_WORDS else "")


def from_text(units: Sequence[str], frequency: Counter[str]) -> tuple[str, str]:
    """A title for sentences without a heading, and the sentence it used up ("" if none):
    the first sentence as a headline when it fits on two lines, else its opening clause,
    else the words most particular to these sentences (`frequency` counts the whole
    document's)."""
    first = units[0]
    whole = first.rstrip(_STOPS)
    if _fits(whole):
        return whole, first
    clause = _CLAUSE.split(first, maxsplit=1)[0].rstrip(_STOPS)
    if _fits(clause):
        return clause, ""
    return _keywords(units, frequency), ""


def _keywords(units: Sequence[str], frequency: Counter[str]) -> str:
    """The two words most particular to these sentences: frequent here, rare in the rest of
    the document; among equals, those of the first sentence and the longer (a longer word
    is more often the name of a thing than a word that links others)."""
    text = " ".join(units)
    if material.CJK.search(text):
        return text[:12] + "…"
    here = Counter(material.terms(text))
    opening = set(material.terms(units[0]))

    def weight(term: str) -> tuple[float, int]:
        particular = here[term] * here[term] / max(1, frequency[term])
        return (particular * (1.5 if term in opening else 1.0), len(term))

    best = sorted(here, key=weight, reverse=True)[:2]
    surface = {material.terms(w)[0]: w for w in reversed(text.split()) if material.terms(w)}
    words = [surface.get(t, t).strip(".,;:()\"'") for t in best]
    joined = " & ".join(words) or text[:40]
    return joined[:1].upper() + joined[1:]


def joined(titles: Sequence[str], overflow: str) -> str:
    """The title of a slide holding several sections: their titles, the first few when
    there are many, else `overflow`."""
    unique = list(dict.fromkeys(titles))
    for count in (len(unique), _MAX_JOINED, 2):
        text = " & ".join(unique[:count]) + ("…" if count < len(unique) else "")
        if count <= _MAX_JOINED and len(text) <= _MAX_JOINED_CHARS:
            return text
    return overflow


def numbered(title: str, index: int, count: int) -> str:
    return f"{title} ({index}/{count})" if count > 1 else title


def unique(titles: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """`titles` with a later repeat (of each other or of `taken`) numbered: "Risks (2)"."""
    seen = Counter(t.casefold() for t in taken)
    out = []
    for title in titles:
        seen[title.casefold()] += 1
        n = seen[title.casefold()]
        out.append(title if n == 1 else f"{title} ({n})")
    return out


def restates(heading: str, title: str) -> bool:
    """Whether a heading says no more than the title (or the title no more than it)."""
    a, b = set(material.terms(heading)), set(material.terms(title))
    if not a or not b:
        return heading.casefold().strip() == title.casefold().strip()
    return a <= b or b <= a
