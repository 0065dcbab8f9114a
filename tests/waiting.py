"""Waiting for something observable instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

# Short enough that a condition met is noticed at once, long enough not to spin a core.
POLL_SECONDS = 0.01


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 10.0,
    *,
    what: str | Callable[[], str] = "the condition",
    interval: float = POLL_SECONDS,
) -> None:
    """Returns as soon as `predicate()` is truthy (it may fail the test itself, say when a
    process it waits on died); after `timeout` seconds, AssertionError naming `what`
    (a callable is asked only then, so it may carry a process's output)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:g} s: {described}")
        time.sleep(interval)
