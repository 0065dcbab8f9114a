"""Checks that the built-in template catalog is valid `chronicle.v1.Template` proto JSON."""

from __future__ import annotations

import re
from typing import Any

import pytest
from google.protobuf import json_format

from chronicle.v1 import presentation_pb2
from server import catalog

TEMPLATE_ID = re.compile(r"^tpl_[0-9A-Za-z]{20}$")
SECTION_ID = re.compile(r"^sec_[0-9A-Za-z]{20}$")
LAYOUTS = {"title", "title_and_body", "two_column", "quote", "image", "closing"}

TEMPLATES = catalog.BUILTIN_TEMPLATES


def _name(template: dict[str, Any]) -> str:
    return str(template["name"])


def test_at_least_six_templates() -> None:
    assert len(TEMPLATES) >= 6


@pytest.mark.parametrize("template", TEMPLATES, ids=_name)
def test_template_parses_as_proto(template: dict[str, Any]) -> None:
    message = json_format.ParseDict(
        template, presentation_pb2.Template(), ignore_unknown_fields=False
    )
    assert message.id == template["id"]
    assert len(message.sections) == len(template["sections"])
    assert not message.HasField("preview_url")


@pytest.mark.parametrize("template", TEMPLATES, ids=_name)
def test_template_shape(template: dict[str, Any]) -> None:
    assert TEMPLATE_ID.match(template["id"])
    assert template["name"].strip()
    assert template["description"].strip()
    assert 1 <= len(template["category"]) <= 3
    assert all(c and c == c.lower() for c in template["category"])
    sections = template["sections"]
    assert 5 <= len(sections) <= 10
    assert sections[0]["layout"] == "title"


@pytest.mark.parametrize("template", TEMPLATES, ids=_name)
def test_sections_are_well_formed(template: dict[str, Any]) -> None:
    for section in template["sections"]:
        assert SECTION_ID.match(section["id"]), section["id"]
        assert section["title"].strip()
        assert section["layout"] in LAYOUTS, section["layout"]
        assert 1 <= len(section["blocks"]) <= 4, section["id"]
        assert section["speaker_notes"].strip(), section["id"]


def test_template_ids_are_unique() -> None:
    ids = [t["id"] for t in TEMPLATES]
    assert len(ids) == len(set(ids))


def test_section_ids_are_unique_across_catalog() -> None:
    ids = [s["id"] for t in TEMPLATES for s in t["sections"]]
    assert len(ids) == len(set(ids))


def test_template_names_are_unique() -> None:
    names = [t["name"] for t in TEMPLATES]
    assert len(names) == len(set(names))


def test_catalog_uses_table_and_quote_blocks() -> None:
    kinds = {key for t in TEMPLATES for s in t["sections"] for b in s["blocks"] for key in b}
    assert {"table", "quote"} <= kinds


@pytest.mark.parametrize("template", TEMPLATES, ids=_name)
def test_builtin_template_finds_by_id(template: dict[str, Any]) -> None:
    assert catalog.builtin_template(template["id"]) is template


def test_builtin_template_unknown_id_returns_none() -> None:
    assert catalog.builtin_template("tpl_00000000000000000000") is None
    assert catalog.builtin_template("") is None
