"""Which storyline role a section plays, by what its heading says (or, for a section without a
heading, its text): the words of `data/roles.toml` and every language's labels.

Each role goes to one section at most: the strongest namings are settled first, so
"Problem" takes the problem slide and a second "The problem" keeps its own heading.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from server import data
from server.generation import archetypes, lexicon, material
from server.generation.archetypes import ARCHETYPES, Archetype
from server.generation.labels import LABELS
from server.vocabulary import Language, NarrativeType

_SOURCE = "roles.toml"
# Scripts written without word boundaries a phrase can rely on: matched anywhere.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_NOT_WORD = re.compile(r"[^\w]+")
_HEADING_SCORE = 10.0  # any naming by a heading outranks any naming by content
_WHOLE_BONUS = 5.0  # the heading is the role's name and nothing else
_STORYLINE_BONUS = 5.0  # the role is on the chosen narrative type's storyline
_MIN_CONTENT_HITS = 3  # a phrase in the first sentence and one more


def fold(text: str) -> str:
    """Lower case, Latin accents and punctuation gone, hyphens as spaces: how phrases match."""
    plain = "".join(
        unicodedata.normalize("NFKD", c)[0] if ord(c) < 0x250 else c for c in text.casefold()
    )
    return _NOT_WORD.sub(" ", plain).strip()


@dataclass(frozen=True)
class Lexicon:
    phrases: Mapping[str, tuple[str, ...]]  # role -> folded phrases, labels included
    excluded: Mapping[str, tuple[str, ...]]
    articles: frozenset[str]
    call_to_action: tuple[str, ...]
    summaries: tuple[str, ...]


def storyline_roles() -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for a in ARCHETYPES.values() for r in a.roles))


def parse_roles(
    document: Mapping[str, object],
    labels: Mapping[Language, Mapping[str, str]],
    source: str = _SOURCE,
) -> Lexicon:
    """The role lexicon, or DataError naming `source` and what does not fit: phrases only for
    storyline roles and supported languages, the role lists naming storyline roles."""
    known = storyline_roles()
    articles = frozenset(fold(a) for a in lexicon.strings(document, "articles", source))
    lists = {key: lexicon.strings(document, key, source) for key in ("call_to_action", "summaries")}
    for key, named in lists.items():
        if unknown := sorted(set(named) - set(known)):
            raise data.DataError(f"{source}: {key} names unknown roles {unknown}")
    tables = document.get("phrases")
    if not isinstance(tables, dict):
        raise data.DataError(f"{source}: [phrases.<role>] tables are missing")
    if unknown := sorted(set(tables) - set(known)):
        raise data.DataError(f"{source}: phrases for unknown roles {unknown}")
    phrases: dict[str, tuple[str, ...]] = {}
    excluded: dict[str, tuple[str, ...]] = {}
    for role in known:
        table = tables.get(role, {})
        if not isinstance(table, dict):
            raise data.DataError(f"{source}: [phrases.{role}] must be a table")
        if unknown := sorted(set(table) - set(Language) - {"not"}):
            raise data.DataError(f"{source}: [phrases.{role}] unknown languages {unknown}")
        found = [p for key in table if key != "not" for p in lexicon.strings(table, key, source)]
        for language in Language:
            name = fold(labels[language][role])
            first, _, rest = name.partition(" ")
            found += [name, rest] if first in articles and rest else [name]
        phrases[role] = tuple(dict.fromkeys(fold(p) for p in found if fold(p)))
        if "not" in table:
            excluded[role] = tuple(fold(p) for p in lexicon.strings(table, "not", source))
    return Lexicon(
        MappingProxyType(phrases),
        MappingProxyType(excluded),
        articles,
        lists["call_to_action"],
        lists["summaries"],
    )


LEXICON = parse_roles(data.load_toml(_SOURCE), LABELS)


@dataclass(frozen=True)
class Naming:
    """A role a section names, how strongly, and whether its heading is nothing but that
    role's name (then the slide takes the role's label as its title)."""

    role: str
    score: float
    whole: bool


class _Index:
    """Phrases by role, looked up by the words a text has (a heading is checked against
    every phrase of every role in every language: thousands of them)."""

    def __init__(self, phrases: Mapping[str, tuple[str, ...]]) -> None:
        self._spaced: dict[str, list[tuple[str, str]]] = {}
        self._unspaced: list[tuple[str, str]] = []
        for role, found in phrases.items():
            for phrase in found:
                if _UNSPACED.search(phrase):
                    self._unspaced.append((role, phrase.replace(" ", "")))
                else:
                    self._spaced.setdefault(phrase.split()[0], []).append((role, phrase))

    def find(self, text: str) -> dict[str, list[str]]:
        """The phrases `text` (folded) contains, by role."""
        padded, squeezed = f" {text} ", text.replace(" ", "")
        found: dict[str, list[str]] = {}
        for word in set(text.split()):
            for role, phrase in self._spaced.get(word, ()):
                if f" {phrase} " in padded:
                    found.setdefault(role, []).append(phrase)
        for role, phrase in self._unspaced:
            if phrase in squeezed:
                found.setdefault(role, []).append(phrase)
        return found


_PHRASES = _Index(LEXICON.phrases)
_EXCLUDED = _Index(LEXICON.excluded)


def _remove(text: str, phrase: str) -> str:
    if _UNSPACED.search(phrase):
        return text.replace(" ", "").replace(phrase, " ")
    return f" {text} ".replace(f" {phrase} ", " ")


def _leftover(text: str) -> bool:
    """Whether words that say something remain once the matched phrases are removed."""
    rest = [w for w in text.split() if w not in LEXICON.articles]
    return any(material.terms(w) for w in rest)


@functools.lru_cache(maxsize=4096)
def _heading_matches(text: str) -> tuple[tuple[str, float, bool], ...]:
    """(role, length of its longest phrase found, whether the phrases are all the heading
    says) for each role a folded heading names."""
    excluded = _EXCLUDED.find(text)
    found = []
    for role, matched in _PHRASES.find(text).items():
        if role in excluded:
            continue
        rest = text
        for phrase in sorted(matched, key=len, reverse=True):
            rest = _remove(rest, phrase)
        length = max(len(p) / 2 if _UNSPACED.search(p) else len(p.split()) for p in matched)
        found.append((role, length, not _leftover(rest)))
    return tuple(found)


def heading_namings(subject: str, storyline: Sequence[str] = ()) -> list[Naming]:
    """Every role a heading names, strongest first: a heading that is nothing but a role's
    name first (however many words that name has), then by the longest phrase found."""
    found = []
    for role, length, whole in _heading_matches(fold(subject)):
        score = _HEADING_SCORE + (_WHOLE_BONUS if whole else min(length, _WHOLE_BONUS - 1))
        found.append(Naming(role, score + _STORYLINE_BONUS * (role in storyline), whole))
    return sorted(found, key=lambda n: -n.score)


def names_role(text: str) -> bool:
    """Whether `text` is nothing but a role's name ("Problem", "Next steps", "課題")."""
    return any(whole for _, _, whole in _heading_matches(fold(text)))


