"""What the edge refuses itself, so that a flood of bad keys costs the servers little.

A refusal here costs a fraction of a gRPC call on a server, and tells the client
exactly what the server would:
- a request without one well-formed key (missing, two keys, a bad checksum): 401;
- a client the server throttled for its failed verifications (ErrorInfo scope
  "client"): 429 until its retry delay is over, unless its key was accepted before;
- keys this edge has not seen accepted yet are sent on at most CHRONICLE_NEW_KEY_RATE
  a second; beyond that 503 with Retry-After. Keys seen accepted are never held back.
The server still authenticates every request it gets; only keys' SHA-256 digests are
kept here, never a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from cachetools import TTLCache

from chronicle import credentials
from chronicle.config import RateLimit
from chronicle.gcra import InProcessLimiter
from edge.errors import HttpError, Refused

# How long a key, once accepted, skips the new-key budget; how long a client's refusal
# may be remembered (the longest failed-verification window).
ACCEPTED_SECONDS = 3600.0
LONGEST_REFUSAL_SECONDS = 3600.0
REMEMBERED = 100_000  # keys and clients, each


class Admission:
    def __init__(self, new_keys: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._new_keys = new_keys
        self._clock = clock
        self._budget = InProcessLimiter(clock, max_keys=1)
        self._accepted: TTLCache[bytes, bool] = TTLCache(REMEMBERED, ACCEPTED_SECONDS, timer=clock)
        self._refused: TTLCache[str, tuple[float, HttpError]] = TTLCache(
            REMEMBERED, LONGEST_REFUSAL_SECONDS, timer=clock
        )

    def admit(self, metadata: Iterable[tuple[str, str]], client: str) -> bytes:
        """The digest of the request's key, when the request may go on to a server;
        otherwise raises Refused with the answer."""
        try:
            raw = credentials.presented_key(metadata)
        except credentials.CredentialError as exc:
            raise Refused(HttpError.of(401, str(exc), "UNAUTHORIZED")) from None
        if credentials.parse(raw) is None:
            raise Refused(HttpError.of(401, credentials.INVALID_KEY_MESSAGE, "API_KEY_INVALID"))
        digest = credentials.digest(raw)
        if digest in self._accepted:
            return digest
        until, error = self._refused.get(client, (0.0, None))
        if error is not None and until > self._clock():
            raise Refused(error.retry_after(until - self._clock()))
        decision = self._budget.hit("new keys", self._new_keys)
        if not decision.allowed:
            busy = HttpError.of(503, "Too many new API keys at once; retry shortly")
            raise Refused(busy.retry_after(decision.retry_after_seconds))
        return digest

    def settle(self, digest: bytes, client: str, error: HttpError | None) -> None:
        """What a server answered the request `admit` let through."""
        if error is not None and error.client_refused_for > 0:
            self._refused[client] = (self._clock() + error.client_refused_for, error)
        elif error is None or error.status not in (401, 503):  # the key was accepted
            self._accepted[digest] = True
        elif error.status == 401:  # revoked or expired since, or never valid
            self._accepted.pop(digest, None)
