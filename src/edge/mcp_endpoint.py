"""MCP at /mcp: Streamable HTTP (the official SDK, stateless, JSON answers), every tool
served by one generic handler that calls its RPC with the caller's API key, so the
interceptor's rules (401, 403, rate limits, revocation) apply unchanged (decision 033)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import grpc
import mcp_types as types
from cachetools import TTLCache
from google.api import httpbody_pb2
from google.protobuf import descriptor, json_format
from google.protobuf.message import Message
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chronicle.config import Settings
from chronicle.v1 import identity_service_pb2, presentation_service_pb2
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge import protojson
from edge.errors import HttpError, Refused, error_response, from_status
from edge.mcp_tools import WORKSPACE_ID, Tool, tools
from edge.metadata import call_metadata, request_id
from edge.upstream import Upstream, reads_only, rpc

log = logging.getLogger(__name__)

LIST_WORKSPACES = rpc(identity_service_pb2, "IdentityService", "ListWorkspaces")
LIST_TEMPLATES = rpc(presentation_service_pb2, "PresentationService", "ListTemplates")
EXPORT = rpc(presentation_service_pb2, "PresentationService", "ExportPresentation")
TEMPLATES_URI = "chronicle://templates"
_EXPORT_URI = re.compile(r"chronicle://presentations/([A-Za-z0-9_-]{1,64})/export\.(pptx|pdf)")
# A key's workspace never changes; whether MCP is on may: re-read at most this late.
WORKSPACE_TTL_SECONDS = 1.0
_CREDENTIALS = ("authorization", "x-api-key")
INSTRUCTIONS = (
    "Chronicle makes presentations. Start with list_workspaces and get_templates. Either "
    "create_presentation from a template, or generate_presentation from a prompt (and "
    "files uploaded through create_upload_target), then call get_generation_status until "
    "it is completed (it waits for changes itself); answer its questions with "
    "send_followup_message. Every deck has a url a person can open; export_presentation "
    "gives it as PPTX or PDF."
)
PROMPT = "deck_from_notes"


@dataclass(frozen=True)
class KeyWorkspace:
    id: str
    mcp_enabled: bool


class ToolError(Exception):
    """A tool's failure, answered as an MCP tool result with isError."""

    def __init__(
        self, code: str, message: str, status: int = 400, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.retry_after = code, message, status, retry_after

    @classmethod
    def of(cls, error: HttpError) -> ToolError:
        return cls(error.code, error.message, error.status, error.headers.get("retry-after"))

    def http_error(self) -> HttpError:
        return HttpError(self.status, self.code, self.message)

    def result(self) -> types.CallToolResult:
        text = f"{self.code}: {self.message}"
        if self.retry_after:
            text += f" (retry after {self.retry_after} s)"
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], is_error=True
        )


def _reason(reason: int) -> str:
    return ErrorReason.Name(reason)


