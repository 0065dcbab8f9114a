"""The edge's HTTP server: uvicorn's httptools protocol with the limits uvicorn lacks
(header, body and idle timeouts; open connections per client address and in total; a
header size cap) and Chronicle's error envelope for what the server refuses on its own."""

from __future__ import annotations

import asyncio
import http
import logging
import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from chronicle.config import Settings
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.errors import HttpError
from edge.fd_exhaustion_log import FdExhaustionLog
from edge.quiet_disconnects import QuietDisconnects
from edge.redaction import redact_access_log

log = logging.getLogger(__name__)

# Descriptors kept for everything but client connections: the gRPC channel and server,
# database files, logs, Redis. The connection cap stays this far below the fd limit.
FD_RESERVE = 256
# A slow body must still move: the body timer restarts each time this much has arrived,
# so the timeout is also a minimum rate (64 KiB per CHRONICLE_HTTP_BODY_TIMEOUT).
BODY_PROGRESS_BYTES = 64 * 1024
# After a refusal the server reads and drops what the client is still sending for a
# moment, so that the client reads the answer instead of a connection reset.
LINGER_SECONDS = 1.0
LINGER_BYTES = 256 * 1024
# Past this many refused connections lingering at once, refuse without lingering: a
# connect flood must not hold descriptors for a second each (well within FD_RESERVE).
MAX_LINGERING = 64


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    keep_alive_timeout: float
    max_connections: int
    max_connections_per_client: int
    max_header_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The settings' limits, the total cap lowered to fit the process's fd limit."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        total = settings.http_max_connections
        if soft != resource.RLIM_INFINITY and total > soft - FD_RESERVE:
            total = max(1, soft - FD_RESERVE)
            log.warning(
                "CHRONICLE_HTTP_MAX_CONNECTIONS lowered from %d to %d: the process may open "
                "%d files (ulimit -n)",
                settings.http_max_connections,
                total,
                soft,
            )
        return cls(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            keep_alive_timeout=settings.http_keep_alive_timeout_seconds,
            max_connections=total,
            max_connections_per_client=settings.http_max_connections_per_client,
            max_header_bytes=settings.http_max_header_bytes,
        )


class ConnectionBook:
    """Open client connections, in total and per client address."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self._limits = limits
        self.total = 0
        self.lingering = 0
        self._per_client: dict[str, int] = {}

    def admit(self, client: str) -> HttpError | None:
        """None and counted, or the refusal to answer with."""
        if self.total >= self._limits.max_connections:
            return _unavailable("The server has too many open connections")
        if self._per_client.get(client, 0) >= self._limits.max_connections_per_client:
            return _unavailable("Too many open connections from this address")
        self.total += 1
        self._per_client[client] = self._per_client.get(client, 0) + 1
        return None

    def release(self, client: str) -> None:
        self.total -= 1
        left = self._per_client[client] - 1
        if left:
            self._per_client[client] = left
        else:
            del self._per_client[client]


def _unavailable(message: str) -> HttpError:
    return HttpError.of(503, message).retry_after(1)


class _Refusal(Exception):
    """Raised in a parser callback: httptools stops parsing and re-raises it as the
    context of an HttpParserCallbackError."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.message)
        self.error = error


