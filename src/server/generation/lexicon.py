"""The built-in writer's word lists (`data/structure.toml`, `data/rewrite.toml`,
`data/placeholders.toml`), read once and checked at import: a list that is missing or holds
anything but words stops the server with the file and key named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from server import data
from server.vocabulary import Language


def strings(document: Mapping[str, object], key: str, source: str) -> tuple[str, ...]:
    """`document[key]` as a non-empty list of non-blank strings, or DataError."""
    value = document.get(key)
    if not isinstance(value, list) or not value:
        raise data.DataError(f"{source}: {key} must be a non-empty list of strings")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise data.DataError(f"{source}: {key} must hold only non-blank strings")
    return tuple(value)


@dataclass(frozen=True)
class StructureWords:
    step_words: tuple[str, ...]
    abbreviations: frozenset[str]
    months: frozenset[str]
    common_short_words: frozenset[str]


@dataclass(frozen=True)
class RewriteWords:
    filler: tuple[str, ...]
    openers: tuple[str, ...]
    hedges: tuple[str, ...]
    replacements: tuple[tuple[str, str], ...]
    clause_breaks: tuple[str, ...]
    number_words: frozenset[str]


def parse_structure(document: Mapping[str, object], source: str) -> StructureWords:
    return StructureWords(
        strings(document, "step_words", source),
        frozenset(strings(document, "abbreviations", source)),
        frozenset(strings(document, "months", source)),
        frozenset(strings(document, "common_short_words", source)),
    )


def parse_rewrite(document: Mapping[str, object], source: str) -> RewriteWords:
    pairs = document.get("replacements")
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) and s for s in p)
        for p in pairs
    ):
        raise data.DataError(f"{source}: replacements must be a list of [long, short] pairs")
    return RewriteWords(
        strings(document, "filler", source),
        strings(document, "openers", source),
        strings(document, "hedges", source),
        tuple((long, short) for long, short in pairs),
        strings(document, "clause_breaks", source),
        frozenset(strings(document, "number_words", source)),
    )


def parse_placeholders(document: Mapping[str, object], source: str) -> Mapping[Language, str]:
    """One note per language, each language present."""
    notes: dict[Language, str] = {}
    for language in Language:
        table = document.get(language)
        note = table.get("note") if isinstance(table, dict) else None
        if not isinstance(note, str) or not note.strip():
            raise data.DataError(f"{source}: [{language}] needs a non-blank note")
        notes[language] = note
    if unknown := sorted(set(document) - set(Language)):
        raise data.DataError(f"{source}: unknown languages {unknown}")
    return MappingProxyType(notes)


STRUCTURE = parse_structure(data.load_toml("structure.toml"), "structure.toml")
REWRITE = parse_rewrite(data.load_toml("rewrite.toml"), "rewrite.toml")
PLACEHOLDER_NOTES = parse_placeholders(data.load_toml("placeholders.toml"), "placeholders.toml")
