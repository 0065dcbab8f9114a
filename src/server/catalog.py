"""Built-in public templates, read from `data/templates.json` and checked against
`chronicle.v1.Template` at import, so a bad edit stops the server at start rather than
reaching a client."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from chronicle.v1.presentation_pb2 import Template
from server import data
from server.vocabulary import Layout

_SOURCE = "templates.json"


def _check(entry: object, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise data.DataError(f"{where}: expected a Template object")
    try:
        template = json_format.ParseDict(entry, Template(), ignore_unknown_fields=False)
    except json_format.ParseError as error:
        raise data.DataError(f"{where}: not a chronicle.v1.Template: {error}") from error
    for section in template.sections:
        try:
            Layout(section.layout)
        except ValueError:
            raise data.DataError(
                f"{where}: section {section.id}: layout {section.layout!r} is not one of "
                f"{', '.join(Layout)}"
            ) from None
    return entry


def parse_templates(document: object, source: str = _SOURCE) -> tuple[dict[str, Any], ...]:
    """The templates of a catalog document (a JSON list of Template objects in proto JSON),
    or DataError naming `source` and the template that does not fit."""
    if not isinstance(document, list):
        raise data.DataError(f"{source}: expected a JSON list of templates")
    templates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(document):
        name = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
        template = _check(entry, f"{source}: template {name}")
        if not template.get("id") or template["id"] in seen:
            raise data.DataError(f"{source}: template {name}: missing or repeated id")
        seen.add(template["id"])
        templates.append(template)
    return tuple(templates)


# Template and section ids are fixed: clients and stored decks refer to them, so never change
# them in the data file. Proto JSON dicts (values of mixed JSON types, hence Any) in catalog
# order, the shape bootstrap.sync_builtin_templates stores.
BUILTIN_TEMPLATES: tuple[dict[str, Any], ...] = parse_templates(data.load_json(_SOURCE))
