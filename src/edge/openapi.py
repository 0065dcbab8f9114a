"""OpenAPI 3.1 document of the REST edge, generated from the protobuf descriptors and the
rules the server enforces on them (edge.request_rules): REQUIRED fields, limits, choices,
no NUL in any string and no unknown field in any object."""

from __future__ import annotations

import copy
import functools
import re
from http import HTTPStatus
from typing import Any

# google.api ships .pyi files but no py.typed marker.
from google.api import field_behavior_pb2  # type: ignore[import-untyped, unused-ignore]
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)

from chronicle import contract
from chronicle.contract import HttpBinding
from edge.request_rules import MESSAGE_RULES, RULES

Schema = dict[str, Any]  # a JSON Schema / OpenAPI object: JSON, dynamic by nature

_REF = "#/components/schemas/"
_JSON = "application/json"
# `{name=projects/*}` carries a pattern that OpenAPI cannot express: only `{name}` stays.
_PATH_VAR = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")
# Words of a CamelCase name, acronyms kept whole: `GetHTTPRule` -> Get, HTTP, Rule.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")

_INT32: Schema = {
    "type": "integer",
    "format": "int32",
    "minimum": -(2**31),
    "maximum": 2**31 - 1,
}
# Proto3 JSON prints 64-bit integers as strings but parses numbers too.
_INT64: Schema = {
    "type": ["string", "integer"],
    "format": "int64",
    "minimum": -(2**63),
    "maximum": 2**63 - 1,
    "pattern": r"^-?[0-9]+$",
}
_UINT32: Schema = {**_INT32, "minimum": 0, "maximum": 2**32 - 1}
_UINT64: Schema = {**_INT64, "minimum": 0, "maximum": 2**64 - 1, "pattern": r"^[0-9]+$"}
# The server refuses NUL (U+0000) in every string of a request (server.nul_strings).
NUL_FREE = r"^[^\u0000]*$"

_SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
}

# Well-known types have their own JSON forms, so they are inlined rather than referenced.
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "description": "Seconds with an `s` suffix, e.g. `3.5s`.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated field paths.",
    },
    "google.protobuf.Empty": {"type": "object", "properties": {}},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
# Only these message types print as a single JSON string, so only they fit in a query.
_QUERYABLE = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
_WRAPPERS_FILE = "google/protobuf/wrappers.proto"

_ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "status"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "status": {"type": "integer"},
            },
        }
    },
}
_SECURITY_SCHEMES: Schema = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
}


def _behaviors(field: FieldDescriptor) -> set[int]:
    return set(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def _is_required(field: FieldDescriptor) -> bool:
    # A oneof member, proto3 `optional` fields included (synthetic oneofs), can't be required.
    return field_behavior_pb2.REQUIRED in _behaviors(field) and field.containing_oneof is None


def rule_for(field: FieldDescriptor) -> Schema:
    """The server's rules for `field`, as schema keywords ({} when it has none)."""
    message = field.containing_type
    return RULES.get(f"{message.name}.{field.name}", {}) if message is not None else {}


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_wrapper(message: Descriptor) -> bool:
    return message.file.name == _WRAPPERS_FILE


def _is_queryable(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is None or message.full_name in _QUERYABLE or _is_wrapper(message)


class _Components:
    """Collects a schema for every message reachable from the routes, keyed by full name."""

    def __init__(self, ref_prefix: str = _REF) -> None:
        self.schemas: dict[str, Schema] = {}
        self._prefix = ref_prefix  # where the schemas are referred to: OpenAPI or $defs

    def ref(self, message: Descriptor) -> Schema:
        if message.full_name in _WELL_KNOWN:
            return copy.deepcopy(_WELL_KNOWN[message.full_name])
        if _is_wrapper(message):
            return self.field(message.fields_by_name["value"])
        if message.full_name not in self.schemas:
            # Placeholder first, so a recursive message meets its own name and stops.
            self.schemas[message.full_name] = {}
            self.schemas[message.full_name] = self.message(message)
        return {"$ref": self._prefix + message.full_name}

    def message(self, message: Descriptor, exclude: frozenset[str] = frozenset()) -> Schema:
        fields = [field for field in message.fields if field.name not in exclude]
        schema: Schema = {
            "type": "object",
            "properties": {field.name: self.field(field) for field in fields},
            "additionalProperties": False,  # the edge refuses an unknown field
        }
        required = [field.name for field in fields if _is_required(field)]
        if required:
            schema["required"] = required
        schema.update(copy.deepcopy(MESSAGE_RULES.get(message.name, {})))
        return schema

    def field(self, field: FieldDescriptor) -> Schema:
        schema = self._value(field)
        if field.type == FieldDescriptor.TYPE_STRING:
            schema["pattern"] = NUL_FREE
        rules = copy.deepcopy(rule_for(field))
        if field.is_repeated and not _is_map(field):
            schema.update(rules.pop("items", {}))
            schema = {"type": "array", "items": schema}
        schema.update(rules)
        if "enum" in schema:  # the choices say it all
            schema.pop("pattern", None)
        behaviors = _behaviors(field)
        if field_behavior_pb2.OUTPUT_ONLY in behaviors:
            schema["readOnly"] = True
        if field_behavior_pb2.INPUT_ONLY in behaviors:
            schema["writeOnly"] = True
        return schema

    def _value(self, field: FieldDescriptor) -> Schema:
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if field.message_type is None:
            return copy.deepcopy(_SCALARS[field.type])
        if _is_map(field):
            # JSON object keys are strings whatever the proto key type.
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.field(value)}
        return self.ref(field.message_type)


def _openapi_path(path: str) -> str:
    return _PATH_VAR.sub(lambda match: "{" + match.group(1) + "}", path)


def _path_vars(path: str) -> list[str]:
    return _PATH_VAR.findall(path)


@functools.cache
def _comments(file: FileDescriptor) -> dict[tuple[int, ...], str]:
    # Generated code and upb pools drop source info; a pure-python pool fed a descriptor set
    # built with --include_source_info keeps it.
    proto = descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb)
    return {
        tuple(location.path): location.leading_comments.strip()
        for location in proto.source_code_info.location
        if location.leading_comments
    }


