"""The storyline each narrative type gives a deck, read from `data/storylines.toml`.

A storyline is a sequence of section roles; the words shown for each role live in
`data/labels.toml`, in every supported language. Auto picks one type from the material.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from server import data
from server.vocabulary import NarrativeType

_SOURCE = "storylines.toml"
_FIELDS = frozenset({"roles", "closing", "signals"})

NARRATIVE_TYPES: tuple[NarrativeType, ...] = tuple(NarrativeType)


@dataclass(frozen=True)
class Archetype:
    name: NarrativeType
    # Body roles in order, between the title slide and the closing slide. The most
    # important come first: a short deck keeps a prefix of them.
    roles: tuple[str, ...]
    closing: str
    # Words in the material that point to this type when the caller asks for Auto.
    signals: tuple[str, ...]


def _words(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(w, str) for w in value):
        raise data.DataError(f"{where}: expected a non-empty list of strings")
    return tuple(value)


def parse_storylines(
    document: Mapping[str, object], source: str = _SOURCE
) -> Mapping[NarrativeType, Archetype]:
    """One archetype per narrative type but Auto, in NarrativeType order, or DataError naming
    `source` and the table that does not fit."""
    expected = [t for t in NarrativeType if t is not NarrativeType.AUTO]
    if set(document) != set(expected):
        raise data.DataError(
            f"{source}: expected the tables {', '.join(expected)}; got {', '.join(document)}"
        )
    archetypes: dict[NarrativeType, Archetype] = {}
    for name in expected:
        table = document[name]
        if not isinstance(table, dict) or set(table) != _FIELDS:
            fields = ", ".join(sorted(_FIELDS))
            raise data.DataError(f"{source}: [{name}] must have exactly {fields}")
        closing = table["closing"]
        if not isinstance(closing, str) or not closing:
            raise data.DataError(f"{source}: [{name}] closing must be a label key")
        roles = _words(table["roles"], f"{source}: [{name}] roles")
        signals = _words(table["signals"], f"{source}: [{name}] signals")
        archetypes[name] = Archetype(name, roles, closing, signals)
    return MappingProxyType(archetypes)


ARCHETYPES: Mapping[NarrativeType, Archetype] = parse_storylines(data.load_toml(_SOURCE))
_WORD = re.compile(r"[a-z]+")


def choose(narrative_type: str, material: str) -> Archetype:
    """The archetype asked for, or for Auto the one the material points to most."""
    if narrative_type != NarrativeType.AUTO:
        return ARCHETYPES[NarrativeType(narrative_type)]
    words = _WORD.findall(material.lower())
    counts = {a.name: sum(words.count(w) for w in a.signals) for a in ARCHETYPES.values()}
    # Ties go to Showcase, then to the type listed first.
    best = max(counts, key=lambda name: (counts[name], name == NarrativeType.SHOWCASE))
    return ARCHETYPES[best if counts[best] else NarrativeType.SHOWCASE]


def all_label_keys() -> tuple[str, ...]:
    """Every label a storyline can show, for the translation tables."""
    keys: list[str] = ["title", "agenda"]
    for archetype in ARCHETYPES.values():
        keys += [*archetype.roles, archetype.closing]
    return tuple(dict.fromkeys(keys))
