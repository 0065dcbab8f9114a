"""Slow, idle, greedy and broken HTTP clients, over real sockets: the edge times them out,
caps their connections, refuses huge headers, answers in its own envelope, and neither
logs a key nor an error for a client that left."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from starlette.types import Receive, Scope, Send

from chronicle.config import Settings
from edge.app import http_server
from tests.conftest import Tenant
from tests.harness import EdgeServer, free_port, reachable
from tests.waiting import wait_until

EdgeFactory = Callable[..., EdgeServer]

# Far above the small timeouts below; only reached when a client is never cut off.
PATIENCE_SECONDS = 10.0
SHORT = {"http_header_timeout_seconds": 0.5, "http_body_timeout_seconds": 0.5}


def connect(edge: EdgeServer, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", edge.port), source_address=(source, 0))
    sock.settimeout(PATIENCE_SECONDS)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; AssertionError if it keeps the
    connection open past the socket's timeout."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the server held the connection: {chunks!r:.200}") from None
    return b"".join(chunks)


def exchange(edge: EdgeServer, request: bytes, source: str = "127.0.0.1") -> bytes:
    with connect(edge, source) as sock:
        sock.sendall(request)
        return read_all(sock)


def status_and_error(response: bytes) -> tuple[int, dict[str, object]]:
    """The status, and the envelope's `error` (which must be there, as JSON)."""
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), response[:200]
    assert b"content-type: application/json" in head.lower(), head
    error: dict[str, object] = json.loads(body)["error"]
    return int(head.split()[1]), error


def readable(sock: socket.socket, timeout: float) -> bool:
    """Whether `sock` has something to read within `timeout`: poll, not select(), which
    refuses descriptors past 1024 (a long test session holds that many)."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def trickle(sock: socket.socket, data: bytes) -> bytes:
    """Sends `data` a byte every 50 ms; what the server answered once it stops listening
    (b"" if it closed without a word), or AssertionError if it never does."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    for byte in data:
        if readable(sock, 0.05):
            return read_all(sock)
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return read_all(sock)
        assert time.monotonic() < deadline, "the server held a trickling client"
    raise AssertionError("the server held a trickling client until it sent everything")


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "host: edge", *headers, "", ""]
    return "\r\n".join(lines).encode()