def _summary(method: MethodDescriptor) -> str:
    service = method.containing_service
    # 6 = FileDescriptorProto.service, 2 = ServiceDescriptorProto.method.
    comment = _comments(service.file).get((6, service.index, 2, method.index), "")
    if comment:
        return " ".join(comment.split())
    words = _WORDS.findall(method.name) or [method.name]
    rest = [word if len(word) > 1 and word.isupper() else word.lower() for word in words[1:]]
    return " ".join([words[0], *rest])


# Every POST takes one (docs/decisions/027-idempotency-keys.md); the server enforces its shape.
_IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "Retry safely: the same key with the same request within 24 h returns "
    "the first answer without doing the work again.",
    "schema": {"type": "string", "pattern": f"^{contract.IDEMPOTENCY_KEY_PATTERN}$"},
}


def _parameters(binding: HttpBinding, components: _Components) -> list[Schema]:
    path_vars = _path_vars(binding.path)
    request = binding.method.input_type
    parameters: list[Schema] = [
        {
            "name": var,
            "in": "path",
            "required": True,
            "schema": components.field(request.fields_by_name[var])
            if var in request.fields_by_name
            else {"type": "string", "minLength": 1},
        }
        for var in path_vars
    ]
    if binding.verb == "POST":
        parameters.append(copy.deepcopy(_IDEMPOTENCY_KEY))
    if binding.body == "*":
        return parameters
    # Per google.api.http, fields bound to neither path nor body travel in the query.
    for field in binding.method.input_type.fields:
        if field.name in path_vars or field.name == binding.body or not _is_queryable(field):
            continue
        parameter: Schema = {"name": field.name, "in": "query", "schema": components.field(field)}
        if _is_required(field):
            parameter["required"] = True
        parameters.append(parameter)
    return parameters


def _request_body(binding: HttpBinding, components: _Components) -> Schema | None:
    request = binding.method.input_type
    if not binding.body:
        return None
    if binding.body != "*":
        schema = components.field(request.fields_by_name[binding.body])
    else:
        bound = frozenset(_path_vars(binding.path)) & frozenset(request.fields_by_name)
        # A $ref can't drop properties, so a request with path-bound fields is inlined.
        schema = components.message(request, bound) if bound else components.ref(request)
    return {"required": True, "content": {_JSON: {"schema": schema}}}


def _responses(binding: HttpBinding, components: _Components) -> Schema:
    response = binding.method.output_type
    if contract.returns_http_body(binding.method):  # the bytes themselves, not JSON
        binary = {"schema": {"type": "string", "format": "binary"}}
        content = {kind: binary for kind in contract.http_body_types(binding.method) or ["*/*"]}
    elif binding.response_body:
        field_schema = components.field(response.fields_by_name[binding.response_body])
        content = {_JSON: {"schema": field_schema}}
    else:
        content = {_JSON: {"schema": components.ref(response)}}
    return {
        str(binding.success_code): {
            "description": HTTPStatus(binding.success_code).phrase,
            "content": content,
        },
        "default": {
            "description": "An error.",
            "content": {_JSON: {"schema": {"$ref": _REF + "Error"}}},
        },
    }


def _operation(binding: HttpBinding, operation_id: str, components: _Components) -> Schema:
    operation: Schema = {
        "operationId": operation_id,
        "summary": _summary(binding.method),
        "tags": [binding.method.containing_service.name],
    }
    parameters = _parameters(binding, components)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(binding, components)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = _responses(binding, components)
    return operation


def build_openapi(
    bindings: list[HttpBinding], *, title: str = "Chronicle API", version: str = "v1"
) -> Schema:
    """The OpenAPI 3.1 document of the given routes, every schema derived from the protos."""
    components = _Components()
    paths: dict[str, Schema] = {}
    operation_ids: set[str] = set()
    tags: dict[str, None] = {}
    for binding in bindings:
        # Additional bindings share their method's name; operationIds must stay unique.
        operation_id = binding.method.name
        suffix = 2
        while operation_id in operation_ids:
            operation_id, suffix = f"{binding.method.name}{suffix}", suffix + 1
        operation_ids.add(operation_id)
        tags[binding.method.containing_service.name] = None
        item = paths.setdefault(_openapi_path(binding.path), {})
        item[binding.verb.lower()] = _operation(binding, operation_id, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {**dict(sorted(components.schemas.items())), "Error": copy.deepcopy(_ERROR)},
            "securitySchemes": copy.deepcopy(_SECURITY_SCHEMES),
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


def json_schema(message: Descriptor) -> Schema:
    """A message's JSON Schema (2020-12), standing alone: the schemas it refers to in
    `$defs`. With the same rules as the OpenAPI document (MCP tools use it)."""
    components = _Components("#/$defs/")
    schema = components.message(message)
    if components.schemas:
        schema["$defs"] = components.schemas
    return schema
