"""The OpenAPI document states every constraint the server enforces (issue 13): walks the
request descriptors and the served schema together, so that a new request field, or a new
rule in a service, without its schema constraint fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api import field_behavior_pb2  # type: ignore[import-untyped, unused-ignore]
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from chronicle import contract, upload_policy
from edge import request_rules
from edge.openapi import build_openapi
from server import vocabulary
from server.services import exports, jobs, keys, presentations, uploads

REF = "#/components/schemas/"
SERVER = Path(__file__).resolve().parents[2] / "src" / "server"
# Rules that depend on stored state (which templates, sections, uploads and tokens
# exist), which no schema can state; a rule named here must say so in RULES' comments.
STATE_DEPENDENT = {"selected_section_ids", "page_token", "rate_limit"}
# Validation messages that name no request field of the public API, checked for the CLI
# only: `workspace name` (workspace creation), `role` (user creation).
NOT_A_REQUEST_FIELD = {"workspace", "role"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(contract.http_bindings())


def request_messages() -> Iterator[Descriptor]:
    """Every message a request can carry, nested ones included (not well-known types)."""
    seen: set[str] = set()
    stack = [binding.method.input_type for binding in contract.http_bindings()]
    while stack:
        message = stack.pop()
        if message.full_name in seen or message.full_name.startswith("google.protobuf."):
            continue
        seen.add(message.full_name)
        yield message
        stack.extend(f.message_type for f in message.fields if f.message_type is not None)


def rule_key(field: FieldDescriptor) -> str:
    assert field.containing_type is not None
    return f"{field.containing_type.name}.{field.name}"


def field_schemas(doc: dict[str, Any]) -> Iterator[tuple[FieldDescriptor, dict[str, Any]]]:
    """Each request field with the schema the document gives it: path and query
    parameters, body properties and the properties of nested messages."""
    schemas = doc["components"]["schemas"]
    for binding in contract.http_bindings():
        request = binding.method.input_type
        path = re.sub(r"\{([^}=]+)=[^}]*\}", r"{\1}", binding.path)
        operation = doc["paths"][path][binding.verb.lower()]
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "header":  # headers are no request field (Idempotency-Key)
                yield request.fields_by_name[parameter["name"]], parameter["schema"]
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            body = schemas[body["$ref"].removeprefix(REF)] if "$ref" in body else body
            for name, schema in body["properties"].items():
                yield request.fields_by_name[name], schema
    for message in request_messages():
        if message.full_name in schemas:
            for name, schema in schemas[message.full_name]["properties"].items():
                yield message.fields_by_name[name], schema


def test_every_request_field_has_a_decided_rule() -> None:
    """A new request field needs an entry in edge.request_rules.RULES ({} for none)."""
    fields = {rule_key(f) for message in request_messages() for f in message.fields}
    assert sorted(fields - set(request_rules.RULES)) == []
    assert sorted(set(request_rules.RULES) - fields) == []  # no rule for a removed field


def test_the_schema_states_each_rule(doc: dict[str, Any]) -> None:
    checked = set()
    for field, schema in field_schemas(doc):
        rules = dict(request_rules.RULES[rule_key(field)])
        if field.is_repeated:
            items = rules.pop("items", {})
            assert {k: schema["items"][k] for k in items} == items, rule_key(field)
        assert {k: schema.get(k) for k in rules} == rules, rule_key(field)
        checked.add(rule_key(field))
    assert checked == set(request_rules.RULES)


def test_the_schema_states_each_rule_across_fields(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name, rules in request_rules.MESSAGE_RULES.items():
        schema = schemas[f"chronicle.v1.{name}"]
        assert {k: schema.get(k) for k in rules} == rules, name


def test_required_fields_are_required_and_not_empty(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for message in request_messages():
        required = [
            f.name
            for f in message.fields
            if field_behavior_pb2.REQUIRED
            in f.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        ]
        if message.full_name in schemas:
            assert schemas[message.full_name].get("required", []) == required, message.name
    for field, schema in field_schemas(doc):
        behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        if field_behavior_pb2.REQUIRED in behaviors and field.type == field.TYPE_STRING:
            not_empty = schema.get("minLength", 0) >= 1 or "" not in schema.get("enum", [""])
            assert not_empty, rule_key(field)
    for path in doc["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                assert parameter["in"] != "path" or parameter["required"] is True


def test_every_request_object_refuses_unknown_fields(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for message in request_messages():
        if message.full_name in schemas:
            assert schemas[message.full_name]["additionalProperties"] is False, message.name
    for path in doc["paths"].values():
        for operation in path.values():
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert "$ref" in body or body["additionalProperties"] is False


def test_every_request_string_refuses_nul(doc: dict[str, Any]) -> None:
    for field, schema in field_schemas(doc):
        if field.type != field.TYPE_STRING:
            continue
        value = schema["items"] if field.is_repeated else schema
        if "enum" in value:
            assert not any("\x00" in choice for choice in value["enum"])
        else:
            assert re.search(value["pattern"], "a\x00b") is None, rule_key(field)
            assert re.search(value["pattern"], "sec_ok") is not None, rule_key(field)


def test_the_limits_are_the_servers() -> None:
    assert request_rules.MAX_PROMPT == jobs.MAX_PROMPT
    assert request_rules.MAX_GENERATED_SECTIONS == jobs.MAX_SECTIONS
    assert request_rules.MAX_TITLE == presentations.MAX_TITLE
    assert request_rules.MAX_SECTIONS == presentations.MAX_SECTIONS
    assert request_rules.MAX_FILE_NAME == uploads.MAX_FILE_NAME
    assert request_rules.MAX_ATTACHMENTS == uploads.MAX_ATTACHMENTS
    assert request_rules.MAX_KEY_NAME == keys.MAX_NAME
    assert (
        f'"reason", reason, {request_rules.MAX_REVOKE_REASON})' in Path(keys.__file__).read_text()
    )
    assert set(request_rules.NARRATIVE_TYPES) == set(vocabulary.NarrativeType)
    assert set(request_rules.REWRITE_STYLES) == set(vocabulary.RewriteStyle)
    assert set(request_rules.LANGUAGES) == set(vocabulary.Language)
    assert set(request_rules.LAYOUTS) == set(presentations.LAYOUTS)
    assert request_rules.EXPORT_FORMATS == exports.FORMATS
    rules = request_rules.RULES
    assert rules["CreateUploadTargetRequest.declared_file_size"]["maximum"] == (
        upload_policy.MAX_FILE_BYTES
    )


def test_section_count_strings_match_the_servers_range(doc: dict[str, Any]) -> None:
    schema = doc["components"]["schemas"]["chronicle.v1.GeneratePresentationRequest"]
    numeric = next(
        s["pattern"] for s in schema["properties"]["section_count"]["anyOf"] if "pattern" in s
    )
    taken = {n for n in range(-5, 200) if re.fullmatch(numeric, str(n))}
    assert taken == set(range(1, jobs.MAX_SECTIONS + 1))


# A rule in a service names its field first in its message: `prompt: at most …`.
_RULE = re.compile(r"""(?:InvalidArgument|FileUploadError)\(\s*f?["']([a-z_]+)""")


def test_every_field_a_service_validates_has_a_schema_constraint() -> None:
    """A new `raise InvalidArgument("field: …")` needs a constraint in RULES for that field
    (or, if it depends on stored state, a place in STATE_DEPENDENT)."""
    named: set[str] = set()
    for source in [
        *SERVER.glob("services/*.py"),
        *SERVER.glob("servicers/*.py"),
        SERVER / "paging.py",
    ]:
        named |= set(_RULE.findall(source.read_text()))
    assert named, "no rule found: has the error style changed?"
    for name in sorted(named - STATE_DEPENDENT - NOT_A_REQUEST_FIELD):
        rules = [r for key, r in request_rules.RULES.items() if key.endswith(f".{name}")]
        assert rules, f"{name!r} is validated by the server but is no request field"
        assert any(rules), f"{name!r} is validated by the server; its schema states nothing"


def test_every_post_states_the_idempotency_key_the_server_accepts() -> None:
    doc = build_openapi(contract.http_bindings())
    pattern = re.compile(contract.IDEMPOTENCY_KEY_PATTERN)
    for binding in contract.http_bindings():
        path = re.sub(r"\{([^}=]+)=[^}]*\}", r"{\1}", binding.path)
        headers = [
            p
            for p in doc["paths"][path][binding.verb.lower()].get("parameters", [])
            if p["in"] == "header"
        ]
        if binding.verb != "POST":
            assert headers == [], binding.path
            continue
        (header,) = headers
        assert header["name"] == "Idempotency-Key"
        stated = re.compile(header["schema"]["pattern"])
        for candidate in ("0f8c2b9e-5d1a-4c7e-9f3b-2a6d8e1c4b7a", "a b", "x" * 256, "é", "k"):
            assert bool(stated.search(candidate)) == bool(pattern.fullmatch(candidate)), candidate
