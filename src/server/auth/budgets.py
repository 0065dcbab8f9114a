"""Flood budgets checked before argon2 on a cache miss (KEYS.md), so that guesses cost
the server little: each refuses without argon2 once spent, and never touches a key
already verified and cached.

- A key id with too many wrong secrets answers API_KEY_INVALID for the rest of the window.
- A client (the peer address, or the address the edge forwards) with too many failed
  verifications gets 429 until its window has room again.
- A key id that failed in the last minute is a suspect: suspects share one budget of
  argon2 runs per process, beyond which they are told to retry, so wrong secrets for many
  real key ids at once cannot take the CPU that verified keys' traffic needs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cachetools import TTLCache

from chronicle.config import RateLimit
from chronicle.gcra import InProcessLimiter
from server.errors import ClientThrottled, SignInThrottled

log = logging.getLogger(__name__)

FAILURES_PER_KEY = RateLimit(10, 60)
SUSPECT_VERIFICATIONS = RateLimit(1, 1)
SUSPECT_SECONDS = 60.0


class FloodBudgets:
    def __init__(self, failures_per_client: RateLimit, clock: Callable[[], float]) -> None:
        self._failures_per_client = failures_per_client
        self._clock = clock
        self._lock = threading.Lock()
        self._throttle = InProcessLimiter(clock)
        # Until when a key id, or "client:ADDRESS", is refused.
        self._blocked: TTLCache[str, float] = TTLCache(100_000, 3600, timer=clock)
        self._suspects: TTLCache[str, bool] = TTLCache(100_000, SUSPECT_SECONDS, timer=clock)

    def key_blocked(self, key_id: str) -> bool:
        return self._blocked_for(key_id) > 0

    def check_client(self, client: str) -> None:
        """ClientThrottled while the client has spent its failed-verification budget."""
        wait = self._blocked_for(_client(client))
        if wait > 0:
            raise ClientThrottled(wait)

    def may_verify(self, key_id: str) -> bool:
        """False for a suspect once suspects have spent their shared budget."""
        with self._lock:
            suspect = self._suspects.get(key_id, False)
        return not suspect or self._throttle.hit("suspects", SUSPECT_VERIFICATIONS).allowed

    def suspect(self, key_id: str) -> None:
        """A wrong secret was presented for `key_id`."""
        with self._lock:
            self._suspects[key_id] = True

    def key_failed(self, key_id: str) -> bool:
        """One failed verification from the key id's budget; True when it is the one that
        starts the key id's refusal."""
        return self._spend(key_id, FAILURES_PER_KEY)

    def client_failed(self, client: str) -> None:
        """One failed verification from the client's budget."""
        if self._spend(_client(client), self._failures_per_client):
            log.warning(
                "client %s: more than %s failed verifications (keys or sign-ins); throttled",
                client or "(unknown)",
                self._failures_per_client,
            )

    # Sign-in (decision 030): the same tables, for an email and for a client address.

    def check_sign_in(self, email: str, client: str) -> None:
        """SignInThrottled while the email or the client has spent its budget of failed
        sign-ins: checked before argon2, whether or not the email has an account."""
        wait = max(self._blocked_for(_email(email)), self._blocked_for(_client(client)))
        if wait > 0:
            raise SignInThrottled(wait)

    def sign_in_failed(self, email: str, client: str) -> None:
        self._spend(_email(email), FAILURES_PER_KEY)
        self.client_failed(client)

    def _blocked_for(self, what: str) -> float:
        """Seconds `what` stays refused; 0 when not."""
        with self._lock:
            return max(0.0, self._blocked.get(what, 0.0) - self._clock())

    def _spend(self, what: str, budget: RateLimit) -> bool:
        """One failure from `what`'s budget; once spent, `what` is refused until it has
        room again. True when this failure started the refusal."""
        decision = self._throttle.hit(f"failures:{what}", budget)
        if decision.allowed:
            return False
        with self._lock:
            first = self._blocked.get(what, 0.0) <= self._clock()
            self._blocked[what] = self._clock() + decision.retry_after_seconds
        return first


def _client(address: str) -> str:
    return f"client:{address}"  # a key id never starts so: one table holds both


def _email(normalized: str) -> str:
    return f"email:{normalized}"
