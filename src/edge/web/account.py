"""Sign-in and Settings → API (decision 031).

Every piece of data comes from the gRPC server with the person's session as metadata,
so the interceptor decides what they may see and do exactly as for any other caller.
The page only hides controls a member could not use; the server refuses them anyway.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chronicle.v1 import api_key_pb2, api_key_service_pb2, session_service_pb2
from edge.errors import HttpError
from edge.upstream import rpc
from edge.web.guard import new_csrf_secret, safe_next
from edge.web.site import HOME, PageCall, PageError, Site, field, stamp, when

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


SIGN_IN = rpc(session_service_pb2, "SessionService", "SignIn")
SIGN_OUT = rpc(session_service_pb2, "SessionService", "SignOut")
LIST_KEYS = rpc(api_key_service_pb2, "ApiKeyService", "ListApiKeys")
GET_KEY = rpc(api_key_service_pb2, "ApiKeyService", "GetApiKey")
CREATE_KEY = rpc(api_key_service_pb2, "ApiKeyService", "CreateApiKey")
REVOKE_KEY = rpc(api_key_service_pb2, "ApiKeyService", "RevokeApiKey")
ROTATE_KEY = rpc(api_key_service_pb2, "ApiKeyService", "RotateApiKey")
LIST_EVENTS = rpc(api_key_service_pb2, "ApiKeyService", "ListApiKeyEvents")


@dataclass(frozen=True)
class ShownKey:
    """A raw key on the page once, right after it was made."""

    value: str
    name: str
    note: str = ""


class AccountPages:
    def __init__(self, site: Site) -> None:
        self._site = site

    def routes(self) -> list[Route]:
        page = self._site.page
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
        ]

    # Handlers ----------------------------------------------------------------------

    async def _root(self, call: PageCall) -> Response:
        return RedirectResponse(HOME, status_code=303)

    async def _login_form(self, call: PageCall) -> Response:
        target = safe_next(call.request.query_params.get("next"), HOME)
        if call.session is not None and await self._site.signed_in(call) is not None:
            return RedirectResponse(target, status_code=303)
        return self._site.render(
            call, "login.html", 200, next=target, email="", problem="", user=None
        )

    async def _sign_in(self, call: PageCall) -> Response:
        form = await self._site.form(call)
        target = safe_next(field(form, "next"), HOME)
        email = field(form, "email")
        sign_in = session_service_pb2.SignInRequest(email=email, password=field(form, "password"))
        try:
            reply = await self._site.call(call, SIGN_IN, sign_in, sign_in_on_401=False)
        except PageError as failed:
            if failed.error.status not in (400, 401, 429):
                raise
            problem = (
                "Invalid email or password"
                if failed.error.status != 429
                else "Too many sign-in attempts. Wait a minute and try again."
            )
            response = self._site.render(
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
        self._site.cookies.set_session(
            response, reply.session_token, reply.expires_at.ToDatetime(UTC)
        )
        # A new CSRF secret with the new session: nothing seen before sign-in stays valid.
        self._site.cookies.set_csrf(response, new_csrf_secret())
        return response

    async def _sign_out(self, call: PageCall) -> Response:
        await self._site.form(call)
        if call.session is not None:
            await self._site.call(call, SIGN_OUT, session_service_pb2.SignOutRequest())
        response = RedirectResponse("/login", status_code=303)
        self._site.cookies.clear_session(response)
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
        user = await self._site.user(call)
        keys = await self._keys(call, user.workspace_id)
        events = await self._site.call(
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
        return self._site.render(
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
        form = await self._site.form(call)
        user = await self._admin(call)
        values = {
            "name": field(form, "name").strip(),
            "environment": field(form, "environment"),
            "expires": field(form, "expires"),
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
            reply = await self._site.call(call, CREATE_KEY, create, form_id=field(form, "form_id"))
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
        return self._site.render(
            call, "revoke.html", 200, user=user, key=_row(key), reason="", problem=""
        )

    async def _revoke(self, call: PageCall) -> Response:
        form = await self._site.form(call)
        key_id = call.request.path_params["id"]
        reason = field(form, "reason").strip()
        if not reason:
            user = await self._admin(call)
            key = await self._key(call, key_id)
            return self._site.render(
                call,
                "revoke.html",
                400,
                user=user,
                key=_row(key),
                reason="",
                problem="Give a reason: it is kept in the activity log",
            )
        await self._site.call(
            call, REVOKE_KEY, api_key_service_pb2.RevokeApiKeyRequest(id=key_id, reason=reason)
        )
        return RedirectResponse(f"{HOME}#key-{quote(key_id)}", status_code=303)

    async def _rotate_form(self, call: PageCall) -> Response:
        user = await self._admin(call)
        key = await self._key(call, call.request.path_params["id"])
        return self._site.render(
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
        form = await self._site.form(call)
        key_id = call.request.path_params["id"]
        grace = field(form, "grace")
        if grace not in GRACE_PERIODS:
            raise PageError(HttpError.of(400, "Choose a grace period from the list"))
        rotate = api_key_service_pb2.RotateApiKeyRequest(id=key_id)
        rotate.grace_period.FromTimedelta(GRACE_PERIODS[grace])
        try:
            reply = await self._site.call(call, ROTATE_KEY, rotate, form_id=field(form, "form_id"))
        except PageError as failed:
            if failed.error.status != 409:
                raise
            return await self._settings(call, status=409, form={"problem": _SENT_TWICE})
        assert isinstance(reply, api_key_service_pb2.RotateApiKeyResponse)
        previous = reply.previous
        until = (
            f"The previous key keeps working until {when(previous.expires_at)}."
            if previous.state == "active" and previous.HasField("expires_at")
            else "The previous key no longer works."
        )
        return await self._settings(
            call, status=201, shown=ShownKey(reply.key, reply.api_key.name, until)
        )

    async def _admin(self, call: PageCall) -> session_service_pb2.SignedInUser:
        """The signed-in admin; a member gets the 403 page (the server would refuse too)."""
        user = await self._site.user(call)
        if user.role != "admin":
            raise PageError(
                HttpError.of(403, "Only a workspace admin can create, rotate or revoke keys")
            )
        return user

    async def _keys(self, call: PageCall, workspace_id: str) -> list[api_key_pb2.ApiKey]:
        keys: list[api_key_pb2.ApiKey] = []
        token = ""
        while len(keys) < _KEYS_SHOWN:
            page = await self._site.call(
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
        reply = await self._site.call(
            call, GET_KEY, api_key_service_pb2.GetApiKeyRequest(id=key_id)
        )
        assert isinstance(reply, api_key_pb2.ApiKey)
        return reply


_SENT_TWICE = (
    "This form was already sent, and the key it made was shown once then. "
    "If its value was not copied, rotate or revoke that key."
)


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


def _row(key: api_key_pb2.ApiKey) -> KeyRow:
    created = stamp(key, "created_at")
    return KeyRow(
        id=key.id,
        name=key.name,
        hint=key.hint,
        environment=key.environment,
        state=key.state,
        status=STATES.get(key.state, key.state.capitalize()),
        created=when(created),
        created_at=created.ToJsonString() if created is not None else "",
        created_by=key.created_by,
        last_used=when(stamp(key, "last_used_at")) or "Never",
        expires=when(stamp(key, "expires_at")) or "Never",
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
    at = stamp(event, "created_at")
    name = names.get(event.key_id, "")
    return EventRow(
        when=when(at),
        at=at.ToJsonString() if at is not None else "",
        what=event.event.replace("_", " ").capitalize(),
        key=f"{name} ({event.key_id})" if name else event.key_id,
        actor=event.actor,
        detail=event.detail,
    )
