"""Chronicle's own pages: sign-in and Settings → API (decision 031).

Server-rendered from Jinja2 templates; every piece of data comes from the gRPC server
with the person's session as metadata, so the interceptor decides what they may see
and do exactly as for any other caller. The page only hides controls a member could
not use; the server refuses them anyway.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from starlette.routing import Route

from chronicle import contract
from chronicle.config import Settings
from chronicle.v1 import (
    api_key_pb2,
    api_key_service_pb2,
    identity_service_pb2,
    session_service_pb2,
)
from edge.errors import HttpError, from_status
from edge.redaction import redact
from edge.upstream import Upstream
from edge.web.guard import PAGE_HEADERS, Cookies, csrf_ok, csrf_token, new_csrf_secret, safe_next

log = logging.getLogger(__name__)

HOME = "/settings/api"
MAX_FORM_BYTES = 16 * 1024  # a few short fields; a bigger form is refused unread
_KEYS_SHOWN = 500  # the table's rows: every key of any workspace a person manages

EXPIRIES = {  # the Expires select: label -> lifetime (None: never)
    "never": None,
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
    "90 days": timedelta(days=90),
    "1 year": timedelta(days=365),
}
GRACE_PERIODS = {  # the rotate page's grace window: label -> how long the old key works
    "none (the old key stops now)": timedelta(0),
    "1 hour": timedelta(hours=1),
    "24 hours": timedelta(hours=24),
    "7 days": timedelta(days=7),
}
DEFAULT_GRACE = "24 hours"
ENVIRONMENTS = ("live", "test")
STATES = {"active": "Active", "revoked": "Revoked", "expired": "Expired"}


def _method(module: Any, service: str, name: str) -> descriptor.MethodDescriptor:
    method: descriptor.MethodDescriptor = module.DESCRIPTOR.services_by_name[
        service
    ].methods_by_name[name]
    return method


SIGN_IN = _method(session_service_pb2, "SessionService", "SignIn")
SIGN_OUT = _method(session_service_pb2, "SessionService", "SignOut")
WHO = _method(identity_service_pb2, "IdentityService", "GetSignedInUser")
LIST_KEYS = _method(api_key_service_pb2, "ApiKeyService", "ListApiKeys")
GET_KEY = _method(api_key_service_pb2, "ApiKeyService", "GetApiKey")
CREATE_KEY = _method(api_key_service_pb2, "ApiKeyService", "CreateApiKey")
REVOKE_KEY = _method(api_key_service_pb2, "ApiKeyService", "RevokeApiKey")
ROTATE_KEY = _method(api_key_service_pb2, "ApiKeyService", "RotateApiKey")
LIST_EVENTS = _method(api_key_service_pb2, "ApiKeyService", "ListApiKeyEvents")


class PageError(Exception):
    """Answered with the error page: `error`'s status and message."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.message)
        self.error = error


class SignInNeeded(Exception):
    """No session, or one the server no longer takes: to /login, then back here."""


@dataclass(frozen=True)
class ShownKey:
    """A raw key on the page once, right after it was made."""

    value: str
    name: str
    note: str = ""


