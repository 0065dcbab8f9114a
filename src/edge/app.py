"""The REST edge: one route table from the protos' http rules, one handler for all of it."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI
from google.protobuf.message import Message
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from chronicle import contract
from chronicle.config import Settings
from edge import transcode
from edge.admission import Admission, Ticket, authenticated
from edge.content_length import declared_length
from edge.errors import HttpError, Refused, error_response, from_status
from edge.http_body import body_response
from edge.http_server import EdgeHttpServer, server_config
from edge.local_files import upload_routes
from edge.mcp_endpoint import McpEndpoint
from edge.metadata import call_metadata
from edge.metadata import request_id as new_request_id
from edge.openapi import build_openapi
from edge.redaction import redact
from edge.transcode import RouteTable, TranscodeError, build_request, to_json
from edge.upstream import Metadata, Upstream
from edge.web import pages as web_pages

log = logging.getLogger(__name__)

JSON = "application/json"
WHO_AM_I = "chronicle.v1.IdentityService.GetCaller"  # answers who a key is, nothing else
MCP_PATH = "/mcp"  # agents (edge.mcp_endpoint)
API_PREFIX = "/api/"  # the REST API; every other path is a page (edge.web) or health


def served_bindings(settings: Settings) -> list[contract.HttpBinding]:
    """Admin-only services (ApiKeyService) are served only when enabled."""
    return [
        b
        for b in contract.http_bindings()
        if settings.admin_routes or not contract.is_admin_only(b.method.containing_service)
    ]


# Server metadata that becomes response headers: the rate-limit fields, named as in
# the IETF RateLimit header draft.
RETURNED_METADATA = {
    "ratelimit-limit": "RateLimit-Limit",
    "ratelimit-remaining": "RateLimit-Remaining",
    "ratelimit-reset": "RateLimit-Reset",
}


def passed_back(metadata: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    return {
        RETURNED_METADATA[key]: str(value) for key, value in metadata if key in RETURNED_METADATA
    }


async def _read_body(request: Request, limit: int) -> bytes:
    length = declared_length(request)
    if length is not None and length > limit:
        raise Refused(HttpError.of(413, f"The request body exceeds {limit} bytes"))
    content_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(HttpError.of(413, f"The request body exceeds {limit} bytes"))
        chunks.append(chunk)
    body = b"".join(chunks)
    if body.strip() and content_type != JSON and not content_type.endswith("+json"):
        raise Refused(HttpError.of(415, "Send the body as application/json"))
    return body


def _route(table: RouteTable, method: str, path: str) -> tuple[transcode.Route, dict[str, str]]:
    """The route serving the request (HEAD as GET), or the 404/405 to answer."""
    found = table.match("GET" if method == "HEAD" else method, path)
    if isinstance(found, list):
        if found:
            allowed = set(found) | ({"HEAD"} if "GET" in found else set())
            error = HttpError.of(405, f"{method} is not allowed here")
            error.headers["allow"] = ", ".join(sorted(allowed))
            raise Refused(error)
        raise Refused(HttpError.of(404, f"No route for {method} {path}"))
    return found


def without_body(response: Response) -> Response:
    """The answer to HEAD: the GET's status and headers (its length too), no body."""
    return Response(b"", status_code=response.status_code, headers=dict(response.headers))


