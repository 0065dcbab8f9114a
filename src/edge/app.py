"""The REST edge: one route table from the protos' http rules, one handler for all of it."""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

import grpc
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from chronicle import contract
from chronicle.config import Settings
from edge.admission import Admission, authenticated
from edge.errors import HttpError, Refused, error_response, from_status
from edge.local_files import upload_routes
from edge.openapi import build_openapi
from edge.transcode import RouteTable, TranscodeError, build_request, to_json
from edge.upstream import Upstream

log = logging.getLogger(__name__)

# Only these request headers cross to gRPC; nothing else does by accident.
FORWARDED_HEADERS = ("authorization", "x-api-key", "x-request-id", "idempotency-key")
_FORWARDED = frozenset(h.encode() for h in FORWARDED_HEADERS)
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})
# Far above any key or request id; gRPC refuses metadata past 8 KiB with a status
# that would read as a rate limit.
MAX_HEADER_BYTES = 1024
MAX_FORWARDED_BYTES = 4096  # all of them: repeats must not reach gRPC's limit either
JSON = "application/json"
VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


# The HTTP client's address, for servers that trust this edge (CHRONICLE_TRUSTED_PROXIES).
# Never taken from the request's own headers: it is not in the allow-list.
CLIENT_ADDRESS = contract.CLIENT_ADDRESS_METADATA


def served_bindings(settings: Settings) -> list[contract.HttpBinding]:
    """Admin-only services (ApiKeyService) are served only when enabled."""
    return [
        b
        for b in contract.http_bindings()
        if settings.admin_routes or not contract.is_admin_only(b.method.containing_service)
    ]


def forwarded_metadata(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The allow-listed headers as gRPC metadata, repeats included (the server
    refuses a key sent twice)."""
    metadata, size = [], 0
    for name, value in headers:
        if name in _FORWARDED:
            problem = (
                "is too long"
                if len(value) > MAX_HEADER_BYTES
                else "contains characters that are not allowed"
                if not value.isascii() or not value.decode().isprintable()
                else ""
            )
            if problem:
                status = 401 if name in _CREDENTIAL_HEADERS else 400
                raise Refused(HttpError.of(status, f"The {name.decode()} header {problem}"))
            size += len(name) + len(value)
            if size > MAX_FORWARDED_BYTES:
                raise Refused(HttpError.of(400, "The request's headers are too large"))
            metadata.append((name.decode(), value.decode()))
    return metadata


def call_metadata(request: Request, request_id: str) -> tuple[list[tuple[str, str]], str]:
    """The call's metadata, and the client's address (sent along for the server's
    failed-verification budget)."""
    metadata = forwarded_metadata(request.scope["headers"])
    client = request.client.host if request.client is not None else ""
    if client:
        metadata.append((CLIENT_ADDRESS, client))
    if "x-request-id" not in request.headers:
        metadata.append(("x-request-id", request_id))
    return metadata, client


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
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
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


def http_server(app: ASGIApp, settings: Settings) -> tuple[uvicorn.Server, socket.socket]:
    """uvicorn and its listening socket, bound here so that a port in use is one clear
    OSError rather than uvicorn's log lines and exit status."""
    family = socket.AF_INET6 if ":" in settings.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.bind, settings.http_port))
    except OSError as exc:
        sock.close()
        address = f"{settings.bind}:{settings.http_port}"
        raise OSError(f"cannot listen for HTTP on {address}: {exc.strerror}") from None
    config = uvicorn.Config(
        app,
        access_log=settings.access_log,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    return uvicorn.Server(config), sock


def create_app(settings: Settings, targets: Sequence[str]) -> FrontDoor:
    bindings = served_bindings(settings)
    table = RouteTable(bindings)
    upstream = Upstream(targets, settings.grpc_timeout_seconds)
    openapi = build_openapi(bindings)
    admission = Admission(settings.new_key_rate)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await upstream.open()
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

    async def handle(request: Request) -> Response:
        # Unique, not secret: no system call per request.
        request_id = request.headers.get("x-request-id") or f"{random.getrandbits(128):032x}"
        path = request.scope["path"]
        try:
            found = table.match(request.method, path)
            if isinstance(found, list):
                if found:
                    error = HttpError.of(405, f"{request.method} is not allowed here")
                    error.headers["allow"] = ", ".join(sorted(set(found)))
                    raise Refused(error)
                raise Refused(HttpError.of(404, f"No route for {request.method} {path}"))
            route, params = found
            body = await _read_body(request, settings.max_body_bytes) if route.binding.body else b""
            message = build_request(route, params, request.query_params.multi_items(), body)
            metadata, client = call_metadata(request, request_id)
            async with await admission.admit(metadata, client) as ticket:
                try:
                    reply, trailing = await upstream.call(route, message, metadata)
                except grpc.aio.AioRpcError as exc:
                    trailing = tuple(exc.trailing_metadata() or ())
                    error = from_status(exc.code(), exc.details(), trailing)
                    error.headers.update(passed_back(trailing))
                    ticket.settle(error, authenticated=authenticated(trailing))
                    raise Refused(error) from None
                ticket.settle(None, authenticated=authenticated(trailing))
            return Response(
                to_json(reply, route.binding.response_body),
                status_code=route.binding.success_code,
                media_type=JSON,
                headers={"x-request-id": request_id, **passed_back(trailing)},
            )
        except Refused as refused:
            return error_response(refused.error, request_id)
        except TranscodeError as exc:
            return error_response(HttpError.of(400, str(exc)), request_id)
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, path)
            return error_response(HttpError.of(500), request_id)

    own = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi_document, methods=["GET"]),
        *upload_routes(settings),  # the local backend's signed routes
    ]
    api = AsgiEndpoint(handle)
    app.router.routes.extend([*own, Route("/{path:path}", api, methods=VERBS)])
    return FrontDoor(app, api, tuple(route.path.split("{", 1)[0] for route in own))


class FrontDoor:
    """The edge's ASGI app: API calls go straight to the generic handler, past FastAPI's
    per-request middleware, which would cost more than refusing a bad key does; FastAPI
    serves its own paths (health, the OpenAPI document, the local upload routes),
    start-up and shutdown."""

    def __init__(self, app: FastAPI, api: ASGIApp, own_paths: tuple[str, ...]) -> None:
        """`own_paths`: the prefixes of FastAPI's own routes."""
        self.app = app
        self._api = api
        self._own_paths = own_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self._own_paths):
            await self._api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class AsgiEndpoint:
    """A `request -> response` function served as a plain ASGI app."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)
