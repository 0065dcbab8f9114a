"""Issue 17: agents over MCP at /mcp, driven by the official `mcp` client over real
sockets — the tools and their schemas, a deck made end to end, and every refusal."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.container import Container
from server.services import keys as key_service
from server.services import workspaces
from tests.conftest import Tenant, make_tenant
from tests.decks import make_deck
from tests.harness import EdgeServer

CHRONICLES_TOOLS = {
    "list_workspaces",
    "get_templates",
    "get_presentation",
    "create_presentation",
    "create_upload_target",
    "generate_presentation",
    "send_followup_message",
    "get_generation_status",
}
OURS = {"list_presentations", "update_presentation", "export_presentation"}
NOTES = (
    "Quarterly review. Revenue grew 18 percent to 4.2 million. Churn fell to 2 percent. "
    "We hired six engineers and opened an office in Lisbon. Next quarter we launch in Spain."
)

Session = Callable[[Client], Awaitable[Any]]


def with_client(edge: EdgeServer, headers: dict[str, str], session: Session) -> Any:
    """Runs `session` with the official client connected to the edge's /mcp."""

    async def run() -> Any:
        http = httpx2.AsyncClient(headers=headers, timeout=60)
        transport = streamable_http_client(f"{edge.url}/mcp", http_client=http)
        async with Client(transport) as client:
            return await session(client)

    return asyncio.run(run())


def text_of(result: Any) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


