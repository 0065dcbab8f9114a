"""The server's data files (built-in templates, slide labels, storylines, stop words), shipped
as package data and read here, so content changes without touching code."""

from __future__ import annotations

import json
import tomllib
from importlib import resources


class DataError(ValueError):
    """A data file does not hold what the code expects; the message names the file and entry."""


def read_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def load_json(name: str) -> object:
    try:
        return json.loads(read_text(name))
    except json.JSONDecodeError as error:
        raise DataError(f"{name}: not valid JSON: {error}") from error


def load_toml(name: str) -> dict[str, object]:
    try:
        return tomllib.loads(read_text(name))
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{name}: not valid TOML: {error}") from error


def load_words(name: str) -> frozenset[str]:
    """A word list: whitespace-separated words; lines starting with `#` are comments."""
    lines = read_text(name).splitlines()
    return frozenset(word for line in lines if not line.startswith("#") for word in line.split())