class McpEndpoint:
    """The ASGI app served at /mcp, and the MCP server behind it."""

    def __init__(self, settings: Settings, upstream: Upstream) -> None:
        self._upstream = upstream
        self._public_url = settings.public_url
        self._wait = settings.mcp_wait_seconds
        self._tools = {tool.name: tool for tool in tools()}
        self._workspaces: TTLCache[bytes, KeyWorkspace] = TTLCache(10_000, WORKSPACE_TTL_SECONDS)
        server: Server[Any] = Server(
            "chronicle",
            version="1",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )
        # Stateless: any edge process answers any request (no session to find), and an
        # API key authenticates each request, so there is no session to hijack either;
        # DNS-rebinding checks guard servers without credentials, which this is not.
        self._manager = StreamableHTTPSessionManager(
            server,
            json_response=True,
            stateless=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    def running(self) -> AbstractAsyncContextManager[None]:
        return self._manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The key is checked before any MCP message is read: 401 with WWW-Authenticate."""
        request = Request(scope, receive)
        if request.method != "POST":  # stateless and JSON: no stream to open, no session to end
            error = HttpError.of(405, f"{request.method} is not served here: POST MCP messages")
            error.headers["allow"] = "POST"
            await error_response(error, request_id())(scope, receive, send)
            return
        refusal = await self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._manager.handle_request(scope, receive, send)

    async def _refusal(self, request: Request) -> Response | None:
        challenge = 'Bearer realm="chronicle"'
        if not any(request.headers.get(name) for name in _CREDENTIALS):
            error = HttpError.of(401, "Send an API key: Authorization: Bearer <key> or x-api-key")
            return _unauthorized(error, challenge)
        try:
            await self._workspace(_metadata(request))
        except ToolError as failed:
            if failed.status == 401:
                return _unauthorized(failed.http_error(), challenge + ', error="invalid_token"')
            return error_response(failed.http_error(), request_id())
        return None

    # MCP handlers ------------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    description=tool.description,
                    input_schema=tool.input_schema,
                    output_schema=tool.output_schema,
                )
                for tool in self._tools.values()
            ]
        )

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = self._tools.get(params.name)
        if tool is None:
            return ToolError("NOT_FOUND", f"No tool named {params.name!r}").result()
        try:
            metadata = _metadata(_http_request(ctx))
            arguments = dict(params.arguments or {})
            if not isinstance(arguments.get(WORKSPACE_ID, ""), str):
                raise ToolError("BAD_REQUEST", f"{WORKSPACE_ID}: must be a string")
            fields, workspace_id = tool.request(arguments)
            if tool.takes_workspace:
                await self._check_workspace(metadata, workspace_id)
            message = _parse(tool, fields)
            reply = await self._run(tool, message, metadata)
        except ToolError as failed:
            return failed.result()
        if tool.returns_file:
            return self._file_link(tool, message)
        data = protojson.to_dict(reply)
        text = json.dumps(data, ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=data
        )

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        templates = types.Resource(
            uri=TEMPLATES_URI,
            name="templates",
            description="The templates this workspace can start a presentation from",
            mime_type="application/json",
        )
        return types.ListResourcesResult(resources=[templates])

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        metadata = _metadata(_http_request(ctx))
        uri = str(params.uri)
        try:
            await self._check_workspace(metadata, None)
            if uri == TEMPLATES_URI:
                request = presentation_service_pb2.ListTemplatesRequest()
                reply = await self._unary(LIST_TEMPLATES, request, metadata)
                text = json.dumps(protojson.to_dict(reply), ensure_ascii=False)
                contents: Any = types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=text
                )
            elif (found := _EXPORT_URI.fullmatch(uri)) is not None:
                export = presentation_service_pb2.ExportPresentationRequest(
                    id=found.group(1), format=found.group(2)
                )
                body = await self._unary(EXPORT, export, metadata)
                assert isinstance(body, httpbody_pb2.HttpBody)
                contents = types.BlobResourceContents(
                    uri=uri,
                    mime_type=body.content_type,
                    blob=base64.b64encode(body.data).decode(),
                )
            else:
                raise ToolError("NOT_FOUND", f"No resource {uri!r}")
        except ToolError as failed:  # the SDK answers an MCPError without a traceback
            raise MCPError(INVALID_PARAMS, f"{failed.code}: {failed.message}") from None
        return types.ReadResourceResult(contents=[contents])

    async def _list_prompts(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        notes = types.PromptArgument(name="notes", description="Your notes", required=True)
        prompt = types.Prompt(
            name=PROMPT,
            description="Make a presentation from notes, answering its questions",
            arguments=[notes],
        )
        return types.ListPromptsResult(prompts=[prompt])

    async def _get_prompt(
        self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != PROMPT:
            raise ValueError(f"No prompt named {params.name!r}")
        notes = (params.arguments or {}).get("notes", "")
        text = (
            "Make a presentation from the notes below with Chronicle's tools: call "
            "generate_presentation with them as the prompt, then get_generation_status "
            "until it is completed; if it is awaiting_input, answer its question with "
            "send_followup_message and keep following it. Finish by giving me the "
            "presentation's url.\n\nNotes:\n" + notes
        )
        message = types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=text)
        )
        return types.GetPromptResult(description="A deck from notes", messages=[message])

    # Calls -------------------------------------------------------------------------

    async def _workspace(self, metadata: list[tuple[str, str]]) -> KeyWorkspace:
        """The key's workspace (cached for a second; revocation is the server's check on
        every tool's own call)."""
        digest = hashlib.sha256(repr(_credentials(metadata)).encode()).digest()
        known = self._workspaces.get(digest)
        if known is not None:
            return known
        reply = await self._unary(
            LIST_WORKSPACES, identity_service_pb2.ListWorkspacesRequest(), metadata
        )
        assert isinstance(reply, identity_service_pb2.ListWorkspacesResponse)
        if len(reply.workspaces) != 1:  # a service token: not an agent's credential
            raise ToolError("INSUFFICIENT_PRIVILEGES", "MCP takes a workspace's API key", 403)
        found = KeyWorkspace(reply.workspaces[0].id, reply.workspaces[0].mcp_enabled)
        self._workspaces[digest] = found
        return found

    async def _check_workspace(self, metadata: list[tuple[str, str]], named: str | None) -> None:
        workspace = await self._workspace(metadata)
        if not workspace.mcp_enabled:
            raise ToolError(
                _reason(ErrorReason.MCP_NOT_ENABLED),
                f"MCP is turned off for workspace {workspace.id}",
                403,
            )
        if named is not None and named != workspace.id:
            raise ToolError(
                _reason(ErrorReason.WORKSPACE_ACCESS_DENIED),
                f"This API key belongs to workspace {workspace.id}, not {named[:64]!r}",
                403,
            )

    async def _unary(
        self, method: descriptor.MethodDescriptor, message: Message, metadata: list[tuple[str, str]]
    ) -> Message:
        try:
            reply: Message
            reply, _ = await self._upstream.unary(
                method, message, metadata, read=reads_only(method)
            )
        except grpc.aio.AioRpcError as exc:
            trailing = tuple(exc.trailing_metadata() or ())
            raise ToolError.of(from_status(exc.code(), exc.details(), trailing)) from None
        return reply

    async def _run(self, tool: Tool, message: Message, metadata: list[tuple[str, str]]) -> Message:
        if tool.wait_with is None:
            return await self._unary(tool.method, message, metadata)
        return await self._wait_for_change(tool, message, metadata)

    async def _wait_for_change(
        self, tool: Tool, message: Message, metadata: list[tuple[str, str]]
    ) -> Message:
        """The status once it changed, or as it is after the wait (or once the stream
        ends: the job is finished). The server's watch stream waits: no thread here."""
        assert tool.wait_with is not None
        call = self._upstream.stream(tool.wait_with, message, metadata, self._wait + 5)
        latest: Message | None = None
        try:
            async with asyncio.timeout(self._wait):
                async for status in call:
                    changed = latest is not None
                    latest = status
                    if changed:
                        break
        except TimeoutError:
            pass
        except grpc.aio.AioRpcError as exc:
            trailing = tuple(exc.trailing_metadata() or ())
            raise ToolError.of(from_status(exc.code(), exc.details(), trailing)) from None
        finally:
            call.cancel()
        if latest is None:  # the wait ended before the first status: ask once
            return await self._unary(tool.method, message, metadata)
        return latest

    def _file_link(self, tool: Tool, message: Message) -> types.CallToolResult:
        """A file is not sent inline: a resource the client reads when it wants the
        bytes, and the REST URL that serves them to the same key."""
        deck_id = str(getattr(message, "id", ""))
        fmt = str(getattr(message, "format", "")).strip().lower()  # as the server reads it
        uri = f"chronicle://presentations/{deck_id}/export.{fmt}"
        rest = f"{self._public_url}/api/v1/presentations/{deck_id}/export?format={fmt}"
        link = types.ResourceLink(
            type="resource_link",
            uri=uri,
            name=f"{deck_id}.{fmt}",
            mime_type="application/pdf" if fmt == "pdf" else _PPTX,
            description=f"The {fmt.upper()} file; also at {rest} with this API key",
        )
        note = types.TextContent(
            type="text",
            text=f"Read the file as the resource {uri}, or download it from {rest} "
            "with the same API key.",
        )
        return types.CallToolResult(content=[link, note])


_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def _http_request(ctx: ServerRequestContext[Any]) -> Request:
    request = ctx.request
    if not isinstance(request, Request):
        raise ToolError("UNAUTHORIZED", "MCP is served over HTTP only")
    return request


def _metadata(request: Request) -> list[tuple[str, str]]:
    try:
        metadata, _ = call_metadata(request, request_id())
    except Refused as refused:
        raise ToolError(refused.error.code, refused.error.message, refused.error.status) from None
    return metadata


def _credentials(metadata: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in metadata if pair[0] in _CREDENTIALS)


def _parse(tool: Tool, fields: dict[str, Any]) -> Message:
    try:
        return json_format.ParseDict(fields, tool.new_request())
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise ToolError("BAD_REQUEST", f"{tool.name}: {exc}") from None


def _unauthorized(error: HttpError, challenge: str) -> Response:
    response = error_response(error, request_id())
    response.headers["www-authenticate"] = challenge
    return response
