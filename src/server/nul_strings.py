"""NUL (U+0000) in any string of a request is refused before a servicer runs: PostgreSQL
cannot store it in text (it failed with a 500, or later in a job) while SQLite can, so
without this one check the two databases would answer the same request differently."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from server import errors

_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE
# google.protobuf.Value and friends: a path names the field that holds them, not their
# internals (`section_count`, not `section_count.string_value`).
_TRANSPARENT = frozenset(
    {"google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.Struct"}
)


def refuse_nul(request: Message) -> None:
    """InvalidArgument naming the first string field (as `attachments[0].url`) that holds
    a NUL; map keys are not echoed, as a client may put anything there, even a key."""
    path = _first_nul(request, "")
    if path is not None:
        raise errors.InvalidArgument(f"{path or 'A field'} must not contain a NUL character")


def _first_nul(message: Message, prefix: str) -> str | None:
    transparent = message.DESCRIPTOR.full_name in _TRANSPARENT
    for field, value in message.ListFields():
        path = prefix if transparent else f"{prefix}.{field.name}" if prefix else field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found = _in_map(field, value, path)
        elif field.is_repeated:
            found = next(
                (
                    hit
                    for i, item in enumerate(value)
                    if (hit := _in_value(field, item, path if transparent else f"{path}[{i}]"))
                    is not None
                ),
                None,
            )
        else:
            found = _in_value(field, value, path)
        if found is not None:
            return found
    return None


def _in_map(field: FieldDescriptor, value: object, path: str) -> str | None:
    assert field.message_type is not None
    entry = field.message_type.fields_by_name["value"]
    for key, item in value.items():  # type: ignore[attr-defined]
        if isinstance(key, str) and "\x00" in key:
            return f"A key of {path}"
        found = _in_value(entry, item, path)
        if found is not None:
            return found
    return None


def _in_value(field: FieldDescriptor, value: object, path: str) -> str | None:
    if field.type == _STRING:
        return path if "\x00" in value else None  # type: ignore[operator]
    if field.type == _MESSAGE:
        return _first_nul(value, path)  # type: ignore[arg-type]
    return None