def http_server(
    app: ASGIApp,
    settings: Settings,
    *,
    reuse_port: bool = False,
    on_started: Callable[[], None] | None = None,
) -> tuple[EdgeHttpServer, socket.socket]:
    """The HTTP server (uvicorn with the edge's connection limits, edge.http_server) and
    its listening socket, bound here so that a port in use is one clear OSError rather
    than uvicorn's log lines and exit status. `reuse_port`: the port is shared with the
    other edge processes of `--processes N` (SO_REUSEPORT: the kernel spreads
    connections over them). `on_started`: called once it accepts connections."""
    family = socket.AF_INET6 if ":" in settings.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((settings.bind, settings.http_port))
    except OSError as exc:
        sock.close()
        address = f"{settings.bind}:{settings.http_port}"
        raise OSError(f"cannot listen for HTTP on {address}: {exc.strerror}") from None
    config = server_config(
        app,
        settings,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    return EdgeHttpServer(config, on_started), sock


def create_app(settings: Settings, targets: Sequence[str]) -> FrontDoor:
    bindings = served_bindings(settings)
    table = RouteTable(bindings)
    upstream = Upstream(targets, settings.grpc_timeout_seconds)
    openapi = build_openapi(bindings)
    admission = Admission(settings.new_key_rate)

    agents = McpEndpoint(settings, upstream)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await upstream.open()
        async with agents.running():
            yield
        await upstream.close()

    app = FastAPI(
        title="Chronicle API", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.upstream = upstream

    async def healthz(_request: Request) -> Response:
        if await upstream.healthy():
            return JSONResponse({"status": "ok"})
        return error_response(HttpError.of(503, "No gRPC server is reachable"), "")

    async def openapi_document(_request: Request) -> Response:
        return JSONResponse(openapi)

    api_handler = ApiHandler(settings, table, upstream, admission)
    site, page_routes = web_pages(settings, upstream)

    async def not_served(request: Request, exc: Exception) -> Response:
        """A path no route serves (404, 405): a page, or the envelope under /api/."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = "No such page" if status == 404 else f"{request.method} is not allowed here"
        error = HttpError.of(status, message)
        if request.url.path.startswith(API_PREFIX):
            return error_response(error, "")
        return site.error_page(request, error)

    own = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi_document, methods=["GET"]),
        *upload_routes(settings),  # the local backend's signed routes
    ]
    api = AsgiEndpoint(api_handler.handle)
    app.router.routes.extend([*own, *page_routes])
    app.add_exception_handler(HTTPException, not_served)
    return FrontDoor(app, api, tuple(route.path.split("{", 1)[0] for route in own), agents)


class ApiHandler:
    """Every API route: the credential first, then the body, then the call."""

    def __init__(
        self, settings: Settings, table: RouteTable, upstream: Upstream, admission: Admission
    ) -> None:
        self._settings = settings
        self._table = table
        self._upstream = upstream
        self._admission = admission
        # An auth-only call: a key no server has answered for yet is confirmed with it
        # before the edge reads a byte of the body or says anything about the request.
        self._caller = next(r for r in table.routes if r.binding.method.full_name == WHO_AM_I)

    async def _call(
        self,
        ticket: Ticket,
        route: transcode.Route,
        message: Message,
        metadata: list[tuple[str, str]],
    ) -> tuple[Message, Metadata]:
        """The server's reply; its refusal raised as the envelope. Either settles the
        ticket: the server's word on the key."""
        try:
            reply, trailing = await self._upstream.call(route, message, metadata)
        except grpc.aio.AioRpcError as exc:
            trailing = tuple(exc.trailing_metadata() or ())
            error = from_status(exc.code(), exc.details(), trailing)
            error.headers.update(passed_back(trailing))
            ticket.settle(error, authenticated=authenticated(trailing))
            raise Refused(error) from None
        ticket.settle(None, authenticated=authenticated(trailing))
        return reply, trailing

    async def _confirm(self, ticket: Ticket, metadata: list[tuple[str, str]]) -> None:
        """A new key confirmed (or refused) before anything else of the request."""
        await self._call(ticket, self._caller, self._caller.request_class(), metadata)

    async def handle(self, request: Request) -> Response:
        # Unique, not secret: no system call per request.
        request_id = request.headers.get("x-request-id") or new_request_id()
        path = request.scope["path"]
        try:
            route, params = _route(self._table, request.method, path)
            # The credential first: without a key the server accepts, nothing of the
            # request is read or judged (its cost stays small whatever its size).
            metadata, client = call_metadata(request, request_id)
            async with await self._admission.admit(metadata, client) as ticket:
                if ticket.new and route.binding.body:
                    await self._confirm(ticket, metadata)
                body = (
                    await _read_body(request, self._settings.max_body_bytes)
                    if route.binding.body
                    else b""
                )
                try:
                    message = build_request(route, params, request.query_params.multi_items(), body)
                except TranscodeError:
                    if ticket.new:  # a bad query with a key not yet confirmed: 401 first
                        await self._confirm(ticket, metadata)
                    raise
                reply, trailing = await self._call(ticket, route, message, metadata)
            headers = {"x-request-id": request_id, **passed_back(trailing)}
            if route.http_body:
                response = body_response(reply, route.binding.success_code, headers)
            else:
                response = Response(
                    to_json(reply, route.binding.response_body),
                    status_code=route.binding.success_code,
                    media_type=JSON,
                    headers=headers,
                )
        except Refused as refused:
            response = error_response(refused.error, request_id)
        except TranscodeError as exc:
            response = error_response(HttpError.of(400, str(exc)), request_id)
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, redact(path))
            response = error_response(HttpError.of(500), request_id)
        return without_body(response) if request.method == "HEAD" else response


class FrontDoor:
    """The edge's ASGI app: API calls go straight to the generic handler, past FastAPI's
    per-request middleware, which would cost more than refusing a bad key does; FastAPI
    serves its own paths (health, the OpenAPI document, the local upload routes), the
    pages, start-up and shutdown."""

    def __init__(
        self, app: FastAPI, api: ASGIApp, own_paths: tuple[str, ...], agents: ASGIApp
    ) -> None:
        """`own_paths`: the prefixes of FastAPI's own routes. `agents`: MCP, served
        straight too (its SDK has middleware of its own)."""
        self.app = app
        self._api = api
        self._own_paths = own_paths
        self._agents = agents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif path.startswith(API_PREFIX) and not path.startswith(self._own_paths):
            await self._api(scope, receive, send)
        elif path == MCP_PATH:
            await self._agents(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class AsgiEndpoint:
    """A `request -> response` function served as a plain ASGI app."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)
