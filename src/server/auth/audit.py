"""Audit events the server observes about keys in use: an expired key presented, a
rate-limited burst, a burst of wrong secrets; each recorded once, not once per request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from cachetools import TTLCache

from chronicle.config import RateLimit
from server.auth.principal import Principal
from server.auth.usage import UsageRecorder
from server.ids import new_id
from server.storage import models
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# A key refused again within this long after its last refusal is in the same burst.
BURST_GAP_SECONDS = 60.0


class ObservedEvent(StrEnum):
    """`KeyEvent.event` for what the server sees happen to a key."""

    EXPIRED = "expired"
    RATE_LIMITED = "rate_limited"
    VERIFICATION_FAILURES = "verification_failures"


def key_event(key_id: str, workspace_id: str, event: str, detail: str) -> models.KeyEvent:
    return models.KeyEvent(
        id=new_id("evt"),
        key_id=key_id,
        workspace_id=workspace_id,
        event=event,
        actor="server",
        detail=detail,
        created_at=models.utcnow(),
    )


class KeyAudit:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        usage: UsageRecorder | None,
        clock: Callable[[], float],
    ) -> None:
        self._uow_factory = uow_factory
        self._usage = usage
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry_told: TTLCache[str, bool] = TTLCache(100_000, 86400, timer=clock)
        self._last_refusal: TTLCache[str, float] = TTLCache(100_000, 3600, timer=clock)

    def expired(self, key_id: str, workspace_id: str, expires_at: datetime) -> None:
        """The first time this process sees the expired key presented."""
        with self._lock:
            if self._expiry_told.get(key_id):
                return
            self._expiry_told[key_id] = True
        self._record(
            key_id,
            workspace_id,
            ObservedEvent.EXPIRED,
            f"presented after its expiry at {expires_at.isoformat()}",
        )

    def rate_limited(self, principal: Principal, rate: RateLimit) -> None:
        """A refusal over the key's rate limit: the first of a burst (none refused in the
        last BURST_GAP_SECONDS, in this process) is recorded."""
        now = self._clock()
        with self._lock:
            last = self._last_refusal.get(principal.credential_id)
            self._last_refusal[principal.credential_id] = now
        if last is not None and now - last < BURST_GAP_SECONDS:
            return
        self._record(
            principal.credential_id,
            principal.workspace_id,
            ObservedEvent.RATE_LIMITED,
            f"requests refused over the limit of {rate}",
        )

    def verification_failures(self, key_id: str, workspace_id: str, budget: RateLimit) -> None:
        """The key id has spent its budget of wrong secrets and is throttled."""
        log.warning("key %s: too many failed verifications; throttled", key_id)
        self._record(
            key_id,
            workspace_id,
            ObservedEvent.VERIFICATION_FAILURES,
            f"more than {budget} wrong secrets; throttled",
        )

    def _record(self, key_id: str, workspace_id: str, event: ObservedEvent, detail: str) -> None:
        """Batched with last-use times, or written at once without a recorder."""
        if self._usage is not None:
            self._usage.event(key_event(key_id, workspace_id, event.value, detail))
            return
        try:
            with self._uow_factory() as uow:
                uow.key_events.add(key_event(key_id, workspace_id, event.value, detail))
                uow.commit()
        except Exception:
            log.warning("could not record the %s event of key %s", event, key_id)
