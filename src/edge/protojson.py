"""Proto3 JSON printing, compiled once per message type.

`json_format.MessageToDict` walks the descriptor on every call, a large part of the
edge's per-request cost; this printer resolves each field's rule once and produces
the same output (a test checks it against json_format for every message of the
contract). Types it does not specialise (well-known types, floats) go to json_format.
"""

from __future__ import annotations

import base64
import keyword
from collections.abc import Callable
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

# JSON values and protobuf field values are dynamic by nature: Any, under a name.
Json = Any
FieldValue = Any
Printer = Callable[[Message], Json]

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_FLOATS = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}
_printers: dict[str, Printer] = {}


def to_dict(message: Message) -> Json:
    return printer(cast(Descriptor, message.DESCRIPTOR))(message)


def _reference(message: Message) -> Json:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def printer(descriptor: Descriptor) -> Printer:
    name = descriptor.full_name
    found = _printers.get(name)
    if found is None:

        def late(message: Message) -> Json:
            return _printers[name](message)

        # Registered before the fields are compiled, so recursive types terminate.
        _printers[name] = late
        found = _printers[name] = _compile(descriptor)
    return found


def _compile(descriptor: Descriptor) -> Printer:
    """Generates one straight-line function per message type, as dataclasses does
    for __init__: no per-field loop, closure call or HasField on every oneof member."""
    if descriptor.full_name.startswith("google.protobuf.") or any(
        f.type in _FLOATS for f in descriptor.fields
    ):
        return _reference
    namespace: dict[str, Any] = {}
    lines = ["def print_message(m):", "    out = {}"]
    for index, field in enumerate(descriptor.fields):
        oneof = field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            continue  # printed below, per oneof
        value = _expression(field, f"m.{field.name}", f"c{index}", namespace)
        if field.has_presence:
            lines.append(f"    if m.HasField({field.name!r}): out[{field.name!r}] = {value}")
        else:
            lines.append(f"    out[{field.name!r}] = {value}")
    for index, oneof in enumerate(descriptor.oneofs):
        if oneof.name.startswith("_"):  # proto3 `optional` is a synthetic oneof
            continue
        namespace[f"o{index}"] = {f.name: _scalar(f) for f in oneof.fields}
        lines.append(f"    w = m.WhichOneof({oneof.name!r})")
        lines.append(f"    if w is not None: out[w] = o{index}[w](getattr(m, w))")
    lines.append("    return out")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from our descriptors only
    return cast(Printer, namespace["print_message"])


def _expression(field: FieldDescriptor, access: str, name: str, namespace: dict[str, Any]) -> str:
    """Python source for a field's JSON value; helpers go into the namespace."""
    if keyword.iskeyword(field.name):
        access = f"getattr(m, {field.name!r})"
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        entry = field.message_type
        namespace[f"{name}k"] = _map_key(entry.fields_by_name["key"])
        namespace[f"{name}v"] = _scalar(entry.fields_by_name["value"])
        return f"{{{name}k(k): {name}v(v) for k, v in {access}.items()}}"
    convert = _scalar(field)
    if convert is _identity:
        return f"list({access})" if field.is_repeated else access
    namespace[name] = convert
    return f"[{name}(x) for x in {access}]" if field.is_repeated else f"{name}({access})"


def _scalar(field: FieldDescriptor) -> Callable[[FieldValue], Json]:
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return lambda value: value.ToJsonString()
        return printer(field.message_type)
    if field.enum_type is not None:
        names = {v.number: v.name for v in field.enum_type.values}
        return lambda value: names.get(value, value)
    if field.type in _INT64:
        return str
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda value: base64.b64encode(value).decode()
    return _identity


def _map_key(field: FieldDescriptor) -> Callable[[FieldValue], str]:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return lambda key: "true" if key else "false"
    return str


def _identity(value: FieldValue) -> Json:
    return value