def content_namings(units: Sequence[str], storyline: Sequence[str] = ()) -> list[Naming]:
    """Roles the text of a section without a heading names often enough to take: two
    different phrases (not two forms of one word), one of them in its first sentence, which
    counts twice."""
    if not units:
        return []
    first, rest = fold(units[0]), fold(" ".join(units[1:3]))
    in_first, in_rest = _PHRASES.find(first), _PHRASES.find(rest)
    excluded = {*_EXCLUDED.find(first), *_EXCLUDED.find(rest)}
    found = []
    for role, opening in in_first.items():
        later = in_rest.get(role, [])
        distinct = {p.removesuffix("s") for p in [*opening, *later]}
        hits = 2 * len(set(opening)) + len(set(later))
        if role not in excluded and len(distinct) >= 2 and hits >= _MIN_CONTENT_HITS:
            score = min(hits, _HEADING_SCORE - 1) + 0.5 * (role in storyline)
            found.append(Naming(role, score, whole=True))
    return sorted(found, key=lambda n: -n.score)


def assign(namings: Sequence[Sequence[Naming]]) -> list[Naming | None]:
    """One naming per section at most and one section per role at most, the strongest
    namings settled first (ties to the earlier section)."""
    ranked = sorted(
        ((n.score, index, n) for index, found in enumerate(namings) for n in found),
        key=lambda t: (-t[0], t[1]),
    )
    chosen: list[Naming | None] = [None] * len(namings)
    used: set[str] = set()
    for _, index, naming in ranked:
        if chosen[index] is None and naming.role not in used:
            chosen[index] = naming
            used.add(naming.role)
    return chosen


def archetype_for(narrative_type: str, subjects: Sequence[str], text: str) -> Archetype:
    """The archetype asked for; for Auto, the one whose roles the headings name most (two
    at least), else the one the material's words point to."""
    if narrative_type != NarrativeType.AUTO or not subjects:
        return archetypes.choose(narrative_type, text)
    named = [{n.role for n in heading_namings(s)} for s in subjects]
    counts = {
        name: sum(1 for roles in named if roles & set(a.roles)) for name, a in ARCHETYPES.items()
    }
    best = max(counts.values())
    if best < 2:
        return archetypes.choose(narrative_type, text)
    tied = [name for name, count in counts.items() if count == best]
    by_words = archetypes.choose(narrative_type, text).name
    return ARCHETYPES[by_words if by_words in tied else tied[0]]
