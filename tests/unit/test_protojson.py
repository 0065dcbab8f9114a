"""The compiled JSON printer says exactly what json_format says, for every message."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from chronicle import contract
from chronicle.v1 import presentation_pb2
from edge import protojson

_counter = itertools.count(1)


def _messages() -> list[Descriptor]:
    seen: dict[str, Descriptor] = {}

    def visit(descriptor: Descriptor) -> None:
        if descriptor.full_name in seen:
            return
        seen[descriptor.full_name] = descriptor
        for field in descriptor.fields:
            if field.message_type is not None:
                visit(field.message_type)

    for service in contract.SERVICES:
        for method in service.methods:
            visit(method.input_type)
            visit(method.output_type)
    return list(seen.values())


def _sample(field: FieldDescriptor) -> Any:
    n = next(_counter)
    return {
        FieldDescriptor.TYPE_STRING: f'text {n} ✓ "quoted"',
        FieldDescriptor.TYPE_BOOL: n % 2 == 0,
        FieldDescriptor.TYPE_BYTES: bytes([n % 256, 0, 255]),
        FieldDescriptor.TYPE_INT64: -(2**40) - n,
        FieldDescriptor.TYPE_UINT64: 2**63 + n,
        FieldDescriptor.TYPE_ENUM: (
            field.enum_type.values[-1].number if field.enum_type is not None else 0
        ),
    }.get(field.type, n)


_WELL_KNOWN = {
    "google.protobuf.Timestamp": lambda m: m.FromSeconds(1_780_000_000 + next(_counter)),
    "google.protobuf.Duration": lambda m: m.FromSeconds(90),
    "google.protobuf.FieldMask": lambda m: m.paths.extend(["title", "is_public"]),
    "google.protobuf.Value": lambda m: setattr(m, "string_value", "auto"),
    "google.protobuf.Any": lambda m: m.Pack(presentation_pb2.FileDownload(file_name="d.pdf")),
}


def _fill_message_field(message: Message, field: FieldDescriptor, depth: int, choice: int) -> None:
    name = field.message_type.full_name
    if name in _WELL_KNOWN and field.is_repeated:
        _WELL_KNOWN[name](getattr(message, field.name).add())
    elif name in _WELL_KNOWN:
        _WELL_KNOWN[name](getattr(message, field.name))
    elif depth < 3 and field.is_repeated:
        for i in range(2):
            fill(getattr(message, field.name).add(), depth + 1, i)
    elif depth < 3:
        fill(getattr(message, field.name), depth + 1, choice)


def fill(message: Message, depth: int = 0, oneof_choice: int = 0) -> Message:
    """Sets every field (one member per oneof, chosen by oneof_choice), recursively."""
    skipped = {
        f.name
        for o in message.DESCRIPTOR.oneofs
        if not o.name.startswith("_")  # proto3 `optional` is a synthetic oneof
        for i, f in enumerate(o.fields)
        if i != oneof_choice % len(o.fields)
    }
    for field in message.DESCRIPTOR.fields:
        if field.name in skipped:
            continue
        if field.message_type is not None:
            _fill_message_field(message, field, depth, oneof_choice)
        elif field.is_repeated:
            getattr(message, field.name).extend([_sample(field), _sample(field)])
        else:
            setattr(message, field.name, _sample(field))
    return message


# Well-known types are printed by json_format itself: only ours are compared.
MESSAGES = [d for d in _messages() if not d.full_name.startswith("google.protobuf.")]


def reference(message: Message) -> Any:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def test_the_contract_has_messages_to_check() -> None:
    assert {
        "chronicle.v1.Presentation",
        "chronicle.v1.ApiKey",
        "chronicle.v1.GenerationStatus",
    } <= {d.full_name for d in MESSAGES}


@pytest.mark.parametrize("descriptor", MESSAGES, ids=lambda d: d.full_name)
def test_empty_and_filled_messages_print_like_json_format(descriptor: Descriptor) -> None:
    cls = message_factory.GetMessageClass(descriptor)
    empty = cls()
    assert protojson.to_dict(empty) == reference(empty)
    for choice in range(3):
        filled = fill(cls(), oneof_choice=choice)
        assert protojson.to_dict(filled) == reference(filled)
