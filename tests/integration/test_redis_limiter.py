"""The Redis-backed limiter, against real Redis servers on loopback.

The shared one is the machine's (127.0.0.1:6379, started before CI); the one stopped
mid-test is a redis-server of our own on a free port.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence

import pytest
import redis

from chronicle.config import RateLimit
from chronicle.gcra import Decision
from server.errors import Unavailable
from server.ratelimit import RedisLimiter
from tests.harness import free_port


@pytest.fixture(autouse=True)
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the whole test, as a server has: a limiter's connections
    belong to the loop that opened them."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def hits(limiter: RedisLimiter, key: str, rate: RateLimit, count: int = 1) -> list[Decision]:
    """`count` hits one after another, each awaited (as separate requests would be)."""

    async def run() -> list[Decision]:
        return [await limiter.hit(key, rate) for _ in range(count)]

    return asyncio.get_event_loop().run_until_complete(run())


def hit(limiter: RedisLimiter, key: str, rate: RateLimit) -> Decision:
    return hits(limiter, key, rate)[0]


def together(limiters: Sequence[RedisLimiter], key: str, rate: RateLimit) -> list[Decision]:
    """One hit per limiter, all in the same loop tick (so each limiter batches)."""

    async def run() -> list[Decision]:
        return list(await asyncio.gather(*(limiter.hit(key, rate) for limiter in limiters)))

    return asyncio.get_event_loop().run_until_complete(run())


@pytest.fixture
def key() -> str:
    return f"key_test{uuid.uuid4().hex[:12]}"


def test_exactly_n_then_refused_with_the_wait(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(3, 60)
    decisions = hits(limiter, key, rate, 4)
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after_seconds == pytest.approx(20, abs=1)


def test_two_processes_share_one_allowance(shared_redis: str, key: str) -> None:
    first, second = RedisLimiter(shared_redis, timeout=1.0), RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(4, 60)
    allowed = [d.allowed for d in together([first, second] * 3, key, rate)]
    assert allowed.count(True) == 4


def test_the_allowance_recovers(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(2, 1)
    assert [d.allowed for d in hits(limiter, key, rate, 3)] == [True, True, False]
    time.sleep(0.6)
    assert hit(limiter, key, rate).allowed


def test_redis_stopped_mid_test_fails_open_by_default(
    own_redis: tuple[subprocess.Popen[bytes], str], key: str, caplog: pytest.LogCaptureFixture
) -> None:
    process, url = own_redis
    limiter = RedisLimiter(url, timeout=0.2)
    rate = RateLimit(1, 60)
    assert [d.allowed for d in hits(limiter, key, rate, 2)] == [True, False]
    process.kill()
    process.wait()
    started = time.monotonic()
    assert hit(limiter, key, rate).allowed  # open: allowed, with a warning
    assert time.monotonic() - started < 2  # bounded by the timeout, not hanging
    assert "Redis unavailable" in caplog.text


def test_redis_down_fails_closed_when_configured(key: str) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, fail_open=False)
    with pytest.raises(Unavailable):
        hit(limiter, key, RateLimit(5, 1))


def test_the_key_expires_once_the_allowance_is_whole(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    # The whole allowance spent: its key lives ~1 s (one hit alone, ~0.1 s, could expire
    # before a busy machine reads its TTL).
    assert all(d.allowed for d in hits(limiter, key, RateLimit(10, 1), 10))
    ttl = redis.Redis.from_url(shared_redis).pttl(f"chronicle:ratelimit:{key}")
    assert 0 < ttl <= 1100
