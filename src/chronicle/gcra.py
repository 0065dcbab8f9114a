"""GCRA (a token bucket kept as one timestamp per key), in one process's memory.

A key with COUNT per PERIOD may spend COUNT requests at once, then one every
PERIOD/COUNT. The server limits keys with it (or with its Redis twin); the edge
limits how many new keys it lets through.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from chronicle.config import RateLimit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float  # until the allowance is whole again
    retry_after_seconds: float  # 0 when allowed

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The RateLimit-* fields, as gRPC metadata (the edge turns them into headers)."""
        return (
            ("ratelimit-limit", str(self.limit)),
            ("ratelimit-remaining", str(self.remaining)),
            ("ratelimit-reset", str(math.ceil(self.reset_seconds))),
        )


class InProcessLimiter:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        # Theoretical arrival time per key; an idle key's entry may be forgotten once
        # its allowance is whole again (an hour covers the longest period).
        self._tat: TTLCache[str, float] = TTLCache(max_keys, 3600, timer=clock)
        self._lock = threading.Lock()

    def hit(self, key: str, rate: RateLimit) -> Decision:
        interval = rate.per_seconds / rate.count
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(key, now), now)
            new_tat = tat + interval
            wait = new_tat - rate.per_seconds - now
            if wait > 1e-9:  # beyond float rounding of `tat + interval - period`
                return Decision(False, rate.count, 0, tat - now, wait)
            self._tat[key] = new_tat
        remaining = int((rate.per_seconds - (new_tat - now)) / interval + 1e-9)
        return Decision(True, rate.count, max(0, remaining), new_tat - now, 0.0)

    def refund(self, key: str, rate: RateLimit) -> None:
        """Gives back one request `hit` allowed (the allowance never exceeds COUNT)."""
        with self._lock:
            tat = self._tat.get(key)
            if tat is not None:
                self._tat[key] = max(self._clock(), tat - rate.per_seconds / rate.count)
