"""The cheap part of a key's state (revoked, expiry, workspace, limit), cached briefly so
that a change committed by any process, CLI included, is honoured everywhere within
`status_ttl` (< 1 s); while changes are pushed (`status_push`), for longer.

"Pushed" is a lease, checked at each lookup: every confirmation that the push works (a
timely pong on the subscription) holds for `ttl` seconds. A push that silently stalls
(Redis paused, a partition) stops confirming, so within `ttl` statuses are re-read as
without Redis: nothing has to notice the stall for the 1-second promise to hold."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from chronicle.config import RateLimit
from chronicle.credentials import ParsedKey
from server.storage.uow import UnitOfWork


@dataclass(frozen=True)
class KeyStatus:
    secret_hash: str = field(repr=False)  # a hash, not a key; still no repr needs it
    workspace_id: str
    environment: str
    name: str
    expires_at: datetime | None
    revoked_at: datetime | None
    fetched: float
    rate_limit: RateLimit | None = None


class StatusCache:
    """Statuses by credential id; also the listener that `status_push` tells of changes."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        ttl: float,
        pushed_ttl: float | None,
        clock: Callable[[], float],
    ) -> None:
        self._uow_factory = uow_factory
        self._short_ttl = ttl
        self._pushed_ttl = pushed_ttl or ttl
        self._lease = ttl
        self._pushed_until = float("-inf")
        self._clock = clock
        self._statuses: dict[str, KeyStatus] = {}
        self._forgotten = 0  # bumped by every forget: a status read across one is stale
        self._lock = threading.Lock()

    def get(self, parsed: ParsedKey) -> KeyStatus | None:
        """The key's status, re-read from the database once older than the TTL; None for
        an unknown key id."""
        cached = self._statuses.get(parsed.key_id)
        if cached is not None:
            now = self._clock()
            ttl = self._pushed_ttl if now < self._pushed_until else self._short_ttl
            if now - cached.fetched < ttl:
                return cached
        forgotten = self._forgotten
        status = self._load(parsed)
        with self._lock:
            if status is None:
                self._statuses.pop(parsed.key_id, None)
            elif forgotten == self._forgotten:
                self._statuses[parsed.key_id] = status
            # else a change was told while we read: what we read may predate it
        return status

    def forget(self, credential_id: str) -> None:
        """Drop a cached status so the next request re-reads it (after revoke/rotate)."""
        with self._lock:
            self._statuses.pop(credential_id, None)
            self._forgotten += 1

    def forget_all(self) -> None:
        with self._lock:
            self._statuses.clear()
            self._forgotten += 1

    @property
    def pushed(self) -> bool:
        """Whether the push was confirmed recently enough to rely on it now."""
        return self._clock() < self._pushed_until

    def set_pushed(self, pushed: bool) -> None:
        """True: the push was confirmed just now, for the next `ttl` seconds. False: it
        is down. Confirmed again after a lapse, every cached status goes: a change told
        while it was down may have been lost."""
        if not pushed:
            self._pushed_until = float("-inf")
            return
        now = self._clock()
        if now >= self._pushed_until:
            self.forget_all()
        self._pushed_until = now + self._lease

    def _load(self, parsed: ParsedKey) -> KeyStatus | None:
        fetched = self._clock()
        with self._uow_factory() as uow:
            if parsed.is_service_token:
                token = uow.service_tokens.snapshot(parsed.key_id)
                if token is None:
                    return None
                return KeyStatus(
                    token.secret_hash, "", "", token.name, None, token.revoked_at, fetched
                )
            key = uow.api_keys.snapshot(parsed.key_id)
            if key is None:
                return None
            return KeyStatus(
                key.secret_hash,
                key.workspace_id,
                key.environment,
                key.name,
                key.expires_at,
                key.revoked_at,
                fetched,
                RateLimit.parse(key.rate_limit) if key.rate_limit else None,
            )
