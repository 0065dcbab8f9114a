"""The Redis limiter's batching and circuit breaker, with a fake Redis: requests that
arrive together, or while a round trip is out, go in one round trip, and a Redis that
stops answering is given up on at once until a probe is due."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from chronicle.config import RateLimit
from chronicle.gcra import Decision, InProcessLimiter
from server.circuit_breaker import CircuitBreaker
from server.errors import Unavailable
from server.ratelimit import BREAKER_OPEN_SECONDS, RedisLimiter
from tests.fakes import FakeClock

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class FakeRedis:
    """Answers the batch script as Redis would (GCRA per key, in order), or hangs."""

    def __init__(self, clock: FakeClock) -> None:
        self._gcra = InProcessLimiter(clock)
        self.batches: list[list[str]] = []
        self.hung = False
        self.release = asyncio.Event()
        self.hold = False  # wait for `release` before answering
        self.ended = 0  # round trips over, answered or abandoned

    async def settled(self) -> None:
        """Until every round trip begun has ended (a probe in the background too)."""
        while self.ended < len(self.batches):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # and the limiter has taken in how it ended

    async def round_trip(self, keys: list[str], args: list[float]) -> bytes:
        self.batches.append(keys)
        try:
            if self.hung:
                await asyncio.Event().wait()  # never: only the limiter's bound ends it
            if self.hold:
                await self.release.wait()
        finally:
            self.ended += 1
        fields = []
        for n, key in enumerate(keys):
            interval_us, period_us = args[2 * n], args[2 * n + 1]
            rate = RateLimit(round(period_us / interval_us), round(period_us / 1e6))
            d = self._gcra.hit(key, rate)
            fields.append(
                f"{int(d.allowed)} {d.remaining} {int(d.reset_seconds * 1e6)} "
                f"{int(d.retry_after_seconds * 1e6)}"
            )
        return " ".join(fields).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeRedis:
    return FakeRedis(clock)


def limiter_on(fake: FakeRedis, clock: FakeClock, **options: Any) -> RedisLimiter:
    return RedisLimiter(timeout=0.05, clock=clock, round_trip=fake.round_trip, **options)


async def together(limiter: RedisLimiter, count: int, rate: RateLimit) -> list[Decision]:
    return list(await asyncio.gather(*(limiter.hit("k", rate) for _ in range(count))))


def test_requests_arriving_together_make_one_round_trip_and_stay_exact(
    fake: FakeRedis, clock: FakeClock
) -> None:
    limiter = limiter_on(fake, clock)
    decisions = run(together(limiter, 30, RateLimit(10, 60)))
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 20
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    assert decisions[10].retry_after_seconds == pytest.approx(6.0)
    assert [len(batch) for batch in fake.batches] == [30]


def test_what_arrives_while_a_batch_is_out_goes_next_as_one_batch(
    fake: FakeRedis, clock: FakeClock
) -> None:
    # The fake's `hold` waits on an Event; the timeout must not end it first.
    limiter = RedisLimiter(timeout=5.0, clock=clock, round_trip=fake.round_trip)
    rate = RateLimit(100, 60)

    async def scenario() -> list[Decision]:
        fake.hold = True
        first = asyncio.ensure_future(limiter.hit("a", rate))
        while not fake.batches:  # the first batch is out
            await asyncio.sleep(0)
        later = [asyncio.ensure_future(limiter.hit(k, rate)) for k in "bcde"]
        await asyncio.sleep(0)
        assert len(fake.batches) == 1  # the later ones wait for the one out
        fake.release.set()
        return list(await asyncio.gather(first, *later))

    decisions = run(scenario())
    assert all(d.allowed and d.remaining == 99 for d in decisions)
    assert fake.batches == [["chronicle:ratelimit:a"], [f"chronicle:ratelimit:{k}" for k in "bcde"]]


def test_a_hung_redis_opens_the_circuit_then_requests_are_answered_without_it(
    fake: FakeRedis, clock: FakeClock
) -> None:
    limiter = limiter_on(fake, clock)
    rate = RateLimit(1, 60)

    async def scenario() -> None:
        assert (await limiter.hit("k", rate)).allowed  # Redis up: the allowance is spent
        fake.hung = True
        assert (await limiter.hit("k", rate)).allowed  # waits the timeout once: fail open
        assert len(fake.batches) == 2
        for _ in range(100):  # open: not one more round trip, nothing waits
            assert (await limiter.hit("k", rate)).allowed
        assert len(fake.batches) == 2
        clock.now += BREAKER_OPEN_SECONDS
        answers = await together(limiter, 5, rate)  # answered at once; a probe goes out
        assert all(d.allowed for d in answers)
        assert fake.batches[2:] == [[]]  # the probe carries no request
        await together(limiter, 5, rate)
        assert len(fake.batches) == 3  # one probe at a time
        await fake.settled()  # the probe timed out: open again
        await together(limiter, 5, rate)
        assert len(fake.batches) == 3
        fake.hung = False  # Redis back
        clock.now += BREAKER_OPEN_SECONDS
        assert (await limiter.hit("k", rate)).allowed  # answered at once, probe out
        await fake.settled()  # the probe answered: closed
        assert not (await limiter.hit("k", rate)).allowed  # real answers again
        assert len(fake.batches) == 5

    run(scenario())


def test_failing_closed_refuses_with_unavailable_at_once_while_open(
    fake: FakeRedis, clock: FakeClock
) -> None:
    limiter = limiter_on(fake, clock, fail_open=False)
    fake.hung = True

    async def scenario() -> None:
        for _ in range(3):
            with pytest.raises(Unavailable):
                await limiter.hit("k", RateLimit(5, 1))
        assert len(fake.batches) == 1  # the first one waited; the others were told at once

    run(scenario())


def test_a_cancelled_caller_leaves_the_rest_of_its_batch_answered(
    fake: FakeRedis, clock: FakeClock
) -> None:
    rate = RateLimit(10, 60)

    async def scenario() -> list[Decision]:
        limiter = RedisLimiter(timeout=5.0, clock=clock, round_trip=fake.round_trip)
        fake.hold = True
        calls = [asyncio.ensure_future(limiter.hit("k", rate)) for _ in range(3)]
        while not fake.batches:
            await asyncio.sleep(0)
        calls[0].cancel()
        fake.release.set()
        return list(await asyncio.gather(*calls[1:]))

    assert [d.allowed for d in run(scenario())] == [True, True]


def test_the_breaker_lets_one_probe_through_once_open_long_enough(clock: FakeClock) -> None:
    breaker = CircuitBreaker(2.0, clock)
    assert breaker.begin() and breaker.begin()  # closed: every attempt
    breaker.failed()
    assert not breaker.closed and not breaker.available() and not breaker.begin()
    clock.now += 1.99
    assert not breaker.begin()
    clock.now += 0.01
    assert breaker.available()
    assert breaker.begin()  # the probe
    assert not breaker.available() and not breaker.begin()  # one at a time
    breaker.failed()
    clock.now += 1.0
    assert not breaker.begin()
    clock.now += 1.0
    assert breaker.begin()
    breaker.succeeded()
    assert breaker.closed and breaker.begin() and breaker.begin()
