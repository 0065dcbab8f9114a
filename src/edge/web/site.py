"""What every page shares: the templates, the session cookie as gRPC metadata, the
CSRF check on forms, errors as pages, the static files (decision 031)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

import grpc
import jinja2
from google.protobuf import descriptor, timestamp_pb2
from google.protobuf.message import Message
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chronicle import contract
from chronicle.config import Settings
from chronicle.v1 import identity_service_pb2, session_service_pb2
from edge.errors import HttpError, from_status
from edge.metadata import request_id
from edge.redaction import redact
from edge.upstream import Upstream, reads_only, rpc
from edge.web.guard import PAGE_HEADERS, Cookies, csrf_ok, csrf_token, new_csrf_secret

log = logging.getLogger(__name__)

HOME = "/settings/api"  # where a signed-in person lands
MAX_FORM_BYTES = 16 * 1024  # a few short fields; a bigger form is refused unread
STATIC_TYPES = {"app.css": "text/css", "app.js": "text/javascript", "deck.js": "text/javascript"}


WHO = rpc(identity_service_pb2, "IdentityService", "GetSignedInUser")


class PageError(Exception):
    """Answered with the error page: `error`'s status and message."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.message)
        self.error = error


class SignInNeeded(Exception):
    """No session, or one the server no longer takes: to /login, then back here."""


@dataclass
class PageCall:
    """One page request: its session (if any) and the id its gRPC calls carry."""

    request: Request
    session: str | None
    request_id: str
    stale_session: bool = False  # the server no longer takes the cookie's session

    def metadata(self, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        metadata = [("x-request-id", self.request_id), *extra]
        if self.session is not None:
            metadata.append((contract.SESSION_METADATA, self.session))
        client = self.request.client.host if self.request.client is not None else ""
        if client:
            metadata.append((contract.CLIENT_ADDRESS_METADATA, client))
        return metadata


Handler = Callable[[PageCall], Awaitable[Response]]


class Site:
    def __init__(self, settings: Settings, upstream: Upstream) -> None:
        self.upstream = upstream
        self.cookies = Cookies.for_url(settings.public_url)
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("edge.web"),
            autoescape=True,  # every name, reason, title and email people type is escaped
            undefined=jinja2.StrictUndefined,
        )
        self._templates.filters["when"] = when
        static = resources.files("edge.web") / "static"
        self._static = {
            name: (static.joinpath(name).read_bytes(), media_type)
            for name, media_type in STATIC_TYPES.items()
        }

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """`handler` as a route: sign-in redirects and errors answered as pages."""

        async def serve(request: Request) -> Response:
            call = PageCall(request, self.cookies.session_token(request), request_id())
            try:
                response = await handler(call)
            except SignInNeeded:
                target = HOME
                if request.method == "GET":
                    query = request.url.query
                    target = request.url.path + (f"?{query}" if query else "")
                response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                if call.session is not None:
                    self.cookies.clear_session(response)
            except PageError as failed:
                response = self.error(call, failed.error)
            except Exception:
                log.exception(
                    "unhandled error serving %s %s", request.method, redact(request.url.path)
                )
                response = self.error(
                    call, HttpError.of(500, "Something went wrong on our side. Try again.")
                )
            if call.stale_session:
                self.cookies.clear_session(response)
            for name, value in PAGE_HEADERS.items():  # an image's own caching stays
                response.headers.setdefault(name, value)
            return response

        return serve

    def error(self, call: PageCall, error: HttpError) -> Response:
        response = self.render(call, "error.html", error.status, error=error, user=None)
        response.headers.update(error.headers)
        return response

    def error_page(self, request: Request, error: HttpError) -> Response:
        """An HTML page for `error` (404 and 405 of paths no route serves, too)."""
        return self.error(PageCall(request, self.cookies.session_token(request), ""), error)

    def render(self, call: PageCall, template: str, code: int, **context: Any) -> Response:
        secret = self.cookies.csrf_secret(call.request)
        fresh = secret is None
        if secret is None:
            secret = new_csrf_secret()
        html = self._templates.get_template(template).render(
            csrf=csrf_token(secret, call.session), **context
        )
        response = Response(html, status_code=code, media_type="text/html")
        if fresh:
            self.cookies.set_csrf(response, secret)
        response.headers.update(PAGE_HEADERS)
        return response

    async def form(self, call: PageCall) -> FormData:
        """The POSTed form, once its CSRF token is checked (403 page: nothing done)."""
        length = call.request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_FORM_BYTES:
            raise PageError(HttpError.of(413, "The form is too large"))
        try:
            form = await call.request.form(max_files=0, max_fields=20)
        except Exception as exc:  # malformed bodies of every kind python-multipart meets
            raise PageError(HttpError.of(400, "The form could not be read")) from exc
        if not csrf_ok(call.request, self.cookies, field(form, "csrf")):
            raise PageError(
                HttpError.of(
                    403,
                    "This form has expired or did not come from this site. "
                    "Go back, reload the page and try again.",
                )
            )
        return form

    async def call(
        self,
        call: PageCall,
        method: descriptor.MethodDescriptor,
        message: Message,
        *,
        form_id: str = "",
        sign_in_on_401: bool = True,
    ) -> Message:
        """The server's reply; its refusal raised as PageError, or SignInNeeded for a
        401 (unless `sign_in_on_401` is off: signing in itself)."""
        # The form's own id as Idempotency-Key: a form sent twice (a reload) acts once.
        extra = ((contract.IDEMPOTENCY_KEY_METADATA, form_id),) if ok_id(form_id) else ()
        metadata = call.metadata(*extra)
        try:
            reply, _ = await self.upstream.unary(method, message, metadata, read=reads_only(method))
        except grpc.aio.AioRpcError as exc:
            error = from_status(exc.code(), exc.details(), tuple(exc.trailing_metadata() or ()))
            if error.status == 401 and sign_in_on_401:
                raise SignInNeeded() from None
            raise PageError(error) from None
        return reply

    async def signed_in(self, call: PageCall) -> session_service_pb2.SignedInUser | None:
        try:
            return await self.user(call)
        except SignInNeeded:
            return None

    async def user(self, call: PageCall) -> session_service_pb2.SignedInUser:
        if call.session is None:
            raise SignInNeeded()
        reply = await self.call(call, WHO, identity_service_pb2.GetSignedInUserRequest())
        assert isinstance(reply, session_service_pb2.SignedInUser)
        return reply

    async def static_file(self, request: Request) -> Response:
        found = self._static.get(request.path_params["name"])
        if found is None:
            return self.error_page(request, HttpError.of(404, "No such page"))
        body, media_type = found
        return Response(
            body, media_type=media_type, headers={"cache-control": "public, max-age=300"}
        )


def ok_id(value: str) -> bool:
    return 0 < len(value) <= 64 and value.isascii() and all(c.isalnum() or c in "-_" for c in value)


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def when(stamp: timestamp_pb2.Timestamp | datetime | None) -> str:
    """A moment as a person reads it, in UTC (the page does not know their zone)."""
    if stamp is None:
        return ""
    moment = stamp if isinstance(stamp, datetime) else stamp.ToDatetime(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def stamp(message: Message, name: str) -> timestamp_pb2.Timestamp | None:
    if not message.HasField(name):
        return None
    value: timestamp_pb2.Timestamp = getattr(message, name)
    return value
