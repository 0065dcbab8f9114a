"""A circuit breaker for a dependency that may hang rather than fail: after one failure
(a timeout included) callers stop waiting on it for `open_seconds` and are answered by
their fallback at once; then one attempt at a time probes it, and the first success
closes the circuit again."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, open_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._open_seconds = open_seconds
        self._clock = clock
        self._failing = False  # closed while False
        self._open_until = 0.0
        self._probing = False

    @property
    def closed(self) -> bool:
        return not self._failing

    def available(self) -> bool:
        """Whether an attempt could start now (without claiming it): closed, or open
        long enough that a probe is due and none is in flight."""
        if not self._failing:
            return True
        return self._clock() >= self._open_until and not self._probing

    def begin(self) -> bool:
        """Claims an attempt: always while closed; once open, only the one probe."""
        if not self.available():
            return False
        if self._failing:
            self._probing = True
        return True

    def succeeded(self) -> None:
        self._failing = False
        self._probing = False

    def failed(self) -> None:
        self._failing = True
        self._probing = False
        self._open_until = self._clock() + self._open_seconds
