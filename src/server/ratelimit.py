"""Per-key rate limits (GCRA, see `chronicle.gcra`), three backends behind one async
`Limiter` interface: in-process (one process's own allowance), a table shared by the
processes of one machine (`server.shared_limits`) and Redis (one allowance shared by
every process).

The interceptor awaits `hit` on the server's event loop, so the Redis backend never
blocks it: the requests of one loop tick go to Redis together, in one script call, and
a Redis that stops answering is given up on at once for a while (a circuit breaker)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from chronicle.config import RateLimit
from chronicle.gcra import Decision, InProcessLimiter
from server.circuit_breaker import CircuitBreaker
from server.errors import Unavailable
from server.redis_wire import WireClient

log = logging.getLogger(__name__)

# After a Redis failure (a timeout included), how long every request is answered by the
# fail-open/closed policy at once, before a probe asks Redis again.
BREAKER_OPEN_SECONDS = 1.0
# How long the first request of a batch waits for others to join it. On a busy server
# requests seldom overlap a round trip (~50 µs on loopback); gathered for 1 ms they go
# ~2 at a time at ~2,500 requests/s, which halves what Redis and the client spend on
# each, for 1 ms more latency on a limited request.
GATHER_SECONDS = 0.001
# The bound on a round trip over a new connection (connect, maybe loading the script):
# CHRONICLE_REDIS_TIMEOUT (50 ms) is for a warm one; a cold start on a busy machine may
# need more, and only the first batch, or a background probe, ever waits on it.
COLD_SECONDS = 0.5


class Limiter(Protocol):
    async def hit(self, key: str, rate: RateLimit) -> Decision: ...


class ImmediateLimiter(Protocol):
    def hit(self, key: str, rate: RateLimit) -> Decision: ...


class LocalLimiter:
    """A GCRA of this machine behind the async interface: in this process's memory, or
    in the table its processes share; either answers at once, without waiting on I/O."""

    def __init__(self, limiter: ImmediateLimiter | None = None) -> None:
        self._limiter = limiter or InProcessLimiter()

    async def hit(self, key: str, rate: RateLimit) -> Decision:
        return self._limiter.hit(key, rate)


# GCRA for every key of a batch in one call, atomic in Redis, on Redis's clock so every
# process agrees. A key may come twice in one batch: each hit sees the ones before it.
# One string back ("allowed remaining reset_us wait_us" per key): cheaper to parse in
# Python than a nested reply.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - period - now
  if wait > 0 then
    out[i] = string.format('0 0 %d %d', tat - now, wait)
  else
    redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
    out[i] = string.format('1 %d %d 0', math.floor((period - (new_tat - now)) / interval),
                           new_tat - now)
  end
end
return table.concat(out, ' ')
"""

# One batch's round trip: keys and their (interval_us, period_us) pairs, flattened.
RoundTrip = Callable[[list[str], list[float]], Awaitable[object]]


@dataclass
class _Hit:
    key: str
    rate: RateLimit
    answer: asyncio.Future[Decision | None]  # None: Redis did not answer


