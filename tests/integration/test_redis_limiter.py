"""The Redis-backed limiter, against real Redis servers on loopback.

The shared one is the machine's (127.0.0.1:6379, started before CI); the one stopped
mid-test is a redis-server of our own on a free port.
"""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
import redis

from chronicle.config import RateLimit
from server.errors import Unavailable
from server.ratelimit import RedisLimiter
from tests.harness import free_port


@pytest.fixture
def key() -> str:
    return f"key_test{uuid.uuid4().hex[:12]}"


def test_exactly_n_then_refused_with_the_wait(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(3, 60)
    decisions = [limiter.hit(key, rate) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after_seconds == pytest.approx(20, abs=1)


def test_two_processes_share_one_allowance(shared_redis: str, key: str) -> None:
    first, second = RedisLimiter(shared_redis, timeout=1.0), RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(4, 60)
    allowed = [limiter.hit(key, rate).allowed for limiter in (first, second) * 3]
    assert allowed.count(True) == 4


def test_the_allowance_recovers(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    rate = RateLimit(2, 1)
    assert [limiter.hit(key, rate).allowed for _ in range(3)] == [True, True, False]
    time.sleep(0.6)
    assert limiter.hit(key, rate).allowed


def test_redis_stopped_mid_test_fails_open_by_default(
    own_redis: tuple[subprocess.Popen[bytes], str], key: str, caplog: pytest.LogCaptureFixture
) -> None:
    process, url = own_redis
    limiter = RedisLimiter(url, timeout=0.2)
    rate = RateLimit(1, 60)
    assert limiter.hit(key, rate).allowed
    assert not limiter.hit(key, rate).allowed
    process.kill()
    process.wait()
    started = time.monotonic()
    assert limiter.hit(key, rate).allowed  # open: allowed, with a warning
    assert time.monotonic() - started < 2  # bounded by the timeout, not hanging
    assert "Redis unavailable" in caplog.text


def test_redis_down_fails_closed_when_configured(key: str) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, fail_open=False)
    with pytest.raises(Unavailable):
        limiter.hit(key, RateLimit(5, 1))


def test_the_key_expires_once_the_allowance_is_whole(shared_redis: str, key: str) -> None:
    limiter = RedisLimiter(shared_redis, timeout=1.0)
    # The whole allowance spent: its key lives ~1 s (one hit alone, ~0.1 s, could expire
    # before a busy machine reads its TTL).
    assert all(limiter.hit(key, RateLimit(10, 1)).allowed for _ in range(10))
    ttl = redis.Redis.from_url(shared_redis).pttl(f"chronicle:ratelimit:{key}")
    assert 0 < ttl <= 1100
