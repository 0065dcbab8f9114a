"""The words the product writes on slides itself (storyline headings, closings, speaker notes)
in every supported language, read from `data/labels.toml` and checked complete at import."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from server import data
from server.generation.archetypes import all_label_keys
from server.vocabulary import Language

_SOURCE = "labels.toml"
# Labels that are not storyline headings.
_SPEAKER_NOTES = ("speaker_notes_intro", "speaker_notes_closing")

LANGUAGES: tuple[Language, ...] = tuple(Language)


def parse_labels(
    document: Mapping[str, object], source: str = _SOURCE
) -> Mapping[Language, Mapping[str, str]]:
    """Each language's table, or DataError naming `source` and what is missing or extra:
    every language has every storyline key and the speaker notes, and nothing else."""
    expected = {*all_label_keys(), *_SPEAKER_NOTES}
    unknown = sorted(set(document) - set(Language))
    missing = [language.value for language in Language if language not in document]
    if unknown or missing:
        raise data.DataError(f"{source}: unknown languages {unknown}, missing languages {missing}")
    tables: dict[Language, Mapping[str, str]] = {}
    for language in Language:
        table = document[language]
        if not isinstance(table, dict) or not all(
            isinstance(text, str) and text.strip() for text in table.values()
        ):
            raise data.DataError(f"{source}: [{language}] must map keys to non-blank strings")
        extra, absent = sorted(set(table) - expected), sorted(expected - set(table))
        if extra or absent:
            raise data.DataError(f"{source}: [{language}] extra keys {extra}, missing {absent}")
        tables[language] = MappingProxyType(table)
    return MappingProxyType(tables)


LABELS: Mapping[Language, Mapping[str, str]] = parse_labels(data.load_toml(_SOURCE))


def label(language: str, key: str) -> str:
    """The text for `key` in `language`."""
    try:
        table = LABELS[Language(language)]
    except ValueError:
        raise KeyError(
            f"unknown language {language!r}; expected one of: {', '.join(LANGUAGES)}"
        ) from None
    text = table.get(key)
    if text is None:
        raise KeyError(f"unknown label key {key!r} for language {language!r}")
    return text
