"""Issue 13, items 4, 8 and 10 (the edge's part): what the edge says about a request —
no raw key echoed, 400s in API terms, HEAD served, literal paths never read as ids,
section_count as Chronicle's own client sends it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server import key_material
from tests.conftest import Tenant

LEAKS = ("chronicle.v1", "Message type", "bytes-like", "codec", "int()", "(char", "Failed to parse")


def test_a_key_in_a_path_query_or_field_name_is_never_echoed(
    http: httpx.Client, tenant: Tenant
) -> None:
    raw = key_material.generate("test").raw
    answers = [
        http.get(f"/api/v1/nope/{raw}", headers=tenant.headers),
        http.get(f"/api/v1/presentations?{raw}=1", headers=tenant.headers),
        http.post("/api/v1/presentations", json={raw: 1}, headers=tenant.headers),
        http.post(
            "/api/v1/presentations/generate",
            json={"prompt": "x", "attachments": [{raw: 1}]},
            headers=tenant.headers,
        ),
    ]
    for answer in answers:
        assert answer.status_code in (400, 404), answer.text
        assert raw not in answer.text and raw[:20] not in answer.text
        assert "chr_[redacted]" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Malformed JSON body at line 1, column 2"),
        (b"\xff", "Malformed JSON body: it is not UTF-8 text"),
        (b'{"template_id": 42}', "Invalid value for template_id: expected a string"),
        (
            b'{"template_id": "t", "selected_section_ids": "s"}',
            "selected_section_ids: expected an array",
        ),
        (
            b'{"template_id": "t", "selected_section_ids": [1]}',
            "selected_section_ids[0]: expected a string",
        ),
    ],
)
def test_400_messages_speak_in_api_terms(
    http: httpx.Client, tenant: Tenant, body: bytes, message: str
) -> None:
    response = http.post(
        "/api/v1/presentations",
        content=body,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    text = response.json()["error"]["message"]
    assert message in text
    assert not any(leak in text for leak in LEAKS), text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": "x", "attachments": [{"id": 5}]}, "attachments[0].id: expected a string"),
        ({"prompt": "x", "attachments": [{"nope": 1}]}, "Unknown field 'attachments[0].nope'"),
        ({"prompt": "x", "non_interactive": "yes"}, "non_interactive: expected true or false"),
    ],
)
def test_nested_400_messages_name_the_field_as_sent(
    http: httpx.Client, tenant: Tenant, body: dict[str, Any], message: str
) -> None:
    response = http.post("/api/v1/presentations/generate", json=body, headers=tenant.headers)
    assert response.status_code == 400
    text = response.json()["error"]["message"]
    assert message in text and not any(leak in text for leak in LEAKS), text


def test_a_query_value_of_the_wrong_type_names_the_parameter(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = http.get("/api/v1/presentations?page_size=abc", headers=tenant.headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid value for page_size: expected an integer"


def test_a_section_count_too_large_for_a_number_is_a_clear_400(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = b'{"prompt": "x", "section_count": 1' + b"0" * 400 + b"}"
    response = http.post(
        "/api/v1/presentations/generate",
        content=body,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "BAD_REQUEST",
        "message": "Invalid value for section_count: the number is out of range",
        "status": 400,
    }


def test_section_count_as_a_numeric_string_is_that_number(
    http: httpx.Client, tenant: Tenant
) -> None:
    for count in ("4", "auto", 4):
        response = http.post(
            "/api/v1/presentations/generate",
            json={"prompt": "Otters swim.", "non_interactive": True, "section_count": count},
            headers=tenant.headers,
        )
        assert response.status_code == 202, (count, response.text)


def test_head_on_a_get_route_answers_the_gets_headers_without_a_body(
    edge: Any, http: httpx.Client, tenant: Tenant
) -> None:
    get = http.get("/api/v1/templates", headers=tenant.headers)
    head = http.head("/api/v1/templates", headers=tenant.headers)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]
    refused = http.head("/api/v1/templates")
    assert (refused.status_code, refused.content) == (401, b"")


@pytest.mark.parametrize("verb", ["GET", "DELETE", "PATCH"])
def test_the_literal_generate_path_is_never_read_as_a_presentation_id(
    http: httpx.Client, tenant: Tenant, verb: str
) -> None:
    response = http.request(verb, "/api/v1/presentations/generate", headers=tenant.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
