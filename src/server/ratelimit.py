"""Per-key rate limits (GCRA, see `chronicle.gcra`), two backends behind one `Limiter`
interface: in-process (one process's own allowance) and Redis (one allowance shared
by every process).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import redis

from chronicle.config import RateLimit
from chronicle.gcra import Decision
from server.errors import Unavailable

log = logging.getLogger(__name__)


class Limiter(Protocol):
    def hit(self, key: str, rate: RateLimit) -> Decision: ...


# GCRA in one round trip, atomic in Redis, on Redis's clock so every process agrees.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - period - now
if wait > 0 then
  return {0, 0, tat - now, wait}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
"""


class RedisLimiter:
    """The allowance shared by every process, kept in Redis (`CHRONICLE_REDIS_URL`).

    Redis down or slower than `timeout`: fail open (allow, with a warning at most every
    ten seconds) by default, or fail closed (503) when configured. Never a 500."""

    def __init__(self, url: str, *, timeout: float = 0.05, fail_open: bool = True) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self._client.register_script(_GCRA)
        self._fail_open = fail_open
        self._warned = 0.0

    def hit(self, key: str, rate: RateLimit) -> Decision:
        interval_us = rate.per_seconds * 1_000_000 / rate.count
        try:
            allowed, remaining, reset_us, wait_us = self._script(
                keys=[f"chronicle:ratelimit:{key}"],
                args=[interval_us, rate.per_seconds * 1_000_000],
            )
        except redis.RedisError as exc:
            return self._unavailable(rate, exc)
        return Decision(
            bool(allowed), rate.count, int(remaining), int(reset_us) / 1e6, int(wait_us) / 1e6
        )

    def _unavailable(self, rate: RateLimit, exc: Exception) -> Decision:
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning(
                "rate limits: Redis unavailable (%s); failing %s",
                type(exc).__name__,
                "open" if self._fail_open else "closed",
            )
        if not self._fail_open:
            raise Unavailable("Rate limits cannot be checked right now; retry shortly")
        return Decision(True, rate.count, rate.count, 0.0, 0.0)