class RedisLimiter:
    """The allowance shared by every process, kept in Redis (`CHRONICLE_REDIS_URL`).

    Redis down, or slower than `timeout`: fail open (allow, with a warning at most every
    ten seconds) by default, or fail closed (503) when configured. After such a failure
    the circuit is open: requests are answered so at once, without Redis, while a probe
    in the background (every BREAKER_OPEN_SECONDS) waits for Redis to answer again. So
    a hung Redis costs the requests of one batch one timeout. Never a 500.
    `round_trip` replaces Redis in tests."""

    def __init__(
        self,
        url: str = "",
        *,
        timeout: float = 0.05,
        fail_open: bool = True,
        clock: Callable[[], float] = time.monotonic,
        round_trip: RoundTrip | None = None,
    ) -> None:
        self._timeout = timeout
        self._cold_timeout = max(timeout, COLD_SECONDS)
        self._fail_open = fail_open
        self._breaker = CircuitBreaker(BREAKER_OPEN_SECONDS, clock)
        self._round_trip = round_trip or _redis_round_trip(url)
        self._warm = False  # a connection is open and the script loaded
        self._pending: list[_Hit] = []
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: asyncio.Future[object] | None = None
        self._probe: asyncio.Future[object] | None = None
        self._warned = float("-inf")
        self.round_trips = 0  # batches and probes sent to Redis (tests, the bench)

    @property
    def probing(self) -> bool:
        """Whether a probe is out (tests wait for its end)."""
        return self._probe is not None

    async def hit(self, key: str, rate: RateLimit) -> Decision:
        if not self._breaker.closed:
            self._start_probe()
            return self._unavailable(rate)
        hit = _Hit(key, rate, asyncio.get_running_loop().create_future())
        self._pending.append(hit)
        if self._in_flight is None and self._timer is None:
            # The first of a batch: sent with whatever else arrives within
            # GATHER_SECONDS. While a batch is out, the next one waits for it instead:
            # never more than one round trip at a time.
            self._timer = asyncio.get_running_loop().call_later(GATHER_SECONDS, self._gathered)
        decision = await hit.answer
        return decision if decision is not None else self._unavailable(rate)

    def _gathered(self) -> None:
        self._timer = None
        self._flush()

    def _flush(self) -> None:
        # Callbacks, not a task per batch: with one request per round trip (a loop
        # that is not saturated), a task and wait_for cost more than the round trip.
        if self._in_flight is not None or not self._pending:
            return
        batch, self._pending = self._pending, []
        if not self._breaker.closed:  # opened while these waited: answer them now
            _answer(batch, None)
            return
        keys = [f"chronicle:ratelimit:{hit.key}" for hit in batch]
        args: list[float] = []
        for hit in batch:
            args += [hit.rate.per_seconds * 1_000_000 / hit.rate.count, hit.rate.per_seconds * 1e6]
        reply = self._start(keys, args)
        self._in_flight = reply
        reply.add_done_callback(functools.partial(self._finish, batch))

    def _finish(self, batch: list[_Hit], reply: asyncio.Future[object]) -> None:
        self._in_flight = None
        try:
            decisions = _decisions(batch, self._outcome(reply))
        except _FAILURES:
            _answer(batch, None)
        else:
            for hit, decision in zip(batch, decisions, strict=True):
                if not hit.answer.done():  # its call may have been cancelled
                    hit.answer.set_result(decision)
        if self._pending:  # what arrived meanwhile goes now, as one batch
            self._flush()

    def _start(self, keys: list[str], args: list[float]) -> asyncio.Future[object]:
        """One round trip, bounded: `timeout` on a warm connection; the first one on a
        new connection (connect, load the script) gets COLD_SECONDS. Cancelled when
        the bound passes (see `_outcome`)."""
        self.round_trips += 1
        bound = self._timeout if self._warm else self._cold_timeout
        reply = asyncio.ensure_future(self._round_trip(keys, args))
        timer = asyncio.get_running_loop().call_later(bound, reply.cancel)
        reply.add_done_callback(lambda _: timer.cancel())
        return reply

    def _outcome(self, reply: asyncio.Future[object]) -> bytes | str:
        """The reply of a finished round trip, telling the breaker how it went; raises
        the failure (TimeoutError when the bound cancelled it)."""
        try:
            if reply.cancelled():
                raise TimeoutError("no answer from Redis in time")
            result = reply.result()
            if not isinstance(result, bytes | str):
                raise ValueError("unexpected reply from Redis")
        except _FAILURES as exc:
            self._failed(exc)
            raise
        self._breaker.succeeded()
        self._warm = True
        return result

    def _failed(self, exc: Exception) -> None:
        self._breaker.failed()
        self._warm = False  # the client drops a connection whose reply was abandoned
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning(
                "rate limits: Redis unavailable (%s); failing %s until it answers again",
                type(exc).__name__,
                "open" if self._fail_open else "closed",
            )

    def _start_probe(self) -> None:
        """While open: once a probe is due, one round trip with no keys in the
        background; its success closes the circuit for the requests after it."""
        if self._probe is None and self._breaker.begin():
            self._probe = self._start([], [])
            self._probe.add_done_callback(self._probed)

    def _probed(self, reply: asyncio.Future[object]) -> None:
        self._probe = None
        with contextlib.suppress(*_FAILURES):
            self._outcome(reply)

    def _unavailable(self, rate: RateLimit) -> Decision:
        if not self._fail_open:
            raise Unavailable("Rate limits cannot be checked right now; retry shortly")
        return Decision(True, rate.count, rate.count, 0.0, 0.0)


_FAILURES = (redis.RedisError, OSError, TimeoutError, ValueError)


def _answer(batch: list[_Hit], decision: Decision | None) -> None:
    for hit in batch:
        if not hit.answer.done():
            hit.answer.set_result(decision)


def _decisions(batch: list[_Hit], reply: bytes | str) -> list[Decision]:
    text = reply.decode("ascii") if isinstance(reply, bytes) else reply
    fields = [int(f) for f in text.split()]
    if len(fields) != 4 * len(batch):
        raise ValueError(f"{len(fields)} fields for {len(batch)} keys")
    return [
        Decision(
            bool(fields[i]),
            hit.rate.count,
            fields[i + 1],
            fields[i + 2] / 1e6,
            fields[i + 3] / 1e6,
        )
        for hit, i in zip(batch, range(0, len(fields), 4), strict=True)
    ]


def _redis_round_trip(url: str) -> RoundTrip:
    """EVALSHA over a minimal client of our own (`redis_wire`: redis.asyncio's cost per
    command would be most of the limiter's). Each new connection loads the script
    first, so EVALSHA finds it (after a SCRIPT FLUSH, a failure: the breaker's probe
    reconnects, which loads it again)."""
    script = _GCRA.encode()
    client = WireClient(url, on_connect=[(b"SCRIPT", b"LOAD", script)])
    sha = hashlib.sha1(script, usedforsecurity=False).hexdigest().encode()

    def round_trip(keys: list[str], args: list[float]) -> Awaitable[object]:
        parts = [str(len(keys)).encode(), *(k.encode() for k in keys)]
        parts += [repr(a).encode() for a in args]
        return client.send(b"EVALSHA", sha, *parts)

    return round_trip
