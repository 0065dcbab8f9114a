"""A request's JSON checked against its message, with messages in API terms.

protobuf's own parse errors name internal message types, oneofs and Python exceptions
(`expected string or bytes-like object, got 'int'`), and some inputs make it raise
other exceptions (an integer too large for a float in a `google.protobuf.Value`).
This walk runs first and says what is wrong as the client wrote it: the field's name as
sent (`attachments[0].type`) and the JSON it expects. It follows proto3 JSON: field
names or their lowerCamel JSON names, null as "not set", numbers as numbers or strings.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import sys

from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from edge.protojson import Json


class InvalidJson(ValueError):
    """The request's JSON does not fit the message; the message says where and why."""


_INT_RANGE = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}
_FLOAT_WORDS = {"NaN", "Infinity", "-Infinity"}
_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_MAX_DIGITS = 40  # far beyond any 64-bit value; int() of more is wasted work


def check(data: Json, descriptor: Descriptor, path: str = "") -> None:
    """Raises InvalidJson when `data` (a JSON object) cannot be `descriptor`'s message."""
    if not isinstance(data, dict):
        raise InvalidJson(f"Invalid value for {path}: expected an object")
    by_name = {**{f.json_name: f for f in descriptor.fields}, **descriptor.fields_by_name}
    members: dict[str, str] = {}  # a oneof's first member set, by oneof
    seen: set[str] = set()
    for name, value in data.items():
        where = f"{path}.{name}" if path else name
        fd = by_name.get(name)
        if fd is None:
            raise InvalidJson(f"Unknown field {where!r}")
        if fd.name in seen:  # both `file_name` and `fileName`
            raise InvalidJson(f"Field {where!r} is given twice")
        seen.add(fd.name)
        if value is None and not _is_value(fd):
            continue  # null: not set
        oneof = fd.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            other = members.setdefault(oneof.full_name, name)
            if other != name:
                raise InvalidJson(f"Only one of {other!r} and {where!r} may be set")
        _field(fd, value, where)


def _is_value(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.full_name == "google.protobuf.Value"


def _field(fd: FieldDescriptor, value: Json, where: str) -> None:
    entry = fd.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if not isinstance(value, dict):
            raise InvalidJson(f"Invalid value for {where}: expected an object")
        value_fd = entry.fields_by_name["value"]
        for key, item in value.items():
            _single(value_fd, item, f"{where}[{key!r}]")
        return
    if fd.is_repeated:
        if not isinstance(value, list):
            raise InvalidJson(f"Invalid value for {where}: expected an array")
        for index, item in enumerate(value):
            _single(fd, item, f"{where}[{index}]")
        return
    _single(fd, value, where)


def _single(fd: FieldDescriptor, value: Json, where: str) -> None:
    if fd.message_type is not None:
        _message(fd.message_type, value, where)
    elif fd.enum_type is not None:
        names = [v.name for v in fd.enum_type.values]
        numbers = {v.number for v in fd.enum_type.values}
        if not (value in names or (_is_int(value) and value in numbers)):
            raise InvalidJson(f"Invalid value for {where}: expected one of {', '.join(names)}")
    elif fd.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise InvalidJson(f"Invalid value for {where}: expected true or false")
    elif fd.type in (FieldDescriptor.TYPE_STRING,):
        if not isinstance(value, str):
            raise InvalidJson(f"Invalid value for {where}: expected a string")
    elif fd.type == FieldDescriptor.TYPE_BYTES:
        _base64(value, where)
    elif fd.type in _FLOATS:
        _float(value, where)
    else:
        _integer(fd, value, where)


def _message(descriptor: Descriptor, value: Json, where: str) -> None:
    name = descriptor.full_name
    if name == "google.protobuf.Value":
        _any_json(value, where)
    elif name == "google.protobuf.Struct":
        if not isinstance(value, dict):
            raise InvalidJson(f"Invalid value for {where}: expected an object")
        _any_json(value, where)
    elif name == "google.protobuf.ListValue":
        if not isinstance(value, list):
            raise InvalidJson(f"Invalid value for {where}: expected an array")
        _any_json(value, where)
    elif name == "google.protobuf.Timestamp":
        _parsed(timestamp_pb2.Timestamp(), value, where, "a timestamp such as 2026-01-31T12:00:00Z")
    elif name == "google.protobuf.Duration":
        _parsed(duration_pb2.Duration(), value, where, "a duration in seconds such as 3600s")
    elif name == "google.protobuf.FieldMask":
        if not isinstance(value, str):
            raise InvalidJson(f"Invalid value for {where}: expected a comma-separated field list")
    elif name.startswith("google.protobuf."):
        return  # other well-known types: json_format's own rules
    else:
        check(value, descriptor, where)


def _parsed(
    target: timestamp_pb2.Timestamp | duration_pb2.Duration, value: Json, where: str, expected: str
) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError
        target.FromJsonString(value)
    except ValueError:
        raise InvalidJson(f"Invalid value for {where}: expected {expected}") from None


def _any_json(value: Json, where: str) -> None:
    """Any JSON value, with numbers a double can hold (a Value keeps numbers as doubles)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not _double(item):
            raise InvalidJson(f"Invalid value for {where}: the number is out of range")


def _double(value: Json) -> bool:
    """False for a JSON number no double can hold (json.loads makes ints of any size)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True  # not a number
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max
    return math.isfinite(value)


def _is_int(value: Json) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(fd: FieldDescriptor, value: Json, where: str) -> None:
    number: int | None = None
    if _is_int(value):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _NUMBER.match(value) and len(value) <= _MAX_DIGITS:
        as_float = float(value)
        if as_float.is_integer():
            number = int(value) if _INTEGER.match(value) else int(as_float)
    if number is None:
        raise InvalidJson(f"Invalid value for {where}: expected an integer")
    low, high = _INT_RANGE.get(fd.type, (-(2**63), 2**63 - 1))
    if not low <= number <= high:
        raise InvalidJson(f"Invalid value for {where}: must be from {low} to {high}")


def _float(value: Json, where: str) -> None:
    if isinstance(value, str):
        if value in _FLOAT_WORDS or (_NUMBER.match(value) and len(value) <= _MAX_DIGITS):
            return
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if _double(value):
            return
        raise InvalidJson(f"Invalid value for {where}: the number is out of range")
    raise InvalidJson(f"Invalid value for {where}: expected a number")


def _base64(value: Json, where: str) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError
        base64.b64decode(value.replace("-", "+").replace("_", "/") + "==")
    except (ValueError, binascii.Error):
        raise InvalidJson(f"Invalid value for {where}: expected base64 text") from None
