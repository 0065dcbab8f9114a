"""Path templates and the HTTP ↔ protobuf mapping of google/api/http.proto."""

from __future__ import annotations

import json

import pytest

from chronicle import contract
from chronicle.v1 import presentation_service_pb2 as pres_pb
from edge.transcode import (
    PathTemplate,
    RouteTable,
    TranscodeError,
    build_request,
    to_json,
)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/api/v1/presentations/{id}", "/api/v1/presentations/pres_1", {"id": "pres_1"}),
        ("/api/v1/presentations/{id}", "/api/v1/presentations/a/b", None),
        ("/api/v1/presentations/{id}", "/api/v1/presentations/", None),
        ("/api/v1/api-keys/{id}:revoke", "/api/v1/api-keys/key_1:revoke", {"id": "key_1"}),
        ("/api/v1/api-keys/{id}:revoke", "/api/v1/api-keys/key_1", None),
        ("/v1/{name=shelves/*}/books", "/v1/shelves/s1/books", {"name": "shelves/s1"}),
        ("/v1/{name=shelves/*}/books", "/v1/shelves/s1/x/books", None),
        ("/v1/{path=**}", "/v1/a/b/c", {"path": "a/b/c"}),
        ("/v1/*/items/{item.id}", "/v1/x/items/7", {"item.id": "7"}),
        (
            "/api/v1/presentations/generate/{generation_id}/status",
            "/api/v1/presentations/generate/gen_1/status",
            {"generation_id": "gen_1"},
        ),
    ],
)
def test_path_templates_match_per_http_proto(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert PathTemplate.parse(template).match(path) == expected


def test_unbalanced_template_is_refused() -> None:
    with pytest.raises(ValueError, match="unbalanced"):
        PathTemplate.parse("/v1/{name=a/*")


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable(contract.http_bindings())


def test_route_table_covers_every_binding_and_prefers_literals(table: RouteTable) -> None:
    assert len(table.routes) == len(contract.http_bindings())
    route, params = table.match("POST", "/api/v1/presentations/generate")  # type: ignore[misc]
    assert route.binding.method.name == "GeneratePresentation" and params == {}
    # A literal segment wins over a variable whatever the verb: never an id (405, Allow POST).
    assert table.match("GET", "/api/v1/presentations/generate") == ["POST"]
    assert table.match("DELETE", "/api/v1/presentations/generate") == ["POST"]
    route, params = table.match("GET", "/api/v1/presentations/generated")  # type: ignore[misc]
    assert route.binding.method.name == "GetPresentation" and params == {"id": "generated"}


def test_route_table_reports_allowed_verbs(table: RouteTable) -> None:
    assert sorted(table.match("PUT", "/api/v1/presentations/p1")) == [  # type: ignore[arg-type]
        "DELETE",
        "GET",
        "PATCH",
    ]
    assert table.match("GET", "/nowhere") == []


def _route(table: RouteTable, verb: str, path: str) -> tuple[object, dict[str, str]]:
    found = table.match(verb, path)
    assert not isinstance(found, list)
    return found


def test_path_variables_win_over_the_body(table: RouteTable) -> None:
    route, params = _route(table, "PATCH", "/api/v1/presentations/pres_1")
    body = json.dumps({"id": "pres_other", "title": "T"}).encode()
    request = build_request(route, params, [], body)  # type: ignore[arg-type]
    assert isinstance(request, pres_pb.UpdatePresentationRequest)
    assert request.id == "pres_1" and request.title == "T"


def test_patch_infers_the_update_mask_from_the_body_keys(table: RouteTable) -> None:
    route, params = _route(table, "PATCH", "/api/v1/presentations/pres_1")
    request = build_request(
        route,
        params,
        [],  # type: ignore[arg-type]
        b'{"sections": [], "is_public": false}',
    )
    assert list(request.update_mask.paths) == ["is_public", "sections"]  # type: ignore[attr-defined]
    assert request.HasField("is_public")


def test_query_parameters_fill_non_body_fields(table: RouteTable) -> None:
    route, params = _route(table, "GET", "/api/v1/presentations")
    request = build_request(
        route,
        params,  # type: ignore[arg-type]
        [("page_size", "5"), ("page_token", "abc")],
        b"",
    )
    assert (request.page_size, request.page_token) == (5, "abc")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("verb", "path", "query", "body", "message"),
    [
        ("GET", "/api/v1/presentations", [("nope", "1")], b"", "unknown parameter 'nope'"),
        ("GET", "/api/v1/presentations", [("page_size", "x")], b"", "page_size"),
        (
            "GET",
            "/api/v1/presentations",
            [("page_size", "1"), ("page_size", "2")],
            b"",
            "more than once",
        ),
        (
            "POST",
            "/api/v1/presentations",
            [("template_id", "t")],
            b"{}",
            "unexpected query parameter",
        ),
        ("POST", "/api/v1/presentations", [], b"{oops", "Malformed JSON"),
        ("POST", "/api/v1/presentations", [], b'"text"', "must be an object"),
        ("POST", "/api/v1/presentations", [], b'{"extra": 1}', "Unknown field 'extra'"),
        ("POST", "/api/v1/presentations", [], b'{"template_id": []}', "template_id"),
        ("PATCH", "/api/v1/presentations/p", [], b'{"is_public": "no"}', "is_public"),
    ],
)
def test_bad_requests_raise_readable_errors(
    table: RouteTable,
    verb: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes,
    message: str,
) -> None:
    route, params = _route(table, verb, path)
    with pytest.raises(TranscodeError, match=message) as raised:
        build_request(route, params, query, body)  # type: ignore[arg-type]
    assert "chronicle.v1" not in str(raised.value)


def test_empty_body_is_an_empty_request(table: RouteTable) -> None:
    route, params = _route(table, "POST", "/api/v1/presentations")
    assert build_request(route, params, [], b"") == pres_pb.CreatePresentationRequest()  # type: ignore[arg-type]


def test_json_uses_proto_names_and_prints_fields_without_presence() -> None:
    reply = pres_pb.ListPresentationsResponse()
    assert json.loads(to_json(reply)) == {"presentations": [], "next_page_token": ""}
    status = pres_pb.GeneratePresentationResponse(generation_id="gen_1", status="generating")
    assert json.loads(to_json(status))["generation_id"] == "gen_1"
