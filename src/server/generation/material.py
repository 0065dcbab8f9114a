"""Reading the user's text at the level of sentences and words: where sentences end, which
words say what a sentence is about, and which sentences matter most."""

from __future__ import annotations

import math
import re
from collections import Counter

from server import data
from server.generation.lexicon import STRUCTURE

# A Western full stop, exclamation or question mark before a space; a CJK one anywhere.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Kana and Han: written without spaces, so compared by pairs of characters.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_DIGIT = re.compile(r"\d")
# Inline Markdown a slide shows as plain text: bold, italics, code, links.
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])|`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")

_STOPWORDS = data.load_words("stopwords.txt")


def clean(text: str) -> str:
    """Plain text of one line or sentence: inline Markdown marks removed, spaces collapsed."""
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or m.group(4) or "", text)
    return re.sub(r"\s+", " ", text).strip()


_ORDINAL = re.compile(r"\b\d{1,2}\.$")


def _continues(piece: str, following: str) -> bool:
    """Whether the full stop ending `piece` ends no sentence: an abbreviation, an initial
    ("J. Smith"), or a day before its month ("am 1. März")."""
    last = piece.rsplit(" ", 1)[-1].lower()
    initial = len(last) == 2 and last[0].isalpha() and last[1] == "."
    if last in STRUCTURE.abbreviations or initial:
        return True
    month = following.split(" ", 1)[0].lower().rstrip(".,")
    return _ORDINAL.search(piece) is not None and month in STRUCTURE.months


def sentences(text: str) -> list[str]:
    """The sentences of `text`, in order (a full stop after an abbreviation, an initial or
    a day's number ends none)."""
    pieces = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    joined: list[str] = []
    for piece in pieces:
        if joined and _continues(joined[-1], piece):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    return joined


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _stem(word: str) -> str:
    # Plural and singular compare equal: the only inflection worth folding for similarity.
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def terms(text: str) -> list[str]:
    """The words that say what `text` is about: no stop words or bare numbers; Kana and Han
    as overlapping pairs of characters, since they are written without spaces."""
    found: list[str] = []
    for token in _TOKEN.findall(text.casefold()):
        if token.isdigit():
            continue
        if CJK.search(token):
            for run in _CJK_RUN.findall(token):
                found += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        elif len(token) > 1 and token not in _STOPWORDS:
            found.append(_stem(token))
    return found


def is_stopword(word: str) -> bool:
    return word.lower() in _STOPWORDS


def has_number(text: str) -> bool:
    return _DIGIT.search(text) is not None


def names_something(text: str) -> bool:
    """Whether a sentence names a person, place or product: a capitalised word after its
    first (scripts with case only)."""
    return any(w[:1].isupper() for w in _WORD.findall(text)[1:])


def rank(
    candidates: list[str], k: int, context: str = "", frequency: Counter[str] | None = None
) -> list[str]:
    """The k most central sentences, in their original order.

    Each sentence scores the mean frequency (over the whole context) of its content
    words, damped for very short sentences, with a small bonus for coming early and a
    larger one for holding a figure or a name (what a reader most needs to see on a
    slide): a plain extractive summariser in the spirit of Luhn's. `frequency` is the context's term
    count, when the caller ranks many lists against one context.
    """
    if len(candidates) <= k:
        return list(candidates)
    frequency = frequency or Counter(terms(context or " ".join(candidates)))

    def score(index: int) -> float:
        content = terms(candidates[index])
        if not content:
            return 0.0
        centrality = sum(frequency[w] for w in content) / len(content)
        length = min(1.0, len(content) / 5)
        position = 1.0 / math.sqrt(index + 1)
        figure = 1.5 if has_number(candidates[index]) else 1.0
        name = 1.3 if names_something(candidates[index]) else 1.0
        return (centrality * length + 0.5 * position) * figure * name

    best = sorted(range(len(candidates)), key=score, reverse=True)[:k]
    return [candidates[i] for i in sorted(best)]