def test_without_a_valid_key_mcp_answers_401_with_a_challenge(
    edge: EdgeServer, tenant: Tenant
) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"x-api-key": tenant.key + "x"}, {"authorization": "Bearer nope"}):
        answer = httpx.post(f"{edge.url}/mcp", json=hello, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith('Bearer realm="chronicle"')
        assert answer.json()["error"]["status"] == 401


def test_mcp_takes_posts_only_and_names_a_bad_key_header_as_401(
    edge: EdgeServer, tenant: Tenant
) -> None:
    for method in ("GET", "DELETE"):
        answer = httpx.request(method, f"{edge.url}/mcp", headers=tenant.headers, timeout=5)
        assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    odd = httpx.post(f"{edge.url}/mcp", json=hello, headers={"x-api-key": "chr_é".encode()})
    assert odd.status_code == 401 and "www-authenticate" in odd.headers


def test_the_tools_are_chronicles_with_valid_schemas(edge: EdgeServer, tenant: Tenant) -> None:
    listed = with_client(edge, tenant.headers, lambda c: c.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == CHRONICLES_TOOLS | OURS
    for tool in tools.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        if tool.output_schema is not None:
            jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        assert tool.description
        takes_workspace = "workspace_id" in tool.input_schema["properties"]
        assert takes_workspace == (tool.name != "list_workspaces"), tool.name
    get = tools["get_presentation"].input_schema
    assert get["required"] == ["presentation_id"] and "id" not in get["properties"]
    generate = jsonschema.Draft202012Validator(tools["generate_presentation"].input_schema)
    assert generate.is_valid({"prompt": "x", "section_count": "auto"})
    assert generate.is_valid({"prompt": "x", "section_count": 7})
    assert not generate.is_valid({"prompt": "x", "section_count": "many"})
    assert not generate.is_valid({"section_count": 3})  # prompt is required
    followup = tools["send_followup_message"].input_schema
    assert {"generation_id", "content", "attachments"} <= set(followup["properties"])


def test_an_agent_makes_a_deck_end_to_end(
    edge: EdgeServer, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()

    async def session(client: Client) -> None:
        listed = await client.call_tool("list_workspaces", {})
        workspace = listed.structured_content["workspaces"][0]
        assert workspace == {"id": tenant.workspace_id, "name": "acme", "mcp_enabled": True}
        ws = {"workspace_id": tenant.workspace_id}
        templates = (await client.call_tool("get_templates", ws)).structured_content
        made = await client.call_tool(
            "create_presentation", {**ws, "template_id": templates["templates"][0]["id"]}
        )
        assert not made.is_error and made.structured_content["id"].startswith("pres_")
        got = await client.call_tool(
            "get_presentation", {**ws, "presentation_id": made.structured_content["id"]}
        )
        assert got.structured_content["url"] == made.structured_content["url"]
        started = await client.call_tool(
            "generate_presentation", {**ws, "prompt": NOTES, "non_interactive": True}
        )
        generation = started.structured_content["generation_id"]
        status: dict[str, Any] = {}
        for _ in range(20):  # each call waits for a change itself
            result = await client.call_tool(
                "get_generation_status", {**ws, "generation_id": generation}
            )
            status = result.structured_content
            if status["status"] in ("completed", "failed"):
                break
        assert status["status"] == "completed"
        deck = status["presentation"]
        assert deck["sections"] and deck["url"].endswith(deck["id"])
        exported = await client.call_tool(
            "export_presentation", {**ws, "presentation_id": deck["id"], "format": "pdf"}
        )
        link = exported.content[0]
        assert link.type == "resource_link" and link.mime_type == "application/pdf"
        read = await client.read_resource(link.uri)
        assert base64.b64decode(read.contents[0].blob).startswith(b"%PDF-")
        listing = await client.call_tool("list_presentations", ws)
        assert deck["id"] in {p["id"] for p in listing.structured_content["presentations"]}

    with_client(edge, tenant.headers, session)


def test_a_clarifying_question_is_answered_with_send_followup_message(
    edge: EdgeServer, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()
    ws = {"workspace_id": tenant.workspace_id}

    async def follow(client: Client, generation: str, *until: str) -> dict[str, Any]:
        for _ in range(20):
            result = await client.call_tool(
                "get_generation_status", {**ws, "generation_id": generation}
            )
            if result.structured_content["status"] in until:
                return dict(result.structured_content)
        raise AssertionError(f"never reached {until}")

    async def session(client: Client) -> None:
        started = await client.call_tool("generate_presentation", {**ws, "prompt": "Otters"})
        generation = started.structured_content["generation_id"]
        asked = await follow(client, generation, "awaiting_input")
        assert asked["message"]
        for answer in ("For a primary school class", "How otters use tools, eat and play."):
            replied = await client.call_tool(
                "send_followup_message", {**ws, "generation_id": generation, "content": answer}
            )
            assert not replied.is_error, text_of(replied)
            done = await follow(client, generation, "awaiting_input", "completed")
            if done["status"] == "completed":
                break
        assert done["status"] == "completed"

    with_client(edge, tenant.headers, session)


def test_another_workspace_is_refused_by_name_and_by_id(
    edge: EdgeServer, tenant: Tenant, container: Container, http: httpx.Client
) -> None:
    other = make_tenant(container, "rival")
    theirs = make_deck(http, other)

    async def session(client: Client) -> None:
        named = await client.call_tool("get_templates", {"workspace_id": other.workspace_id})
        assert named.is_error and text_of(named).startswith("WORKSPACE_ACCESS_DENIED")
        by_id = await client.call_tool("get_presentation", {"presentation_id": theirs["id"]})
        assert by_id.is_error and text_of(by_id).startswith("INSUFFICIENT_PRIVILEGES")
        bad = await client.call_tool("get_presentation", {"presentation_id": 5})
        assert bad.is_error and text_of(bad).startswith("BAD_REQUEST")
        odd = await client.call_tool("get_templates", {"workspace_id": 5})
        assert odd.is_error and text_of(odd).startswith("BAD_REQUEST")

    with_client(edge, tenant.headers, session)


def test_with_mcp_off_the_tools_say_so_and_list_workspaces_tells(
    edge: EdgeServer, tenant: Tenant, container: Container
) -> None:
    with container.uow() as uow:
        workspaces.set_mcp(uow, tenant.workspace_id, enabled=False)

    async def session(client: Client) -> None:
        listed = await client.call_tool("list_workspaces", {})
        assert listed.structured_content["workspaces"][0]["mcp_enabled"] is False
        refused = await client.call_tool("get_templates", {})
        assert refused.is_error and text_of(refused).startswith("MCP_NOT_ENABLED")

    with_client(edge, tenant.headers, session)


def test_a_revoked_key_is_refused_within_a_second(
    edge: EdgeServer, tenant: Tenant, container: Container
) -> None:
    async def session(client: Client) -> float:
        assert not (await client.call_tool("get_templates", {})).is_error
        with container.uow() as uow:
            key_service.revoke_api_key(uow, tenant.key_id, "leaked", actor="test")
        container.key_changed(tenant.key_id)
        revoked_at = time.monotonic()
        while time.monotonic() - revoked_at < 5:
            try:
                result = await client.call_tool("get_templates", {})
            except Exception:  # the HTTP 401 before any MCP message, once the cache lapses
                return time.monotonic() - revoked_at
            if result.is_error:
                assert "API_KEY_REVOKED" in text_of(result)
                return time.monotonic() - revoked_at
        raise AssertionError("still served 5 s after revocation")

    assert with_client(edge, tenant.headers, session) < 1.0


def test_a_rate_limited_key_gets_a_tool_error_with_the_delay(
    edge: EdgeServer, container: Container, tenant: Tenant
) -> None:
    with container.uow() as uow:
        limited = key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=tenant.workspace_id,
            rate_limit="3/minute",
            actor="test",
        )

    async def session(client: Client) -> str:
        for _ in range(10):
            result = await client.call_tool("get_templates", {})
            if result.is_error:
                return text_of(result)
        raise AssertionError("never limited")

    refused = with_client(edge, {"x-api-key": limited.raw}, session)
    assert refused.startswith("API_KEY_RATE_LIMITED") and "retry after" in refused


def test_the_templates_resource_and_the_prompt(edge: EdgeServer, tenant: Tenant) -> None:
    async def session(client: Client) -> None:
        resources = await client.list_resources()
        assert [str(r.uri) for r in resources.resources] == ["chronicle://templates"]
        read = await client.read_resource("chronicle://templates")
        assert '"templates"' in read.contents[0].text
        prompts = await client.list_prompts()
        assert [p.name for p in prompts.prompts] == ["deck_from_notes"]
        prompt = await client.get_prompt("deck_from_notes", {"notes": "Our Q3 numbers"})
        text = prompt.messages[0].content.text
        assert "generate_presentation" in text and "Our Q3 numbers" in text

    with_client(edge, tenant.headers, session)


@pytest.fixture
def settings(settings: Any) -> Any:
    """A short wait for get_generation_status, so a test of a job awaiting input does
    not wait Chronicle's 50 s each time."""
    from dataclasses import replace

    return replace(settings, mcp_wait_seconds=2.0)