def _response_bytes(error: HttpError) -> bytes:
    body = error.body()
    phrase = http.HTTPStatus(error.status).phrase
    lines = [
        f"HTTP/1.1 {error.status} {phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in error.headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# Where the connection is in its current request; only HEADERS and BODY run a timer of
# this module's (uvicorn's own keep-alive timer covers the time between requests).
IDLE, HEADERS, BODY, DRAINING = range(4)


class _WatchedFlow(FlowControl):
    """uvicorn's flow control, telling the protocol when reading pauses or resumes."""

    def __init__(self, transport: asyncio.Transport, changed: Callable[[], None]) -> None:
        super().__init__(transport)
        self._changed = changed

    def pause_reading(self) -> None:
        if not self.read_paused:
            super().pause_reading()
            self._changed()

    def resume_reading(self) -> None:
        if self.read_paused:
            super().resume_reading()
            self._changed()


class GuardedHttpProtocol(HttpToolsProtocol):
    """One connection. Subclassed per server by `protocol_for`, with its limits and book."""

    limits: ClassVar[ConnectionLimits]
    book: ClassVar[ConnectionBook]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = IDLE
        self._timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._body_bytes = 0
        self._counted: str | None = None  # the client address, once the book counts it
        self._drained = 0
        self._running: RequestResponseCycle | None = None  # whose application runs
        self._due: tuple[HttpError, bool] | None = None  # a refusal waiting its turn

    # Connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.flow = _WatchedFlow(self.transport, self._reading_changed)
        client = self.client[0] if self.client else ""
        refusal = self.book.admit(client)
        if refusal is not None:
            log.debug("refused a connection from %s: %s", client, refusal.message)
            self._refuse(refusal, linger=self.book.lingering < MAX_LINGERING)
            return
        self._counted = client
        # Until the first byte, the header timeout is also the idle timeout.
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted is not None:
            self.book.release(self._counted)
            self._counted = None
        if self._phase == DRAINING:
            self.book.lingering -= 1
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == DRAINING:
            self._drained += len(data)
            if self._drained > LINGER_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        if self._phase == HEADERS:
            self._header_bytes += len(data)
        elif self._phase == BODY:
            self._body_bytes += len(data)
            if self._body_bytes >= BODY_PROGRESS_BYTES:
                self._body_bytes = 0
                self._disarm()  # progress: a new body deadline, below
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No WebSockets here; the request itself was served as plain HTTP.
            self.logger.debug("ignored an Upgrade request header")
        except httptools.HttpParserError as exc:
            refusal = exc.__context__
            if isinstance(refusal, _Refusal):
                self._refuse(refusal.error)
            else:
                log.debug("malformed request from %s: %s", self._counted, exc)
                self._refuse(HttpError.of(400, "The request is not valid HTTP"))
            return
        if self._phase == HEADERS and self._header_bytes > self.limits.max_header_bytes:
            self._refuse(self._headers_too_large())
        elif self._timer is None:
            self._arm_for_phase()

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase, self._header_bytes = HEADERS, 0

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.limits.max_header_bytes:
            raise _Refusal(self._headers_too_large())
        self._disarm()
        super().on_headers_complete()
        # Only now is self.cycle this request's (uvicorn may still refuse its path above).
        self._phase, self._body_bytes = BODY, 0

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._phase = IDLE

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._due is not None:
            if self._answering():
                self.flow.pause_reading()  # uvicorn resumed it for the next request
            else:
                self._answer_due()
        elif self._phase == BODY and self.cycle.response_complete:
            self._close_after_answer()

    # Timers

    def _reading_changed(self) -> None:
        """Timers run only while the edge reads: while reading is paused (a full body
        buffer the application has not asked for yet, a pipelined request waiting its
        turn), the wait is the server's, not the client's."""
        if self.flow.read_paused:
            self._disarm()
        else:
            self._body_bytes = 0
            self._arm_for_phase()

    def _arm_for_phase(self) -> None:
        if self._phase == HEADERS:
            self._arm(self.limits.header_timeout)
        elif self._phase == BODY and not self.flow.read_paused:
            self._arm(self.limits.body_timeout)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._phase == DRAINING or self.transport.is_closing():
            self.transport.close()
        elif self._phase == IDLE:
            self.transport.close()  # nothing asked yet: nothing to answer
        else:
            part = "headers" if self._phase == HEADERS else "body"
            log.debug("request %s from %s timed out", part, self._counted)
            message = f"The request's {part} did not arrive in time"
            self._refuse(HttpError.of(408, message, ErrorReason.BAD_REQUEST))

    # Refusals

    def _headers_too_large(self) -> HttpError:
        limit = self.limits.max_header_bytes
        return HttpError.of(
            431, f"The request's headers exceed {limit} bytes", ErrorReason.BAD_REQUEST
        )

    def _refuse(self, error: HttpError, *, linger: bool = True) -> None:
        """Answers `error` in its turn, after the responses to earlier requests on this
        connection, then closes (after reading and dropping what the client still sends
        for a moment, when `linger`)."""
        if self._phase == DRAINING or self.transport.is_closing():
            return
        # The refused request has a cycle of its own only once its headers are in; in
        # HEADERS or IDLE, self.cycle is an earlier request's.
        cycle = self.cycle if self._phase == BODY else None
        self._disarm()
        self._enter_draining()
        queued = next((entry for entry in self.pipeline if entry[0] is cycle), None)
        if queued is not None:
            self.pipeline.remove(queued)
            cycle = None  # queued behind an earlier request: refused in its turn, below
        if cycle is None:
            self._due = error, linger
            if self._answering():
                self.flow.pause_reading()
            else:
                self._answer_due()
            return
        if not cycle.response_started:
            self.transport.write(_response_bytes(error))
        if not cycle.response_complete:
            # The application's receive() reports a disconnect; its response is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self._close(linger=linger)

    def _answering(self) -> bool:
        """Whether a response to an earlier request is still to be written."""
        running = self._running is not None and not self._running.response_complete
        return running or bool(self.pipeline)

    def _answer_due(self) -> None:
        assert self._due is not None
        (error, linger), self._due = self._due, None
        if self.transport.is_closing():
            return  # the last response closed the connection (connection: close)
        self.transport.write(_response_bytes(error))
        self._close(linger=linger)

    def _close_after_answer(self) -> None:
        """Ends a connection whose request was answered before its body arrived (401,
        413…): reading the rest would be work for nothing."""
        self._disarm()
        self._enter_draining()
        self._close(linger=True)

    def _enter_draining(self) -> None:
        self._phase = DRAINING
        self.book.lingering += 1

    def _close(self, *, linger: bool) -> None:
        if not linger or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.flow.resume_reading()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def protocol_for(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """A protocol class of this server's own: the limits and book are per server."""
    attributes = {"limits": limits, "book": ConnectionBook(limits)}
    return type("EdgeHttpProtocol", (GuardedHttpProtocol,), attributes)


class EdgeHttpServer(uvicorn.Server):
    """uvicorn, with the descriptor-exhaustion log handler on its event loop; it tells
    `on_started` when it accepts connections (a supervised process is then ready)."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(FdExhaustionLog())
        await super().serve(sockets=sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def server_config(app: ASGIApp, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's config for the edge: the guarded protocol, no WebSockets, the access log
    redacted, quiet about clients that leave mid-request."""
    limits = ConnectionLimits.from_settings(settings)
    config = uvicorn.Config(
        QuietDisconnects(app),
        http=protocol_for(limits),
        ws="none",
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
        access_log=settings.access_log,
        # The client's address is the peer's: uvicorn would otherwise take X-Forwarded-For
        # and X-Forwarded-Proto from any peer on 127.0.0.1 (forwarded_allow_ips' default),
        # letting local clients pick their address for the server's per-client budgets.
        # The server trusts this edge itself (CHRONICLE_TRUSTED_PROXIES).
        proxy_headers=False,
        forwarded_allow_ips=[],
        **options,
    )
    redact_access_log()  # after uvicorn.Config, which sets up logging
    return config
