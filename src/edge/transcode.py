"""HTTP ↔ protobuf per `google/api/http.proto`: path templates, path/query/body mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import orjson
from google.protobuf import field_mask_pb2, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from chronicle import contract
from chronicle.contract import HttpBinding
from edge import protojson, request_json
from edge.protojson import Json


class TranscodeError(ValueError):
    """The HTTP request cannot become the RPC's request message (a 400)."""


_SEGMENT = {"*": "[^/]+", "**": ".+"}
_WEIGHT = {"*": 1, "**": 0}


def _split_segments(text: str) -> list[str]:
    """Splits on '/' outside braces: `a/{name=b/*}/c` → [a, {name=b/*}, c]."""
    segments, depth, current = [], 0, ""
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise ValueError(f"unbalanced braces in path template {text!r}")
    segments.append(current)
    return segments


@dataclass(frozen=True)
class PathTemplate:
    """A compiled http rule path: `/v1/{name=shelves/*}/books/{book}:verb`."""

    template: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]  # field paths, in order
    # Per segment, 2 literal, 1 one-segment wildcard, 0 `**` (and 2 for a `:verb`): of
    # the templates matching a path, the greatest shape wins, as in grpc-gateway.
    shape: tuple[int, ...]

    @classmethod
    def parse(cls, template: str) -> PathTemplate:
        if not template.startswith("/"):
            raise ValueError(f"path template must start with '/': {template!r}")
        path, verb = template, ""
        last = template.rsplit("/", 1)[-1]
        if ":" in last and "}" not in last.rsplit(":", 1)[1]:
            path, verb = template.rsplit(":", 1)
        pattern: list[str] = []
        variables: list[str] = []
        shape: list[int] = []
        for segment in _split_segments(path[1:]):
            if segment.startswith("{") and segment.endswith("}"):
                name, _, sub = segment[1:-1].partition("=")
                shape.extend(_WEIGHT.get(part, 2) for part in (sub or "*").split("/"))
                sub_regex = "/".join(
                    _SEGMENT.get(part, re.escape(part)) for part in (sub or "*").split("/")
                )
                group = f"v{len(variables)}"
                variables.append(name.strip())
                pattern.append(f"(?P<{group}>{sub_regex})")
            elif segment in _SEGMENT:
                shape.append(_WEIGHT[segment])
                pattern.append(_SEGMENT[segment])
            else:
                shape.append(2)
                pattern.append(re.escape(segment))
        suffix = f":{re.escape(verb)}" if verb else ""
        regex = re.compile("^/" + "/".join(pattern) + suffix + "$")
        shape += [2] if verb else []
        return cls(template, regex, tuple(variables), tuple(shape))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: found.group(f"v{i}") for i, name in enumerate(self.variables)}


@dataclass(frozen=True)
class Route:
    binding: HttpBinding
    template: PathTemplate
    request_class: type[Message]
    path_fields: frozenset[str] = field(default_factory=frozenset)

    @property
    def http_body(self) -> bool:
        """The reply is raw bytes (google.api.HttpBody), not JSON."""
        return contract.returns_http_body(self.binding.method)


class RouteTable:
    """All routes of the given bindings; one lookup for every request."""

    def __init__(self, bindings: Iterable[HttpBinding]) -> None:
        self._routes: list[Route] = []
        for binding in bindings:
            template = PathTemplate.parse(binding.path)
            self._routes.append(
                Route(
                    binding,
                    template,
                    message_factory.GetMessageClass(binding.method.input_type),
                    frozenset(v.split(".")[0] for v in template.variables),
                )
            )
        # The most specific template first: literal segments before variables.
        self._routes.sort(key=lambda r: r.template.shape, reverse=True)

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def match(self, verb: str, path: str) -> tuple[Route, dict[str, str]] | list[str]:
        """The route and its path variables, or the verbs the path allows (maybe none).

        Only the most specific template matching the path counts: a literal segment wins
        over a variable (`/presentations/generate` is never an id), whatever the verb."""
        allowed: list[str] = []
        best: tuple[int, ...] | None = None
        for route in self._routes:
            if best is not None and route.template.shape != best:
                break  # sorted: the rest are less specific
            params = route.template.match(path)
            if params is None:
                continue
            best = route.template.shape
            if route.binding.verb == verb:
                return route, params
            allowed.append(route.binding.verb)
        return allowed


