"""Where the topic changes in text without headings, and where to split a long section.

Sentences are compared by TF-IDF cosine similarity over the document's own sentences; a
gap between two blocks of sentences that are unlike each other (a deep valley of
similarity, as in Hearst's TextTiling) is a topic boundary, more so where the author
started a new paragraph. Own code, no model: a 2,000-word document takes milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

from server.generation import material

_WINDOW = 2  # sentences compared on each side of a gap
_PARAGRAPH_BONUS = 1.0  # a paragraph break is a boundary the author already drew
_MAX_AUTO_SEGMENTS = 10
_SENTENCES_PER_SEGMENT = 4
_MAX_PARAGRAPH_SENTENCES = 8

Vector = dict[str, float]


def _vectors(units: Sequence[str]) -> list[Vector]:
    counts = [Counter(material.terms(u)) for u in units]
    documents = Counter(t for c in counts for t in c)
    n = len(units)
    idf = {t: math.log((1 + n) / (1 + df)) + 1.0 for t, df in documents.items()}
    return [{t: (1.0 + math.log(c)) * idf[t] for t, c in count.items()} for count in counts]


def _sum(vectors: Sequence[Vector]) -> Vector:
    total: Vector = {}
    for vector in vectors:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    return total


def cosine(a: Vector, b: Vector) -> float:
    if not a or not b:
        return 0.0
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    norms = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norms if norms else 0.0


def gap_scores(units: Sequence[str], starts: set[int]) -> list[float]:
    """A score per gap (before unit 1 … n-1): how deep a valley of similarity it sits in,
    plus a bonus where a paragraph starts."""
    vectors = _vectors(units)
    n = len(units)
    similarity = [
        cosine(_sum(vectors[max(0, g - _WINDOW) : g]), _sum(vectors[g : g + _WINDOW]))
        for g in range(1, n)
    ]
    scores = []
    for i, value in enumerate(similarity):
        left = right = value
        for j in range(i - 1, -1, -1):  # climb to the peak on each side
            if similarity[j] < left:
                break
            left = similarity[j]
        for j in range(i + 1, len(similarity)):
            if similarity[j] < right:
                break
            right = similarity[j]
        bonus = _PARAGRAPH_BONUS if (i + 1) in starts else 0.0
        scores.append((left - value) + (right - value) + (1.0 - value) * 0.5 + bonus)
    return scores


def _fits(cuts: list[int], n: int, shortest: int) -> bool:
    edges = [0, *sorted(cuts), n]
    return all(b - a >= shortest for a, b in itertools.pairwise(edges))


def boundaries(units: Sequence[str], starts: set[int], segments: int) -> list[int]:
    """The `segments - 1` gaps (unit indices that start a segment) with the clearest change
    of topic, no segment shorter than two sentences where the text allows."""
    n = len(units)
    segments = max(1, min(segments, n))
    if segments == 1:
        return []
    scores = gap_scores(units, starts)
    order = sorted(range(1, n), key=lambda g: (-scores[g - 1], g))
    chosen: list[int] = []
    for shortest in (2 if n >= 2 * segments else 1, 1):
        for gap in order:
            if len(chosen) == segments - 1:
                break
            if gap not in chosen and _fits([*chosen, gap], n, shortest):
                chosen.append(gap)
    return sorted(chosen)


def auto_segments(units: Sequence[str], starts: set[int]) -> int:
    """How many topics text without headings has: its paragraphs when they are a plausible
    number of reasonable length, else about one per four sentences."""
    n = len(units)
    paragraphs = len(starts | {0}) if n else 0
    if 2 <= paragraphs <= _MAX_AUTO_SEGMENTS and n <= paragraphs * _MAX_PARAGRAPH_SENTENCES:
        return paragraphs
    return max(1, min(_MAX_AUTO_SEGMENTS, round(n / _SENTENCES_PER_SEGMENT)))


def best_split(units: Sequence[str], starts: set[int]) -> int:
    """The gap to split a section of two or more units at: the clearest change of topic,
    preferring gaps near the middle so both halves carry weight."""
    n = len(units)
    scores = gap_scores(units, starts)
    return max(range(1, n), key=lambda g: scores[g - 1] - abs(g - n / 2) / n)
