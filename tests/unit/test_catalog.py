"""Checks that the built-in template catalog is valid `chronicle.v1.Template` proto JSON, and
that its loader refuses a data file that is not."""

from __future__ import annotations

import re
from typing import Any

import pytest
from google.protobuf import json_format

from chronicle.v1 import presentation_pb2
from server import catalog, data
from server.data import DataError
from server.vocabulary import Layout

TEMPLATE_ID = re.compile(r"^tpl_[0-9A-Za-z]{20}$")
SECTION_ID = re.compile(r"^sec_[0-9A-Za-z]{20}$")
LAYOUTS = set(Layout)

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


def test_catalog_holds_the_eight_builtin_templates_in_order() -> None:
    assert [t["id"] for t in TEMPLATES] == [
        "tpl_XPCqg6WKxce0uqV0CpVo",  # Pitch Deck
        "tpl_j6PJw3Dvd105wpsy0jAv",  # Quarterly Business Review
        "tpl_Aixx7JcN6oDsKX6Zwyze",  # Sales Proposal
        "tpl_5hn0TDlH5xNkIT6xSgsd",  # Research Report
        "tpl_GzLdpTAlFWOIWKtAetG8",  # Project Proposal
        "tpl_2ldqTbGsEbAmQIrLDO6V",  # How-To Guide
        "tpl_rHIqeK8zycfSq8kISSdJ",  # Team All-Hands
        "tpl_lBX33gUbwIwQNCD2uFJl",  # Portfolio
    ]


def _valid() -> Any:
    return data.load_json("templates.json")  # a fresh copy to spoil


def test_loader_accepts_the_shipped_catalog() -> None:
    assert catalog.parse_templates(_valid()) == TEMPLATES


def test_loader_rejects_an_unknown_field_naming_file_and_template() -> None:
    document = _valid()
    document[1]["sections"][2]["colour"] = "red"
    with pytest.raises(DataError, match=r"templates\.json: template tpl_j6PJw3Dvd105wpsy0jAv"):
        catalog.parse_templates(document)


def test_loader_rejects_a_layout_outside_the_vocabulary() -> None:
    document = _valid()
    document[0]["sections"][0]["layout"] = "three_column"
    with pytest.raises(DataError, match="layout 'three_column' is not one of title, "):
        catalog.parse_templates(document, "broken.json")


def test_loader_rejects_a_wrongly_typed_value() -> None:
    document = _valid()
    document[0]["sections"][1]["blocks"][0]["heading"]["level"] = "two"
    with pytest.raises(DataError, match=r"not a chronicle\.v1\.Template"):
        catalog.parse_templates(document)


def test_loader_rejects_a_repeated_template_id() -> None:
    document = _valid()
    document.append(document[0])
    with pytest.raises(DataError, match="missing or repeated id"):
        catalog.parse_templates(document)


def test_loader_rejects_a_document_that_is_not_a_list() -> None:
    with pytest.raises(DataError, match="expected a JSON list"):
        catalog.parse_templates({"templates": []})
