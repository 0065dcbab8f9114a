"""The OpenAPI document: what a client generator relies on, checked against the contract."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, wrappers_pb2
from google.protobuf.descriptor import MethodDescriptor

from chronicle import contract
from edge.openapi import NUL_FREE, build_openapi
from edge.request_rules import NOT_BLANK, up_to

PRESENTATION = "chronicle.v1.Presentation"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(contract.http_bindings())


def _operation(doc: dict[str, Any], verb: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = doc["paths"][path][verb]
    return operation


def _parameters(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == where}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_header(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Chronicle API", "version": "v1"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert doc["security"] == [{"bearer": []}, {"apiKey": []}]


def test_every_binding_is_an_operation_with_its_success_code(doc: dict[str, Any]) -> None:
    bindings = contract.http_bindings()
    assert bindings
    for binding in bindings:
        # Only a `{var=pattern}` changes; `{id}` and custom verbs like `:revoke` stay.
        path = re.sub(r"\{([^}=]+)=[^}]*\}", r"{\1}", binding.path)
        operation = _operation(doc, binding.verb.lower(), path)
        # An additional binding's operationId gets a numeric suffix (GetCaller2).
        assert operation["operationId"].rstrip("0123456789") == binding.method.name
        assert operation["tags"] == [binding.method.containing_service.name]
        assert operation["summary"]
        assert str(binding.success_code) in operation["responses"]


def test_success_codes(doc: dict[str, Any]) -> None:
    assert "201" in _operation(doc, "post", "/api/v1/presentations")["responses"]
    assert "202" in _operation(doc, "post", "/api/v1/presentations/generate")["responses"]
    assert "200" in _operation(doc, "get", "/api/v1/presentations/{id}")["responses"]


def test_custom_verb_stays_in_the_path(doc: dict[str, Any]) -> None:
    operation = _operation(doc, "post", "/api/v1/api-keys/{id}:revoke")
    assert operation["operationId"] == "RevokeApiKey"
    assert set(_parameters(operation, "path")) == {"id"}


def test_path_parameter(doc: dict[str, Any]) -> None:
    operation = _operation(doc, "get", "/api/v1/presentations/{id}")
    assert _parameters(operation, "path") == {
        "id": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", **NOT_BLANK},
        }
    }
    assert _parameters(operation, "query") == {}
    assert "requestBody" not in operation


def test_query_parameters(doc: dict[str, Any]) -> None:
    query = _parameters(_operation(doc, "get", "/api/v1/presentations"), "query")
    assert set(query) == {"page_size", "page_token"}
    assert query["page_size"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,
        "maximum": 2**31 - 1,
    }
    assert query["page_token"]["schema"] == {"type": "string", "pattern": NUL_FREE}


def test_path_bound_field_is_not_a_query_parameter(doc: dict[str, Any]) -> None:
    operation = _operation(doc, "get", "/api/v1/workspaces/{workspace_id}/api-keys")
    assert set(_parameters(operation, "path")) == {"workspace_id"}
    assert set(_parameters(operation, "query")) == {"page_size", "page_token"}


def test_request_body(doc: dict[str, Any]) -> None:
    create = _operation(doc, "post", "/api/v1/presentations")["requestBody"]
    assert create["required"] is True
    assert create["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/chronicle.v1.CreatePresentationRequest"
    }
    # With body "*", fields bound to the path are left out of the body.
    update = _operation(doc, "patch", "/api/v1/presentations/{id}")["requestBody"]
    properties = update["content"]["application/json"]["schema"]["properties"]
    assert "id" not in properties
    assert {"title", "is_public", "sections", "update_mask"} <= set(properties)


def test_response_schema_and_default_error(doc: dict[str, Any]) -> None:
    responses = _operation(doc, "get", "/api/v1/presentations/{id}")["responses"]
    ok = responses["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": f"#/components/schemas/{PRESENTATION}"}
    error = responses["default"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


def test_error_schema(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert sorted(inner["required"]) == ["code", "message", "status"]
    assert inner["properties"]["code"] == {"type": "string"}
    assert inner["properties"]["message"] == {"type": "string"}
    assert inner["properties"]["status"] == {"type": "integer"}


def test_presentation_schema(doc: dict[str, Any]) -> None:
    schema = doc["components"]["schemas"][PRESENTATION]
    properties = schema["properties"]
    # Proto field names, not lowerCamelCase JSON names.
    assert {"workspace_id", "is_public", "created_at"} <= set(properties)
    assert "workspaceId" not in properties
    assert properties["is_public"] == {"type": "boolean"}
    assert properties["created_at"]["format"] == "date-time"
    assert properties["created_at"]["readOnly"] is True
    assert properties["id"]["readOnly"] is True
    assert "readOnly" not in properties["title"]
    assert properties["sections"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/chronicle.v1.Section"},
    }


def test_required_fields(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["chronicle.v1.CreatePresentationRequest"]["required"] == ["template_id"]
    generate = schemas["chronicle.v1.GeneratePresentationRequest"]
    # `optional template_id` is not required; `prompt` is.
    assert generate["required"] == ["prompt"]
    assert "required" not in schemas[PRESENTATION]


def test_field_types(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    upload = schemas["chronicle.v1.CreateUploadTargetRequest"]["properties"]
    assert upload["declared_file_size"] == {
        "type": ["string", "integer"],
        "format": "int64",
        "minimum": 1,
        "maximum": 50 * 1024 * 1024,
        "pattern": up_to(50 * 1024 * 1024),
    }
    generate = schemas["chronicle.v1.GeneratePresentationRequest"]["properties"]
    # google.protobuf.Value: any JSON value, narrowed to what the server takes.
    assert {"type": "integer", "minimum": 1, "maximum": 50} in generate["section_count"]["anyOf"]
    # A oneof's members are plain properties.
    block = schemas["chronicle.v1.ContentBlock"]["properties"]
    assert block["heading"] == {"$ref": "#/components/schemas/chronicle.v1.Heading"}


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    refs = set(_refs(doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas


def test_json_round_trip(doc: dict[str, Any]) -> None:
    assert json.loads(json.dumps(doc)) == doc


def test_title_and_version_are_configurable() -> None:
    doc = build_openapi([], title="Other", version="v2")
    assert doc["info"] == {"title": "Other", "version": "v2"}
    assert doc["paths"] == {}


def _synthetic_method() -> MethodDescriptor:
    """A method over a recursive message with a map, an enum and a wrapper, in its own pool."""
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    Field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="openapi_test/v1/tree.proto",
        package="openapi_test.v1",
        syntax="proto3",
        dependency=[wrappers.name],
    )
    file.enum_type.add(name="Color").value.add(name="COLOR_UNSPECIFIED", number=0)
    file.enum_type[0].value.add(name="COLOR_RED", number=1)
    node = file.message_type.add(name="Node")
    entry = node.nested_type.add(name="LabelsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=Field.TYPE_STRING, label=Field.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=Field.TYPE_UINT64, label=Field.LABEL_OPTIONAL)
    for name, number, kind, label, type_name in [
        ("children", 1, Field.TYPE_MESSAGE, Field.LABEL_REPEATED, ".openapi_test.v1.Node"),
        (
            "labels",
            2,
            Field.TYPE_MESSAGE,
            Field.LABEL_REPEATED,
            ".openapi_test.v1.Node.LabelsEntry",
        ),
        ("color", 3, Field.TYPE_ENUM, Field.LABEL_OPTIONAL, ".openapi_test.v1.Color"),
        ("note", 4, Field.TYPE_MESSAGE, Field.LABEL_OPTIONAL, ".google.protobuf.StringValue"),
    ]:
        node.field.add(name=name, number=number, type=kind, label=label, type_name=type_name)
    node.field.add(name="payload", number=5, type=Field.TYPE_BYTES, label=Field.LABEL_OPTIONAL)
    service = file.service.add(name="TreeService")
    service.method.add(
        name="GetNode", input_type=".openapi_test.v1.Node", output_type=".openapi_test.v1.Node"
    )
    pool.Add(file)
    return pool.FindMethodByName("openapi_test.v1.TreeService.GetNode")


def test_recursive_map_enum_and_wrapper_fields() -> None:
    binding = contract.HttpBinding(
        _synthetic_method(), "POST", "/v1/{name=nodes/*}:grow", "*", "", 200
    )
    doc = build_openapi([binding])
    operation = doc["paths"]["/v1/{name}:grow"]["post"]
    assert set(_parameters(operation, "path")) == {"name"}
    node = doc["components"]["schemas"]["openapi_test.v1.Node"]["properties"]
    assert node["children"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/openapi_test.v1.Node"},
    }
    assert node["labels"] == {
        "type": "object",
        "additionalProperties": {
            "type": ["string", "integer"],
            "format": "int64",
            "minimum": 0,
            "maximum": 2**64 - 1,
            "pattern": "^[0-9]+$",
        },
    }
    assert node["color"] == {"type": "string", "enum": ["COLOR_UNSPECIFIED", "COLOR_RED"]}
    assert node["note"] == {"type": "string", "pattern": NUL_FREE}
    assert node["payload"] == {"type": "string", "format": "byte"}
    # Map entries are not messages of their own in JSON.
    assert "openapi_test.v1.Node.LabelsEntry" not in doc["components"]["schemas"]
    assert set(_refs(doc)) <= {
        f"#/components/schemas/{name}" for name in doc["components"]["schemas"]
    }
