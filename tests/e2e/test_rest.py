"""Every REST endpoint through the real edge and gRPC server, as a client sees it."""

from __future__ import annotations

import re

import httpx
import pytest

from chronicle.config import DEFAULT_RATE_LIMIT
from tests.conftest import Tenant
from tests.harness import EdgeServer

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == response.status_code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def first_template(http: httpx.Client, tenant: Tenant) -> dict[str, object]:
    templates = http.get("/api/v1/templates", headers=tenant.headers).json()["templates"]
    return templates[0]  # type: ignore[no-any-return]


def create(http: httpx.Client, tenant: Tenant, **body: object) -> httpx.Response:
    if "template_id" not in body:
        body["template_id"] = first_template(http, tenant)["id"]
    return http.post("/api/v1/presentations", json=body, headers=tenant.headers)


def test_list_templates_returns_the_builtin_catalog(http: httpx.Client, tenant: Tenant) -> None:
    response = http.get("/api/v1/templates", headers=tenant.headers)
    assert response.status_code == 200
    templates = response.json()["templates"]
    assert len(templates) >= 6
    for template in templates:
        assert template["id"].startswith("tpl_")
        assert {"name", "description", "category", "sections"} <= set(template)
        assert 5 <= len(template["sections"]) <= 10


def test_create_presentation_answers_201_with_snake_case_fields(
    http: httpx.Client, tenant: Tenant
) -> None:
    template = first_template(http, tenant)
    response = create(http, tenant, template_id=template["id"])
    assert response.status_code == 201
    deck = response.json()
    assert deck["id"].startswith("pres_")
    assert deck["workspace_id"] == tenant.workspace_id
    assert deck["title"] == template["name"]
    assert deck["is_public"] is False
    assert deck["url"].endswith(f"/presentations/{deck['id']}")
    assert ISO_UTC.match(deck["created_at"]) and ISO_UTC.match(deck["updated_at"])
    titles = [s["title"] for s in deck["sections"]]
    assert titles == [s["title"] for s in template["sections"]]  # type: ignore[attr-defined]
    assert all(s["id"].startswith("sec_") for s in deck["sections"])


def test_selected_sections_keep_template_order(http: httpx.Client, tenant: Tenant) -> None:
    template = first_template(http, tenant)
    sections = template["sections"]
    assert isinstance(sections, list)
    chosen = [sections[3]["id"], sections[0]["id"]]
    deck = create(http, tenant, template_id=template["id"], selected_section_ids=chosen).json()
    assert [s["title"] for s in deck["sections"]] == [sections[0]["title"], sections[3]["title"]]


def test_unknown_selected_section_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    response = create(http, tenant, selected_section_ids=["sec_nope"])
    assert response.status_code == 400
    assert "sec_nope" in str(error_of(response)["message"])


def test_new_presentation_prints_fields_without_presence(
    http: httpx.Client, tenant: Tenant
) -> None:
    deck = create(http, tenant).json()
    patched = http.patch(
        f"/api/v1/presentations/{deck['id']}", json={"sections": []}, headers=tenant.headers
    ).json()
    assert patched["sections"] == []
    assert patched["is_public"] is False


