"""Clients that leave before their request was read: the request ends with a debug line,
not an error logged by whichever handler was reading."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class ClientGone(BaseException):
    """The client left before its request body (possibly empty) was read. A
    BaseException, so that no handler's `except Exception` logs it as an error:
    `QuietDisconnects` ends the request here with a debug line."""


class QuietDisconnects:
    """Turns a disconnect before the request body was read into `ClientGone`, caught
    around the application: no route sees `http.disconnect` (starlette's
    ClientDisconnect) while reading a body, even an empty one. After the body, a
    disconnect is the plain ASGI message (what streaming responses listen for)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body_done = False

        async def receive_body() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.disconnect" and not body_done:
                raise ClientGone
            body_done = body_done or not message.get("more_body", False)
            return message

        try:
            await self._app(scope, receive_body, send)
        except* ClientGone:  # also from inside a task group
            client = scope.get("client") or ("?", 0)
            log.debug("client %s left before its request body was read", client[0])
