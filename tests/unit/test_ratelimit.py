"""GCRA per key: exactly N at once, then one every period/N; keys are independent."""

from __future__ import annotations

import pytest

from chronicle.config import RateLimit
from chronicle.gcra import InProcessLimiter
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


def test_exactly_n_requests_then_a_refusal_with_the_true_wait(clock: FakeClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, 60)  # one every 12 s, 5 at once
    decisions = [limiter.hit("key_a", rate) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[5]
    assert refused.remaining == 0 and refused.limit == 5
    assert refused.retry_after_seconds == pytest.approx(12.0)
    assert refused.reset_seconds == pytest.approx(60.0)


def test_allowance_comes_back_with_time(clock: FakeClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(2, 1)
    assert limiter.hit("k", rate).allowed and limiter.hit("k", rate).allowed
    assert not limiter.hit("k", rate).allowed
    clock.now += 0.5
    assert limiter.hit("k", rate).allowed
    assert not limiter.hit("k", rate).allowed
    clock.now += 1.0
    assert [limiter.hit("k", rate).allowed for _ in range(3)] == [True, True, False]


def test_refusals_do_not_spend_the_allowance(clock: FakeClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, 10)
    assert limiter.hit("k", rate).allowed
    for _ in range(50):
        assert not limiter.hit("k", rate).allowed
    clock.now += 10
    assert limiter.hit("k", rate).allowed


def test_keys_have_their_own_allowance(clock: FakeClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, 60)
    assert limiter.hit("key_a", rate).allowed
    assert not limiter.hit("key_a", rate).allowed
    assert limiter.hit("key_b", rate).allowed


def test_headers_round_the_reset_up(clock: FakeClock) -> None:
    decision = InProcessLimiter(clock).hit("k", RateLimit(3, 10))
    assert dict(decision.headers()) == {
        "ratelimit-limit": "3",
        "ratelimit-remaining": "2",
        "ratelimit-reset": "4",
    }


@pytest.mark.parametrize("rate", [RateLimit(1, 3600), RateLimit(7, 60), RateLimit(3, 1)])
def test_the_first_request_is_always_allowed_whatever_the_float_rounding(
    clock: FakeClock, rate: RateLimit
) -> None:
    for start in (0.1, 1234.567, 98765.4321):
        clock.now = start
        assert InProcessLimiter(clock).hit("k", rate).allowed


def test_a_refund_gives_back_one_request_and_never_more_than_the_allowance(
    clock: FakeClock,
) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(2, 60)
    assert limiter.hit("k", rate).allowed and limiter.hit("k", rate).allowed
    assert not limiter.hit("k", rate).allowed
    limiter.refund("k", rate)
    assert limiter.hit("k", rate).allowed
    for _ in range(5):
        limiter.refund("k", rate)
    assert [limiter.hit("k", rate).allowed for _ in range(3)] == [True, True, False]