def test_get_presentation_returns_what_create_returned(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    response = http.get(f"/api/v1/presentations/{deck['id']}", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == deck


def test_patch_changes_only_the_fields_sent(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    url = f"/api/v1/presentations/{deck['id']}"
    renamed = http.patch(url, json={"title": "Q3 board review"}, headers=tenant.headers)
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Q3 board review"
    assert renamed.json()["sections"] == deck["sections"]
    assert renamed.json()["updated_at"] >= deck["updated_at"]

    published = http.patch(url, json={"is_public": True}, headers=tenant.headers).json()
    assert published["is_public"] is True and published["title"] == "Q3 board review"

    new_sections = [
        {
            "title": "Hello",
            "layout": "title",
            "blocks": [{"paragraph": {"text": "Hi"}}],
            "speaker_notes": "Say hi",
        }
    ]
    replaced = http.patch(url, json={"sections": new_sections}, headers=tenant.headers).json()
    assert [s["title"] for s in replaced["sections"]] == ["Hello"]
    assert replaced["sections"][0]["id"].startswith("sec_")
    assert replaced["title"] == "Q3 board review"
    assert http.get(url, headers=tenant.headers).json() == replaced


def test_patch_rejects_a_bad_layout_and_keeps_the_deck(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    url = f"/api/v1/presentations/{deck['id']}"
    response = http.patch(
        url, json={"title": "x", "sections": [{"layout": "spiral"}]}, headers=tenant.headers
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "BAD_REQUEST"
    assert http.get(url, headers=tenant.headers).json() == deck


def test_blank_title_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    response = http.patch(
        f"/api/v1/presentations/{deck['id']}", json={"title": "  "}, headers=tenant.headers
    )
    assert response.status_code == 400


def test_list_presentations_pages_newest_first(http: httpx.Client, tenant: Tenant) -> None:
    ids = [create(http, tenant).json()["id"] for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        params = {"page_size": "2", **({"page_token": token} if token else {})}
        page = http.get("/api/v1/presentations", params=params, headers=tenant.headers).json()
        assert len(page["presentations"]) <= 2
        seen += [p["id"] for p in page["presentations"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == list(reversed(ids))


def test_list_shows_only_the_callers_workspace(
    http: httpx.Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = create(http, tenant).json()["id"]
    create(http, other_tenant)
    page = http.get("/api/v1/presentations", headers=tenant.headers).json()
    assert [p["id"] for p in page["presentations"]] == [mine]


def test_delete_presentation_then_get_is_document_not_found(
    http: httpx.Client, tenant: Tenant
) -> None:
    deck = create(http, tenant).json()
    url = f"/api/v1/presentations/{deck['id']}"
    assert http.delete(url, headers=tenant.headers).status_code == 200
    response = http.get(url, headers=tenant.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "DOCUMENT_NOT_FOUND"


def test_unknown_template_is_template_not_found(http: httpx.Client, tenant: Tenant) -> None:
    response = create(http, tenant, template_id="tpl_doesnotexist")
    assert response.status_code == 404
    assert error_of(response)["code"] == "TEMPLATE_NOT_FOUND"


def test_missing_template_id_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post("/api/v1/presentations", json={}, headers=tenant.headers)
    assert response.status_code == 400
    assert "template_id" in str(error_of(response)["message"])


def test_caller_endpoint_names_the_workspace(http: httpx.Client, tenant: Tenant) -> None:
    caller = http.get("/api/v1/caller", headers=tenant.headers).json()
    assert caller == {
        "kind": "api_key",
        "workspace_id": tenant.workspace_id,
        "credential_id": tenant.key_id,
        "environment": "live",
        "rate_limit": str(DEFAULT_RATE_LIMIT),  # the key has none of its own
    }


def test_create_upload_target_answers_a_presigned_form(http: httpx.Client, tenant: Tenant) -> None:
    """The shape only; tests/e2e/test_uploads.py follows the file through."""
    body = {"file_name": "a.pdf", "content_type": "application/pdf", "declared_file_size": 10}
    response = http.post("/api/v1/uploads/create-target", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    target = response.json()
    assert set(target) == {"url", "fields", "path", "download_url"}
    assert [f["name"] for f in target["fields"]][:2] == ["key", "Content-Type"]


# Both header styles


def test_both_header_styles_give_identical_results(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    bearer = http.get(f"/api/v1/presentations/{deck['id']}", headers=tenant.headers)
    api_key = http.get(f"/api/v1/presentations/{deck['id']}", headers={"x-api-key": tenant.key})
    both = http.get(
        f"/api/v1/presentations/{deck['id']}", headers={**tenant.headers, "x-api-key": tenant.key}
    )
    assert bearer.status_code == api_key.status_code == both.status_code == 200
    assert bearer.json() == api_key.json() == both.json()
    bad_bearer = http.get("/api/v1/templates", headers={"authorization": "Bearer chr_live_x"})
    bad_api_key = http.get("/api/v1/templates", headers={"x-api-key": "chr_live_x"})
    assert bad_bearer.status_code == bad_api_key.status_code == 401
    assert bad_bearer.json() == bad_api_key.json()


# Envelope from the edge itself


def test_unknown_route_is_a_404_envelope(http: httpx.Client, tenant: Tenant) -> None:
    for path in ("/api/v1/nothing", "/api/elsewhere"):
        response = http.get(path, headers=tenant.headers)
        assert response.status_code == 404
        assert error_of(response)["code"] == "NOT_FOUND"
    # Outside /api/ a path is a page's, and its 404 is a page (tests/e2e/test_pages.py).


def test_wrong_method_is_a_405_envelope_with_allow(http: httpx.Client, tenant: Tenant) -> None:
    response = http.put("/api/v1/templates", headers=tenant.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert error_of(response)["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "Malformed JSON"),
        (b"[1, 2]", "must be an object"),
        (b'{"template_id": "tpl_x", "colour": "red"}', "Unknown field 'colour'"),
        (b'{"template_id": 42}', "template_id"),
        (b'{"template_id": "tpl_x", "selected_section_ids": "sec_x"}', "selected_section_ids"),
    ],
)
def test_bad_bodies_are_400_bad_request(
    http: httpx.Client, tenant: Tenant, content: bytes, expected: str
) -> None:
    response = http.post(
        "/api/v1/presentations",
        content=content,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "BAD_REQUEST"
    assert expected in str(error["message"])
    assert "Traceback" not in response.text and "chronicle.v1" not in response.text


def test_wrong_type_on_patch_is_a_400_naming_the_field(http: httpx.Client, tenant: Tenant) -> None:
    deck = create(http, tenant).json()
    response = http.patch(
        f"/api/v1/presentations/{deck['id']}", json={"is_public": "yes"}, headers=tenant.headers
    )
    assert response.status_code == 400
    assert "is_public" in str(error_of(response)["message"])


def test_bad_query_parameters_are_400(http: httpx.Client, tenant: Tenant) -> None:
    for params in (
        {"page_size": "many"},
        {"colour": "red"},
        {"page_token": "forged"},
        {"page_size": "-1"},
    ):
        response = http.get("/api/v1/presentations", params=params, headers=tenant.headers)
        assert response.status_code == 400, params
        assert error_of(response)["code"] == "BAD_REQUEST"


def test_oversized_body_is_a_413(edge_factory: object, tenant: Tenant) -> None:
    edge: EdgeServer = edge_factory(max_body_bytes=1000)  # type: ignore[operator]
    with httpx.Client(base_url=edge.url) as http:
        body = b'{"template_id": "' + b"x" * 2000 + b'"}'
        response = http.post(
            "/api/v1/presentations",
            content=body,
            headers={**tenant.headers, "content-type": "application/json"},
        )
        assert response.status_code == 413
        assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"

        def chunks() -> object:
            yield b'{"template_id": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        streamed = http.post(
            "/api/v1/presentations",
            content=chunks(),  # type: ignore[arg-type]
            headers={**tenant.headers, "content-type": "application/json"},
        )
        assert streamed.status_code == 413


def test_non_json_body_is_a_415(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(
        "/api/v1/presentations",
        content=b"template_id=tpl_x",
        headers={**tenant.headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_request_id_is_echoed(http: httpx.Client, tenant: Tenant) -> None:
    response = http.get("/api/v1/templates", headers={**tenant.headers, "x-request-id": "abc-1"})
    assert response.headers["x-request-id"] == "abc-1"
    assert http.get("/api/v1/templates", headers=tenant.headers).headers["x-request-id"]


# Health and OpenAPI


def test_healthz_is_200_when_grpc_is_reachable(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200


def test_healthz_is_503_when_no_grpc_server_answers(edge_factory: object) -> None:
    from tests.harness import free_port

    edge: EdgeServer = edge_factory(targets=[f"127.0.0.1:{free_port()}"])  # type: ignore[operator]
    with httpx.Client(base_url=edge.url) as http:
        response = http.get("/healthz")
        assert response.status_code == 503
        assert error_of(response)["code"] == "UNAVAILABLE"


def test_unreachable_server_is_a_503_envelope_without_internals(
    edge_factory: object, tenant: Tenant
) -> None:
    from tests.harness import free_port

    port = free_port()
    edge: EdgeServer = edge_factory(targets=[f"127.0.0.1:{port}"])  # type: ignore[operator]
    with httpx.Client(base_url=edge.url) as http:
        response = http.get("/api/v1/templates", headers=tenant.headers)
        assert response.status_code == 503
        assert str(port) not in response.text


def test_openapi_document_is_generated_from_the_protos(http: httpx.Client) -> None:
    doc = http.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "201" in doc["paths"]["/api/v1/presentations"]["post"]["responses"]
    assert "202" in doc["paths"]["/api/v1/presentations/generate"]["post"]["responses"]
    # Admin routes are not part of the public document unless enabled.
    assert not any("api-keys" in path for path in doc["paths"])


def test_a_key_header_repeated_counts_only_if_the_values_differ(
    http: httpx.Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    same = http.get(
        "/api/v1/templates", headers=[("x-api-key", tenant.key), ("x-api-key", tenant.key)]
    )
    assert same.status_code == 200
    different = http.get(
        "/api/v1/templates", headers=[("x-api-key", tenant.key), ("x-api-key", other_tenant.key)]
    )
    assert different.status_code == 401
    assert error_of(different)["code"] == "UNAUTHORIZED"


def test_non_ascii_key_header_is_a_401_envelope(http: httpx.Client) -> None:
    response = http.get("/api/v1/templates", headers=[(b"x-api-key", "chr_ключ".encode())])
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"