@dataclass
class PageCall:
    """One page request: its session (if any) and the id its gRPC calls carry."""

    request: Request
    session: str | None
    request_id: str

    def metadata(self, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        metadata = [("x-request-id", self.request_id), *extra]
        if self.session is not None:
            metadata.append((contract.SESSION_METADATA, self.session))
        client = self.request.client.host if self.request.client is not None else ""
        if client:
            metadata.append((contract.CLIENT_ADDRESS_METADATA, client))
        return metadata


class Pages:
    def __init__(self, settings: Settings, upstream: Upstream) -> None:
        self._upstream = upstream
        self._cookies = Cookies.for_url(settings.public_url)
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("edge.web"),
            autoescape=True,  # every name, reason and email a person typed is escaped
            undefined=jinja2.StrictUndefined,
        )
        self._templates.filters["when"] = _when
        static = resources.files("edge.web") / "static"
        self._static = {
            "app.css": (static.joinpath("app.css").read_bytes(), "text/css"),
            "app.js": (static.joinpath("app.js").read_bytes(), "text/javascript"),
        }

    def routes(self) -> list[Route]:
        page = self._page
        return [
            Route("/", page(self._root), methods=["GET", "HEAD"]),
            Route("/login", page(self._login_form), methods=["GET", "HEAD"]),
            Route("/login", page(self._sign_in), methods=["POST"]),
            Route("/logout", page(self._sign_out), methods=["POST"]),
            Route("/settings", page(self._root), methods=["GET", "HEAD"]),
            Route(HOME, page(self._settings), methods=["GET", "HEAD"]),
            Route(f"{HOME}/keys", page(self._create), methods=["POST"]),
            Route(HOME + "/keys/{id}/revoke", page(self._revoke_form), methods=["GET", "HEAD"]),
            Route(HOME + "/keys/{id}/revoke", page(self._revoke), methods=["POST"]),
            Route(HOME + "/keys/{id}/rotate", page(self._rotate_form), methods=["GET", "HEAD"]),
            Route(HOME + "/keys/{id}/rotate", page(self._rotate), methods=["POST"]),
            Route("/static/{name}", self._static_file, methods=["GET", "HEAD"]),
        ]

    def error_page(self, request: Request, error: HttpError) -> Response:
        """An HTML page for `error` (404 and 405 of paths no route serves, too)."""
        call = PageCall(request, self._cookies.session_token(request), _request_id())
        return self._render(call, "error.html", error.status, error=error, user=None)

    # Handlers ----------------------------------------------------------------------

    async def _root(self, call: PageCall) -> Response:
        return RedirectResponse(HOME, status_code=303)

    async def _login_form(self, call: PageCall) -> Response:
        target = safe_next(call.request.query_params.get("next"), HOME)
        if call.session is not None and await self._signed_in(call) is not None:
            return RedirectResponse(target, status_code=303)
        return self._render(call, "login.html", 200, next=target, email="", problem="", user=None)

    async def _sign_in(self, call: PageCall) -> Response:
        form = await self._form(call)
        target = safe_next(_field(form, "next"), HOME)
        email = _field(form, "email")
        sign_in = session_service_pb2.SignInRequest(email=email, password=_field(form, "password"))
        try:
            reply = await self._call(call, SIGN_IN, sign_in)
        except PageError as failed:
            if failed.error.status not in (400, 401, 429):
                raise
            problem = (
                "Invalid email or password"
                if failed.error.status != 429
                else "Too many sign-in attempts. Wait a minute and try again."
            )
            response = self._render(
                call,
                "login.html",
                failed.error.status,
                next=target,
                email=email,
                problem=problem,
                user=None,
            )
            response.headers.update(
                {k: v for k, v in failed.error.headers.items() if k == "retry-after"}
            )
            return response
        assert isinstance(reply, session_service_pb2.SignInResponse)
        response = RedirectResponse(target, status_code=303)
        self._cookies.set_session(response, reply.session_token, reply.expires_at.ToDatetime(UTC))
        # A new CSRF secret with the new session: nothing seen before sign-in stays valid.
        self._cookies.set_csrf(response, new_csrf_secret())
        return response

    async def _sign_out(self, call: PageCall) -> Response:
        await self._form(call)
        if call.session is not None:
            await self._call(call, SIGN_OUT, session_service_pb2.SignOutRequest())
        response = RedirectResponse("/login", status_code=303)
        self._cookies.clear_session(response)
        return response

    async def _settings(
        self,
        call: PageCall,
        *,
        shown: ShownKey | None = None,
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        """Settings → API; `form`: the create form's values and problem, to show again."""
        user = await self._user(call)
        keys = await self._keys(call, user.workspace_id)
        events = await self._call(
            call,
            LIST_EVENTS,
            api_key_service_pb2.ListApiKeyEventsRequest(
                workspace_id=user.workspace_id, page_size=50
            ),
        )
        assert isinstance(events, api_key_service_pb2.ListApiKeyEventsResponse)
        names = {key.id: key.name for key in keys}
        values = {"name": "", "environment": "live", "expires": "never", "problem": ""}
        values |= form or {}
        return self._render(
            call,
            "settings_api.html",
            status,
            user=user,
            keys=[_row(key) for key in keys],
            events=[_event(event, names) for event in events.events],
            shown=shown,
            form=values,
            expiries=list(EXPIRIES),
            environments=ENVIRONMENTS,
            form_id=secrets.token_urlsafe(16),
        )

    async def _create(self, call: PageCall) -> Response:
        form = await self._form(call)
        user = await self._admin(call)
        values = {
            "name": _field(form, "name").strip(),
            "environment": _field(form, "environment"),
            "expires": _field(form, "expires"),
        }
        problem = (
            "Give the key a name"
            if not values["name"]
            else "Choose live or test"
            if values["environment"] not in ENVIRONMENTS
            else "Choose when the key expires"
            if values["expires"] not in EXPIRIES
            else ""
        )
        if problem:
            return await self._settings(call, status=400, form={**values, "problem": problem})
        create = api_key_service_pb2.CreateApiKeyRequest(
            workspace_id=user.workspace_id,
            name=values["name"],
            environment=values["environment"],
        )
        lifetime = EXPIRIES[values["expires"]]
        if lifetime is not None:
            create.expires_in.FromTimedelta(lifetime)
        try:
            reply = await self._call(call, CREATE_KEY, create, form_id=_field(form, "form_id"))
        except PageError as failed:
            if failed.error.status == 409:  # the same form sent again (a reload)
                return await self._settings(
                    call, status=409, form={**values, "problem": _SENT_TWICE}
                )
            if failed.error.status != 400:
                raise
            return await self._settings(
                call, status=400, form={**values, "problem": failed.error.message}
            )
        assert isinstance(reply, api_key_service_pb2.CreateApiKeyResponse)
        return await self._settings(call, status=201, shown=ShownKey(reply.key, reply.api_key.name))

    async def _revoke_form(self, call: PageCall) -> Response:
        user = await self._admin(call)
        key = await self._key(call, call.request.path_params["id"])
        return self._render(
            call, "revoke.html", 200, user=user, key=_row(key), reason="", problem=""
        )

    async def _revoke(self, call: PageCall) -> Response:
        form = await self._form(call)
        key_id = call.request.path_params["id"]
        reason = _field(form, "reason").strip()
        if not reason:
            user = await self._admin(call)
            key = await self._key(call, key_id)
            return self._render(
                call,
                "revoke.html",
                400,
                user=user,
                key=_row(key),
                reason="",
                problem="Give a reason: it is kept in the activity log",
            )
        await self._call(
            call, REVOKE_KEY, api_key_service_pb2.RevokeApiKeyRequest(id=key_id, reason=reason)
        )
        return RedirectResponse(f"{HOME}#key-{quote(key_id)}", status_code=303)

    async def _rotate_form(self, call: PageCall) -> Response:
        user = await self._admin(call)
        key = await self._key(call, call.request.path_params["id"])
        return self._render(
            call,
            "rotate.html",
            200,
            user=user,
            key=_row(key),
            graces=list(GRACE_PERIODS),
            grace=DEFAULT_GRACE,
            form_id=secrets.token_urlsafe(16),
        )

    async def _rotate(self, call: PageCall) -> Response:
        form = await self._form(call)
        key_id = call.request.path_params["id"]
        grace = _field(form, "grace")
        if grace not in GRACE_PERIODS:
            raise PageError(HttpError.of(400, "Choose a grace period from the list"))
        rotate = api_key_service_pb2.RotateApiKeyRequest(id=key_id)
        rotate.grace_period.FromTimedelta(GRACE_PERIODS[grace])
        try:
            reply = await self._call(call, ROTATE_KEY, rotate, form_id=_field(form, "form_id"))
        except PageError as failed:
            if failed.error.status != 409:
                raise
            return await self._settings(call, status=409, form={"problem": _SENT_TWICE})
        assert isinstance(reply, api_key_service_pb2.RotateApiKeyResponse)
        previous = reply.previous
        until = (
            f"The previous key keeps working until {_when(previous.expires_at)}."
            if previous.state == "active" and previous.HasField("expires_at")
            else "The previous key no longer works."
        )
        return await self._settings(
            call, status=201, shown=ShownKey(reply.key, reply.api_key.name, until)
        )

    async def _static_file(self, request: Request) -> Response:
        found = self._static.get(request.path_params["name"])
        if found is None:
            return self.error_page(request, HttpError.of(404, "No such page"))
        body, media_type = found
        return Response(
            body, media_type=media_type, headers={"cache-control": "public, max-age=300"}
        )

    # Plumbing ----------------------------------------------------------------------

    def _page(
        self, handler: Callable[[PageCall], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """`handler` as a route: sign-in redirects and errors answered as pages."""

        async def serve(request: Request) -> Response:
            call = PageCall(request, self._cookies.session_token(request), _request_id())
            try:
                response = await handler(call)
            except SignInNeeded:
                target = request.url.path if request.method == "GET" else HOME
                response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                if call.session is not None:
                    self._cookies.clear_session(response)
            except PageError as failed:
                response = self._render(
                    call, "error.html", failed.error.status, error=failed.error, user=None
                )
            except Exception:
                log.exception(
                    "unhandled error serving %s %s", request.method, redact(request.url.path)
                )
                error = HttpError.of(500, "Something went wrong on our side. Try again.")
                response = self._render(call, "error.html", 500, error=error, user=None)
            response.headers.update(PAGE_HEADERS)
            return response

        return serve

    def _render(self, call: PageCall, template: str, status: int, **context: Any) -> Response:
        secret = self._cookies.csrf_secret(call.request)
        fresh = secret is None
        if secret is None:
            secret = new_csrf_secret()
        html = self._templates.get_template(template).render(
            csrf=csrf_token(secret, call.session), **context
        )
        response = Response(html, status_code=status, media_type="text/html")
        if fresh:
            self._cookies.set_csrf(response, secret)
        response.headers.update(PAGE_HEADERS)
        return response

    async def _form(self, call: PageCall) -> FormData:
        """The POSTed form, once its CSRF token is checked (403 page: nothing done)."""
        length = call.request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_FORM_BYTES:
            raise PageError(HttpError.of(413, "The form is too large"))
        try:
            form = await call.request.form(max_files=0, max_fields=20)
        except Exception as exc:  # malformed bodies of every kind python-multipart meets
            raise PageError(HttpError.of(400, "The form could not be read")) from exc
        if not csrf_ok(call.request, self._cookies, _field(form, "csrf")):
            raise PageError(
                HttpError.of(
                    403,
                    "This form has expired or did not come from this site. "
                    "Go back, reload the page and try again.",
                )
            )
        return form

    async def _call(
        self,
        call: PageCall,
        method: descriptor.MethodDescriptor,
        message: Message,
        *,
        form_id: str = "",
    ) -> Message:
        """The server's reply; its refusal raised as PageError (401: SignInNeeded)."""
        # The form's own id as Idempotency-Key: a form sent twice (a reload) makes one key.
        extra = ((contract.IDEMPOTENCY_KEY_METADATA, form_id),) if _ok_id(form_id) else ()
        read = method.name.startswith(("Get", "List"))
        try:
            reply, _ = await self._upstream.unary(method, message, call.metadata(*extra), read=read)
        except grpc.aio.AioRpcError as exc:
            error = from_status(exc.code(), exc.details(), tuple(exc.trailing_metadata() or ()))
            if error.status == 401 and method is not SIGN_IN:
                raise SignInNeeded() from None
            raise PageError(error) from None
        return reply

    async def _signed_in(self, call: PageCall) -> session_service_pb2.SignedInUser | None:
        try:
            return await self._user(call)
        except SignInNeeded:
            return None

    async def _user(self, call: PageCall) -> session_service_pb2.SignedInUser:
        if call.session is None:
            raise SignInNeeded()
        reply = await self._call(call, WHO, identity_service_pb2.GetSignedInUserRequest())
        assert isinstance(reply, session_service_pb2.SignedInUser)
        return reply

    async def _admin(self, call: PageCall) -> session_service_pb2.SignedInUser:
        """The signed-in admin; a member gets the 403 page (the server would refuse too)."""
        user = await self._user(call)
        if user.role != "admin":
            raise PageError(
                HttpError.of(403, "Only a workspace admin can create, rotate or revoke keys")
            )
        return user

    async def _keys(self, call: PageCall, workspace_id: str) -> list[api_key_pb2.ApiKey]:
        keys: list[api_key_pb2.ApiKey] = []
        token = ""
        while len(keys) < _KEYS_SHOWN:
            page = await self._call(
                call,
                LIST_KEYS,
                api_key_service_pb2.ListApiKeysRequest(
                    workspace_id=workspace_id, page_size=100, page_token=token
                ),
            )
            assert isinstance(page, api_key_service_pb2.ListApiKeysResponse)
            keys.extend(page.api_keys)
            token = page.next_page_token
            if not token:
                break
        return keys

    async def _key(self, call: PageCall, key_id: str) -> api_key_pb2.ApiKey:
        reply = await self._call(call, GET_KEY, api_key_service_pb2.GetApiKeyRequest(id=key_id))
        assert isinstance(reply, api_key_pb2.ApiKey)
        return reply


_SENT_TWICE = (
    "This form was already sent, and the key it made was shown once then. "
    "If its value was not copied, rotate or revoke that key."
)


def _ok_id(value: str) -> bool:
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value) and value.isascii()


def _request_id() -> str:
    return f"{random.getrandbits(128):032x}"


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _when(stamp: timestamp_pb2.Timestamp | datetime | None) -> str:
    """A moment as a person reads it, in UTC (the page does not know their zone)."""
    if stamp is None:
        return ""
    moment = stamp if isinstance(stamp, datetime) else stamp.ToDatetime(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class KeyRow:
    id: str
    name: str
    hint: str
    environment: str
    state: str
    status: str
    created: str
    created_at: str
    created_by: str
    last_used: str
    expires: str
    revoke_reason: str


def _stamp(message: Message, field: str) -> timestamp_pb2.Timestamp | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp


def _row(key: api_key_pb2.ApiKey) -> KeyRow:
    created = _stamp(key, "created_at")
    return KeyRow(
        id=key.id,
        name=key.name,
        hint=key.hint,
        environment=key.environment,
        state=key.state,
        status=STATES.get(key.state, key.state.capitalize()),
        created=_when(created),
        created_at=created.ToJsonString() if created is not None else "",
        created_by=key.created_by,
        last_used=_when(_stamp(key, "last_used_at")) or "Never",
        expires=_when(_stamp(key, "expires_at")) or "Never",
        revoke_reason=key.revoke_reason,
    )


@dataclass(frozen=True)
class EventRow:
    when: str
    at: str
    what: str
    key: str
    actor: str
    detail: str


def _event(event: api_key_pb2.ApiKeyEvent, names: dict[str, str]) -> EventRow:
    at = _stamp(event, "created_at")
    name = names.get(event.key_id, "")
    return EventRow(
        when=_when(at),
        at=at.ToJsonString() if at is not None else "",
        what=event.event.replace("_", " ").capitalize(),
        key=f"{name} ({event.key_id})" if name else event.key_id,
        actor=event.actor,
        detail=event.detail,
    )
