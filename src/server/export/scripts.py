"""The writing systems a deck's text uses, read from fonts.toml: which script a character
belongs to, which face of a CJK collection a deck reads best in, which way a paragraph runs."""

from __future__ import annotations

import bisect
import itertools
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from server.data import DataError

_SOURCE = "fonts.toml"


class Slot(StrEnum):
    """Where a PPTX run names the typeface for a script (DrawingML a:latin, a:ea, a:cs)."""

    LATIN = "latin"
    EAST_ASIAN = "ea"
    COMPLEX = "cs"


Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class Variant:
    """One face of a font collection, for the language its `ranges` reveal."""

    label: str
    face: int
    typeface: str
    lang: str
    ranges: Ranges


@dataclass(frozen=True, eq=False)
class Script:
    key: str
    label: str
    package: str
    regular: str  # font file, relative to the font root
    bold: str
    typeface: str
    slot: Slot
    ranges: Ranges
    lang: str = ""
    rtl: bool = False
    shaped: bool = False  # needs OpenType shaping (joining, conjuncts, marks)
    variants: tuple[Variant, ...] = ()

    def variant(self, text: str) -> Variant | None:
        """The face `text` reads best in: the first variant whose characters it has."""
        if not self.variants:
            return None
        for variant in self.variants[:-1]:
            if any(_within(ord(char), variant.ranges) for char in text):
                return variant
        return self.variants[-1]


def _within(code: int, ranges: Ranges) -> bool:
    return any(start <= code <= end for start, end in ranges)


class Catalog:
    """The scripts of fonts.toml, looked up by character."""

    def __init__(self, base: Script, scripts: tuple[Script, ...], fallback_dirs: tuple[str, ...]):
        self.base = base
        self.scripts = scripts
        self.fallback_dirs = fallback_dirs
        spans = sorted((start, end, s) for s in scripts for start, end in s.ranges)
        self._starts = [start for start, _, _ in spans]
        self._spans = spans

    def script_of(self, char: str) -> Script | None:
        """The script `char` belongs to; None for what every script shares (spaces, digits,
        punctuation) and for scripts this file does not list."""
        code = ord(char)
        index = bisect.bisect_right(self._starts, code) - 1
        if index >= 0 and code <= self._spans[index][1]:
            return self._spans[index][2]
        return None

    def counts(self, text: str) -> Counter[Script]:
        return Counter(s for s in map(self.script_of, text) if s is not None)

    def dominant(self, text: str) -> Script:
        """The script most of `text` is in (the base script when it has none of them)."""
        common = self.counts(text).most_common(1)
        return common[0][0] if common else self.base


def is_rtl(text: str) -> bool:
    """Whether a paragraph runs right to left: its first strong character is (UAX #9, P2)."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _ranges(value: object, where: str) -> Ranges:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{_SOURCE}: {where}.ranges must be a list of 'XXXX-YYYY' strings")
    ranges = []
    for text in value:
        try:
            start, end = (int(part, 16) for part in text.split("-"))
        except ValueError:
            raise DataError(f"{_SOURCE}: {where}: bad range {text!r}") from None
        if start > end:
            raise DataError(f"{_SOURCE}: {where}: empty range {text!r}")
        ranges.append((start, end))
    return tuple(ranges)


def _text(table: Mapping[str, object], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise DataError(f"{_SOURCE}: {where}.{key} must be a non-empty string")
    return value


def _script(key: str, table: Mapping[str, object]) -> Script:
    variants = []
    listed = table.get("variants", [])
    for index, entry in enumerate(listed if isinstance(listed, list) else [None]):
        where = f"{key}.variants[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("face"), int):
            raise DataError(f"{_SOURCE}: {where} must be a table with an integer face")
        variants.append(
            Variant(
                _text(entry, "label", where),
                entry["face"],
                _text(entry, "typeface", where),
                _text(entry, "lang", where),
                _ranges(entry.get("ranges"), where),
            )
        )
    try:
        slot = Slot(str(table.get("slot")))
    except ValueError:
        raise DataError(f"{_SOURCE}: {key}.slot must be one of {[s.value for s in Slot]}") from None
    return Script(
        key=key,
        label=_text(table, "label", key),
        package=_text(table, "package", key),
        regular=_text(table, "regular", key),
        bold=_text(table, "bold", key),
        typeface=_text(table, "typeface", key),
        slot=slot,
        ranges=_ranges(table.get("ranges"), key),
        lang=_text(table, "lang", key, ""),
        rtl=table.get("rtl", False) is True,
        shaped=table.get("shaped", False) is True,
        variants=tuple(variants),
    )


def parse_catalog(document: Mapping[str, object]) -> Catalog:
    """The catalog, or DataError naming what is wrong: every script complete, no character
    in two scripts, the base one of them."""
    base, dirs = document.get("base"), document.get("fallback_dirs")
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise DataError(f"{_SOURCE}: fallback_dirs must be a list of directories")
    scripts = tuple(
        _script(key, table) for key, table in document.items() if isinstance(table, dict)
    )
    by_key = {s.key: s for s in scripts}
    if not isinstance(base, str) or base not in by_key:
        raise DataError(f"{_SOURCE}: base must name one of {sorted(by_key)}")
    spans = sorted((start, end, s.key) for s in scripts for start, end in s.ranges)
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        if start <= end:
            raise DataError(f"{_SOURCE}: {first} and {second} both claim U+{start:04X}")
    return Catalog(by_key[base], scripts, tuple(dirs))


def _load() -> Catalog:
    text = resources.files("server.export").joinpath(_SOURCE).read_text(encoding="utf-8")
    try:
        return parse_catalog(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{_SOURCE}: not valid TOML: {error}") from error


CATALOG = _load()


def deck_scripts(texts: Iterable[str]) -> Counter[Script]:
    """How many characters of each script the texts hold."""
    total: Counter[Script] = Counter()
    for text in texts:
        total.update(CATALOG.counts(text))
    return total