def _field(descriptor: Descriptor, path: str) -> tuple[list[str], FieldDescriptor]:
    parts = path.split(".")
    current: Descriptor | None = descriptor
    found: FieldDescriptor | None = None
    for part in parts:
        found = current.fields_by_name.get(part) if current is not None else None
        if found is None:
            raise TranscodeError(f"unknown parameter {path!r}")
        current = found.message_type
    assert found is not None
    return parts, found


def _set_nested(data: dict[str, Json], parts: list[str], value: Json) -> None:
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _query_value(fd: FieldDescriptor, name: str, values: list[str]) -> Json:
    def one(text: str) -> Json:
        if fd.type == FieldDescriptor.TYPE_BOOL:
            if text not in ("true", "false"):
                raise TranscodeError(f"{name}: expected true or false")
            return text == "true"
        return text  # proto3 JSON accepts numbers and enums as strings

    if fd.is_repeated:
        return [one(v) for v in values]
    if len(values) > 1:
        raise TranscodeError(f"{name}: given more than once")
    return one(values[0])


def parse_json_object(body: bytes) -> dict[str, Json]:
    data = _parse_json(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise TranscodeError("The JSON body must be an object")
    return data


def _no_constants(name: str) -> Json:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _parse_json(body: bytes) -> Json:
    """The body's JSON; a message that says where it is malformed, not Python's words."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise TranscodeError(f"Malformed JSON body at {where}") from None
    except UnicodeDecodeError:
        raise TranscodeError("Malformed JSON body: it is not UTF-8 text") from None
    except ValueError:  # a constant, or an integer past Python's digit limit
        raise TranscodeError(
            "Malformed JSON body: a number is not valid JSON or too long"
        ) from None
    except RecursionError:
        raise TranscodeError("The JSON body is nested too deeply") from None


def build_request(
    route: Route,
    path_params: dict[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> Message:
    """The RPC request: body first, then query, then path variables (which win)."""
    descriptor = cast(Descriptor, route.request_class.DESCRIPTOR)
    data: dict[str, Json] = {}
    body_field = route.binding.body
    if body_field == "*":
        data = {k: v for k, v in parse_json_object(body).items() if k not in route.path_fields}
    elif body_field:
        data[body_field] = _parse_json(body) if body.strip() else {}

    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name, []).append(value)
    if grouped and body_field == "*":
        raise TranscodeError(f"unexpected query parameter {next(iter(grouped))!r}")
    for name, values in grouped.items():
        parts, fd = _field(descriptor, name)
        if parts[0] in route.path_fields or parts[0] == body_field:
            raise TranscodeError(f"{name!r} cannot be given as a query parameter")
        if fd.message_type is not None and fd.message_type.full_name not in (
            "google.protobuf.FieldMask",
            "google.protobuf.Timestamp",
            "google.protobuf.Duration",
        ):
            raise TranscodeError(f"{name!r} cannot be given as a query parameter")
        _set_nested(data, parts, _query_value(fd, name, values))

    for name, value in path_params.items():
        parts, _ = _field(descriptor, name)
        _set_nested(data, parts, value)

    message = route.request_class()
    if not data:  # nothing to parse (GET /caller, say): ParseDict is pure Python
        return message
    try:
        request_json.check(data, descriptor)
        json_format.ParseDict(data, message)
    except request_json.InvalidJson as exc:
        raise TranscodeError(str(exc)) from None
    except RecursionError:
        raise TranscodeError("The JSON body is nested too deeply") from None
    except (json_format.ParseError, ValueError, TypeError, OverflowError):
        # What the check above let through: protobuf's words name internal types.
        raise TranscodeError("The request does not match the API's fields") from None
    _infer_update_mask(route, message, data)
    return message


def _infer_update_mask(route: Route, message: Message, data: dict[str, Json]) -> None:
    """PATCH with a body: the fields present in the body are the ones to update (AIP-134)."""
    fd = message.DESCRIPTOR.fields_by_name.get("update_mask")
    if (
        route.binding.verb != "PATCH"
        or fd is None
        or fd.message_type is None
        or fd.message_type.full_name != "google.protobuf.FieldMask"
        or "update_mask" in data
    ):
        return
    paths = sorted(k for k in data if k not in route.path_fields and k != "update_mask")
    message.update_mask.CopyFrom(  # type: ignore[attr-defined]
        field_mask_pb2.FieldMask(paths=paths)
    )


def to_json(message: Message, response_body: str = "") -> bytes:
    """Proto JSON with snake_case names; fields without presence always printed."""
    target: Message = getattr(message, response_body) if response_body else message
    return orjson.dumps(protojson.to_dict(target))
