"""How a sentence of the user's becomes slide text under each rewrite style.

Preserve keeps it verbatim. Subtle takes out filler words and puts each idea of a sentence
(its parts between semicolons) on a bullet of its own. Strong also drops openers and
hedges, shortens wordy phrases, and cuts parentheses and trailing clauses, but never a
part that holds a number: a slide may lose words, not facts. What Strong cut goes to the
speaker notes (the writer keeps the original sentence there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.generation import material
from server.generation.lexicon import REWRITE
from server.vocabulary import RewriteStyle


def _alternatives(phrases: tuple[str, ...] | frozenset[str]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


_FILLER = re.compile(rf"\b(?:{_alternatives(REWRITE.filler)})\b\s*", re.IGNORECASE)
_OPENER = re.compile(rf"^(?:{_alternatives(REWRITE.openers)})\s*,\s*", re.IGNORECASE)
_HEDGE = re.compile(rf"^(?:{_alternatives(REWRITE.hedges)})\s+", re.IGNORECASE)
_NUMBER_WORD = re.compile(rf"\b(?:{_alternatives(REWRITE.number_words)})\b", re.IGNORECASE)
_REPLACEMENTS = [
    (re.compile(rf"\b{re.escape(long)}\b", re.IGNORECASE), short)
    for long, short in REWRITE.replacements
]
_PARENTHESIS = re.compile(r"\s*\([^()]*\)")
_IDEAS = re.compile(r"\s*[;\uff1b]\s*")
_MIN_IDEA_WORDS = 3
_STOPS = (".", "!", "?", "\u3002")
_MIN_MAIN_CLAUSE_WORDS = 4


@dataclass(frozen=True)
class Bullet:
    text: str
    shortened: bool  # words beyond filler were cut: the notes carry the original


def holds_number(text: str) -> bool:
    return material.has_number(text) or _NUMBER_WORD.search(text) is not None


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _trimmed(text: str) -> str:
    return re.sub(r"\s+", " ", _FILLER.sub("", text)).strip()


def _condensed(text: str) -> tuple[str, bool]:
    """Strong's rules; whether they cut anything that carried meaning."""
    short = _OPENER.sub("", text)
    short = _HEDGE.sub("", short)
    for pattern, replacement in _REPLACEMENTS:
        short = pattern.sub(replacement, short)
    short = _PARENTHESIS.sub(
        lambda m: m.group(0) if holds_number(m.group(0)) else "", short
    ).strip()
    lowered = short.lower()
    breaks = (lowered.find(b) for b in REWRITE.clause_breaks)
    for cut in sorted(p for p in breaks if p > 0):
        head, tail = short[:cut], short[cut:]
        if len(head.split()) >= _MIN_MAIN_CLAUSE_WORDS and not holds_number(tail):
            short = head
            break
    short = short.rstrip(" ,;:.\u3002")
    words_before = set(material.words(_trimmed(text)))
    return short, not words_before <= set(material.words(short))


def rewrite(text: str, style: str) -> str:
    """`text` as one piece of slide prose (a subtitle, a closing line)."""
    if style == RewriteStyle.PRESERVE:
        return text
    trimmed = _trimmed(text)
    if style == RewriteStyle.STRONG:
        # Prose keeps its full stop: it may run on into another sentence.
        short = _condensed(trimmed)[0]
        ending = text.rstrip()[-1:] if text.rstrip().endswith(_STOPS) else ""
        trimmed = short if short.endswith(_STOPS) else short + ending
    return _capitalised(trimmed) or text


def bullets(unit: str, style: str) -> list[Bullet]:
    """The bullets one sentence or list item makes: one idea each."""
    if style == RewriteStyle.PRESERVE:
        return [Bullet(unit, shortened=False)]
    ideas = [i for i in _IDEAS.split(_trimmed(unit)) if i]
    if any(len(i.split()) < _MIN_IDEA_WORDS for i in ideas) and not material.CJK.search(unit):
        ideas = [_trimmed(unit)]  # "a; b" lists of fragments stay one bullet
    made = []
    for idea in ideas:
        text, shortened = _condensed(idea) if style == RewriteStyle.STRONG else (idea, False)
        made.append(Bullet(_capitalised(text) or idea, shortened))
    return made
