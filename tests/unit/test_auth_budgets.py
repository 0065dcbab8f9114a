"""The flood budgets that refuse guesses before argon2, on a controllable clock."""

from __future__ import annotations

import pytest

from chronicle.config import RateLimit
from server.auth.budgets import FAILURES_PER_KEY, SUSPECT_VERIFICATIONS, FloodBudgets
from server.errors import ClientThrottled
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_key_id_is_refused_once_its_failures_are_spent_and_again_allowed_later(
    clock: FakeClock,
) -> None:
    budgets = FloodBudgets(RateLimit(100, 60), clock)
    started = [budgets.key_failed("key_a") for _ in range(FAILURES_PER_KEY.count + 3)]
    # The failure beyond the budget starts the refusal, told once (for one audit event).
    assert started == [False] * FAILURES_PER_KEY.count + [True, False, False]
    assert budgets.key_blocked("key_a") and not budgets.key_blocked("key_b")
    clock.now += FAILURES_PER_KEY.per_seconds
    assert not budgets.key_blocked("key_a")


def test_a_client_with_too_many_failures_is_throttled_until_its_window_has_room(
    clock: FakeClock,
) -> None:
    budget = RateLimit(3, 60)
    budgets = FloodBudgets(budget, clock)
    for _ in range(budget.count):
        budgets.client_failed("10.0.0.1")
    budgets.check_client("10.0.0.1")  # the budget is spent, not yet exceeded
    budgets.client_failed("10.0.0.1")
    with pytest.raises(ClientThrottled) as refused:
        budgets.check_client("10.0.0.1")
    assert 0 < refused.value.retry_after_seconds <= budget.per_seconds
    budgets.check_client("10.0.0.2")  # every other client is unaffected
    assert not budgets.key_blocked("10.0.0.1")  # nor is a key id of the same spelling
    clock.now += refused.value.retry_after_seconds
    budgets.check_client("10.0.0.1")


def test_suspects_share_one_budget_of_verifications_and_others_are_never_held(
    clock: FakeClock,
) -> None:
    budgets = FloodBudgets(RateLimit(100, 60), clock)
    budgets.suspect("key_a")
    budgets.suspect("key_b")
    assert budgets.may_verify("key_a")
    assert not budgets.may_verify("key_b")  # the shared budget is spent this second
    assert all(budgets.may_verify("key_c") for _ in range(10))  # not a suspect
    clock.now += SUSPECT_VERIFICATIONS.per_seconds
    assert budgets.may_verify("key_b")
