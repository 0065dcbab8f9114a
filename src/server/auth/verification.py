"""argon2 verification of a presented secret, at most once per key per cache TTL.

The result is cached by a digest of the full key (never the key itself). Requests
bringing the same key at once share one run; the flood budgets are checked first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import TTLCache

from chronicle.credentials import ParsedKey
from server import key_material
from server.auth.audit import KeyAudit
from server.auth.budgets import FAILURES_PER_KEY, FloodBudgets
from server.auth.key_status import KeyStatus
from server.errors import KeyInvalid, Unavailable


class NeedsVerification(Exception):
    """The key is not in the verification cache: argon2 must run (off the event loop).
    `digest` names the presented key, so that requests bringing it at once share one run."""

    def __init__(self, digest: bytes) -> None:
        super().__init__()
        self.digest = digest


class UnknownKeyId(KeyInvalid):
    """API_KEY_INVALID for a key id that does not exist, to be answered no sooner than
    `answer_after` seconds (what an argon2 run takes), so that the answer's timing does
    not tell an unknown key id from a wrong secret; a timer, not argon2, costs no CPU."""

    def __init__(self, answer_after: float) -> None:
        super().__init__()
        self.answer_after = answer_after


class Verifier:
    def __init__(
        self,
        hasher: key_material.SecretHasher,
        budgets: FloodBudgets,
        audit: KeyAudit,
        *,
        cache_ttl: float,
        cache_size: int,
        clock: Callable[[], float],
    ) -> None:
        self._hasher = hasher
        self._budgets = budgets
        self._audit = audit
        self._lock = threading.Lock()
        # digest of a key -> the secret hash it verified against
        self._verified: TTLCache[bytes, str] = TTLCache(cache_size, cache_ttl, timer=clock)
        self._gates: TTLCache[str, threading.Lock] = TTLCache(100_000, 600, timer=clock)

    def verified_hash(self, digest: bytes) -> str | None:
        """The secret hash this very key last verified against, if still cached."""
        with self._lock:  # TTLCache expires entries on read: not thread-safe alone
            return self._verified.get(digest)

    def verify(self, digest: bytes, parsed: ParsedKey, status: KeyStatus, client: str) -> None:
        """Returns once the key's secret matches `status`; KeyInvalid or Unavailable when
        it does not, or when a flood budget refuses to run argon2."""
        if self._budgets.key_blocked(parsed.key_id):
            raise KeyInvalid()
        # One argon2 run at a time per key id: requests bringing the same key wait for
        # its result, and a flood of guesses at one key cannot run past its failure
        # budget while earlier guesses are still being checked.
        with self._lock:
            gate = self._gates.setdefault(parsed.key_id, threading.Lock())
        with gate:
            if self.verified_hash(digest) == status.secret_hash:
                return  # verified by the request this one waited for
            if self._budgets.key_blocked(parsed.key_id):
                raise KeyInvalid()  # throttled by the guesses this one waited for
            if not self._budgets.may_verify(parsed.key_id):  # most likely a failure: counted
                self._failed(parsed, status, client)
                raise Unavailable("Too many failed API key verifications at once; retry shortly")
            ok = self._hasher.verify(status.secret_hash, parsed.secret)
            if ok:
                with self._lock:
                    self._verified[digest] = status.secret_hash
        if not ok:
            self._budgets.suspect(parsed.key_id)
            self._failed(parsed, status, client)
            raise KeyInvalid()

    def _failed(self, parsed: ParsedKey, status: KeyStatus, client: str) -> None:
        """A failed verification, from the key id's budget and from the client's."""
        if self._budgets.key_failed(parsed.key_id) and not parsed.is_service_token:
            self._audit.verification_failures(parsed.key_id, status.workspace_id, FAILURES_PER_KEY)
        self._budgets.client_failed(client)
