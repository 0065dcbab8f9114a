"""A minimal Redis client for the rate limiter's one hot command, on the event loop.

redis.asyncio costs ~200 µs of CPU per command here (pure-Python parser, pool, locks,
retries), which on a no-op request is ~40 % of the work; this asyncio protocol writes a
RESP command and reads a bulk-string, integer or error reply for ~10 % of that. One
connection, commands pipelined on it, replies matched in order. Anything else Redis is
used for (pub/sub, publishing) stays with redis-py."""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

import redis


class RedisReplyError(redis.ResponseError):
    """An error reply (`-ERR …`, `-NOSCRIPT …`)."""


Reply = bytes | int | None


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: deque[asyncio.Future[Reply]] = deque()
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = redis.ConnectionError(f"connection lost ({exc or 'closed by Redis'})")
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(self.lost)

    def send(self, payload: bytes) -> asyncio.Future[Reply]:
        if self.lost is not None or self._transport is None:
            raise self.lost or redis.ConnectionError("not connected")
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._transport.write(payload)
        return waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._waiting:
            parsed = self._parse()
            if parsed is None:
                return  # incomplete: wait for more
            reply, used = parsed
            del self._buffer[:used]
            waiter = self._waiting.popleft()
            if waiter.done():  # its caller gave up
                continue
            if isinstance(reply, RedisReplyError):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)

    def _parse(self) -> tuple[Reply | RedisReplyError, int] | None:
        """The first reply in the buffer and its length; None if incomplete. Only the
        kinds our commands get back: bulk strings, integers, simple strings, errors."""
        end = self._buffer.find(b"\r\n")
        if end < 0:
            return None
        kind, line = self._buffer[:1], bytes(self._buffer[1:end])
        if kind != b"$":
            return _LINE_REPLIES[bytes(kind)](line), end + 2
        size = int(line)
        if size < 0:
            return None, end + 2
        if len(self._buffer) < end + 2 + size + 2:
            return None
        return bytes(self._buffer[end + 2 : end + 2 + size]), end + 2 + size + 2


def _unexpected(line: bytes) -> Reply:
    raise redis.ConnectionError("unexpected reply from Redis")


_LINE_REPLIES: defaultdict[bytes, Callable[[bytes], Reply | RedisReplyError]] = defaultdict(
    lambda: _unexpected,
    {
        b":": int,
        b"+": bytes,
        b"-": lambda line: RedisReplyError(line.decode("utf-8", "replace")),
    },
)


class WireClient:
    """Connects on first use (and again after any failure), then runs `on_connect`;
    `redis://` and `rediss://` URLs, with a password (and user) and a database number."""

    def __init__(self, url: str, *, on_connect: Sequence[tuple[bytes, ...]] = ()) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"redis", "rediss"}:
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 6379
        self._ssl = ssl.create_default_context() if parts.scheme == "rediss" else None
        self._hello: list[bytes] = []
        if parts.password is not None:
            auth = [b"AUTH"]
            if parts.username:
                auth.append(unquote(parts.username).encode())
            self._hello.append(_command(*auth, unquote(parts.password).encode()))
        database = parts.path.strip("/")
        if database and database != "0":
            self._hello.append(_command(b"SELECT", database.encode()))
        self._hello += [_command(*command) for command in on_connect]
        self._protocol: _Protocol | None = None

    def send(self, *parts: bytes) -> asyncio.Future[Reply]:
        """The command's reply, to await: a plain future on an open connection (no task),
        else connecting first. After a failure other than an error reply, or when the
        caller cancels it (a timeout), the connection is dropped, since a reply still on
        its way would be misread as the next one's."""
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            reply = protocol.send(_command(*parts))
        else:
            reply = asyncio.ensure_future(self._connect_and_send(_command(*parts)))
        reply.add_done_callback(self._drop_unless_answered)
        return reply

    async def _connect_and_send(self, payload: bytes) -> Reply:
        self.drop()
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, self._host, self._port, ssl=self._ssl)
        try:
            for hello in self._hello:
                await protocol.send(hello)
        except BaseException:
            protocol.close()
            raise
        self._protocol = protocol
        return await protocol.send(payload)

    def _drop_unless_answered(self, reply: asyncio.Future[Reply]) -> None:
        if reply.cancelled() or not isinstance(reply.exception(), RedisReplyError | None):
            self.drop()

    def drop(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