def test_a_trickled_header_is_cut_off_with_408(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(**SHORT)
    with connect(edge) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: edge\r\n")
        answer = trickle(sock, b"x-slow: " + b"a" * 1000 + b"\r\n\r\n")
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (408, "BAD_REQUEST")


def test_a_trickled_body_is_cut_off_with_408(edge_factory: EdgeFactory, tenant: Tenant) -> None:
    edge = edge_factory(**SHORT)
    body = json.dumps({"title": "slow " * 200}).encode()
    with connect(edge) as sock:
        head = [
            "POST /api/v1/presentations HTTP/1.1",
            "host: edge",
            f"authorization: Bearer {tenant.key}",
            "content-type: application/json",
            f"content-length: {len(body)}",
        ]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = trickle(sock, body)
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (408, "BAD_REQUEST")


def test_idle_connections_are_closed_after_the_configured_time(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(**SHORT, http_keep_alive_timeout_seconds=0.5)
    with connect(edge) as never_asked:
        never_asked.settimeout(3.0)  # uvicorn's own idle timeout is 5 s
        assert read_all(never_asked) == b""  # closed without a word
    with connect(edge) as asked_once:
        asked_once.sendall(get("/healthz"))
        asked_once.settimeout(3.0)
        assert read_all(asked_once).startswith(b"HTTP/1.1 200 ")  # then closed


def test_a_client_over_its_connection_cap_is_refused_while_others_are_served(
    edge_factory: EdgeFactory,
) -> None:
    edge = edge_factory(http_max_connections_per_client=3)
    held = [connect(edge) for _ in range(3)]
    try:
        wait_until(lambda: edge_connections(edge) == 3, what="the edge holding 3 connections")
        status, error = status_and_error(exchange(edge, get("/healthz")))
        assert (status, error["code"]) == (503, "UNAVAILABLE")
        other = exchange(edge, get("/healthz", "connection: close"), source="127.0.0.2")
        assert other.startswith(b"HTTP/1.1 200 "), other[:200]
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: edge_connections(edge) == 0, what="the held connections closing")
    assert exchange(edge, get("/healthz", "connection: close")).startswith(b"HTTP/1.1 200 ")


def edge_connections(edge: EdgeServer) -> int:
    return len(edge.server.server_state.connections)


def test_an_oversized_header_is_refused_with_431(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(http_max_header_bytes=8192)
    answer = exchange(edge, get("/healthz", "x-big: " + "b" * 20_000))
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (431, "BAD_REQUEST")
    # Just under the cap is served.
    fits = exchange(edge, get("/healthz", "x-big: " + "b" * 7000, "connection: close"))
    assert fits.startswith(b"HTTP/1.1 200 ")


def test_a_64_mb_header_line_is_not_buffered(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(http_max_header_bytes=8192)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    chunk, total, sent = b"c" * 65536, 64 * 1024 * 1024, 0
    with connect(edge) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nx-huge: ")
        try:
            while sent < total:
                sent += sock.send(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < total, "the server took a 64 MB header line"
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown < 32 * 1024, f"peak memory grew by {grown} KiB"


def test_a_malformed_request_is_answered_with_the_envelope(edge_factory: EdgeFactory) -> None:
    edge = edge_factory()
    for request in (
        b"GET /healthz HTTP/1.1\r\nhost: edge\r\nno colon here\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\n\r\n",
    ):
        status, error = status_and_error(exchange(edge, request))
        assert (status, error["code"]) == (400, "BAD_REQUEST"), request


class _Keep(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.kept: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.append(record)


@contextmanager
def records(*names: str, level: int = logging.DEBUG) -> Iterator[list[logging.LogRecord]]:
    """Records of these loggers (and their children) at `level` or above, whatever
    uvicorn's logging set-up says about propagation."""
    handler = _Keep(level)
    kept = handler.kept
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(level)
    try:
        yield kept
    finally:
        for logger, old in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)


def test_the_access_log_never_shows_a_key_from_the_path_or_query(
    edge_factory: EdgeFactory, tenant: Tenant
) -> None:
    edge = edge_factory()
    encoded = tenant.key.replace("_", "%5F")
    with records("uvicorn.access", level=logging.INFO) as kept:
        exchange(edge, get(f"/api/v1/nope/{tenant.key}", "connection: close"))
        exchange(edge, get(f"/api/v1/templates?key={encoded}", "connection: close"))
        wait_until(lambda: len(kept) == 2, what="two access log lines")
    lines = [record.getMessage() for record in kept]
    secret = tenant.key.split("_")[3]
    assert all(secret not in line and "chr_[redacted]" in line for line in lines), lines
    assert "/api/v1/nope/" in lines[0]


def test_a_client_leaving_mid_body_is_no_error(edge_factory: EdgeFactory, tenant: Tenant) -> None:
    edge = edge_factory()
    with records("", "uvicorn", "edge") as kept:
        with connect(edge) as sock:
            head = [
                "POST /api/v1/presentations HTTP/1.1",
                "host: edge",
                f"authorization: Bearer {tenant.key}",
                "content-type: application/json",
                "content-length: 10000",
            ]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n" + '{"title": "').encode())
            time.sleep(0.2)  # the edge is reading the body
        wait_until(
            lambda: any("left" in r.getMessage() or r.levelno >= logging.ERROR for r in kept),
            what="the edge noticing the client left",
        )
    errors = [r.getMessage() for r in kept if r.levelno >= logging.WARNING]
    assert errors == []


def test_the_edge_still_serves_after_slow_clients_are_cut_off(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(**SHORT)
    slow = [connect(edge) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    wait_until(lambda: edge_connections(edge) == 0, what="the slow connections cut off")
    for sock in slow:
        sock.close()
    assert exchange(edge, get("/healthz", "connection: close")).startswith(b"HTTP/1.1 200 ")


def test_over_the_total_connection_cap_a_new_client_gets_503(edge_factory: EdgeFactory) -> None:
    edge = edge_factory(http_max_connections=3)
    held = [connect(edge, f"127.0.0.{i}") for i in (2, 3, 4)]
    try:
        wait_until(lambda: edge_connections(edge) == 3, what="the edge holding 3 connections")
        status, error = status_and_error(exchange(edge, get("/healthz")))
        assert (status, error["code"]) == (503, "UNAVAILABLE")
    finally:
        for sock in held:
            sock.close()


# An edge whose process runs out of descriptors once it is serving (its connection cap,
# fitted to the limit at start, is then too high): each refused accept() must not log.
OUT_OF_FDS = """
import asyncio, resource, sys
from chronicle.config import Settings
from edge.app import http_server

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})

server, sock = http_server(app, Settings.load({}, http_port=int(sys.argv[1])))
resource.setrlimit(resource.RLIMIT_NOFILE, (200, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
asyncio.run(server.serve(sockets=[sock]))
"""


def test_running_out_of_file_descriptors_is_logged_once_not_per_connection(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "edge.log"
    with log.open("wb") as out:
        edge = subprocess.Popen(
            [sys.executable, "-c", OUT_OF_FDS, str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: reachable("127.0.0.1", port), what="the edge starting")
        clients = []
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(get("/"))
            clients.append(sock)
        time.sleep(2.5)  # the edge keeps trying to accept the rest
        for sock in clients:
            sock.close()
        served = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_SECONDS)
        with served:
            served.sendall(get("/", "connection: close"))
            assert read_all(served).startswith(b"HTTP/1.1 200 ")
    finally:
        edge.terminate()
        edge.wait(10)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[:2000]
    assert text.count("out of file descriptors") == 1, text[:2000]


def test_a_body_answered_early_is_not_read_to_its_end(
    edge_factory: EdgeFactory, tenant: Tenant
) -> None:
    edge = edge_factory(max_body_bytes=1024)
    total, sent = 64 * 1024 * 1024, 0
    with connect(edge) as sock:
        head = [
            "POST /api/v1/presentations HTTP/1.1",
            "host: edge",
            f"authorization: Bearer {tenant.key}",
            "content-type: application/json",
            f"content-length: {total}",
        ]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < total:
                sent += sock.send(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(sock)
    assert sent < total, "the edge read a 64 MB body it had already refused"
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (413, "PAYLOAD_TOO_LARGE")


# Refusals on a connection that was already served (keep-alive, pipelining)


def test_a_refusal_after_a_served_request_still_answers_in_the_envelope(
    edge_factory: EdgeFactory,
) -> None:
    edge = edge_factory(**SHORT, http_max_header_bytes=8192)
    second_requests = {
        408: b"GET /healthz HTTP/1.1\r\nhost: edge\r\n",  # and nothing more
        431: get("/healthz", "x-big: " + "b" * 20_000),
        400: b"NOT HTTP AT ALL\r\n\r\n",
    }
    for expected, second in second_requests.items():
        with connect(edge) as sock:
            sock.sendall(get("/healthz"))
            first, rest = split_response(sock)
            assert first.startswith(b"HTTP/1.1 200 "), first[:200]
            sock.sendall(second)
            status, error = status_and_error(rest + read_all(sock))
        assert (status, error["code"]) == (expected, "BAD_REQUEST"), second[:40]


def test_a_bad_request_pipelined_after_a_good_one_gets_both_answers_in_order(
    edge_factory: EdgeFactory,
) -> None:
    edge = edge_factory()
    with connect(edge) as sock:
        sock.sendall(get("/healthz") + get("/healthz") + b"NOT HTTP AT ALL\r\n\r\n")
        first, rest = split_response(sock)
        second, rest = split_response(sock, rest)
        third = rest + read_all(sock)
    assert first.startswith(b"HTTP/1.1 200 "), first[:200]
    assert second.startswith(b"HTTP/1.1 200 "), second[:200]
    status, error = status_and_error(third)
    assert (status, error["code"]) == (400, "BAD_REQUEST")


def split_response(sock: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes]:
    """One response with a content-length off a kept-alive connection, and what followed it."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection: {data!r:.200}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        body += chunk
    return head + b"\r\n\r\n" + body[:length], body[length:]


# The body timer measures the client, not the server


async def slow_reader(scope: Scope, receive: Receive, send: Send) -> None:
    """Takes 3 body timeouts before reading a body (as the edge does while it checks a
    key and waits for admission), then says how many bytes arrived."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(1.5)
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_a_body_is_not_timed_out_while_the_server_has_not_asked_for_it(
    settings: Settings,
) -> None:
    local = replace(settings, bind="127.0.0.1", http_port=0, log_level="WARNING", **SHORT)
    server, listening = http_server(slow_reader, local)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listening])))
    thread.start()
    try:
        wait_until(lambda: server.started, what="the server starting")
        port = int(server.servers[0].sockets[0].getsockname()[1])
        size = 1024 * 1024  # far past uvicorn's 64 KiB read buffer: reading pauses
        head = f"POST / HTTP/1.1\r\nhost: edge\r\ncontent-length: {size}\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_SECONDS) as sock:
            sock.sendall(head.encode() + b"x" * size)  # at once: the client is fast
            answer = read_all(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert answer.endswith(str(size).encode())
