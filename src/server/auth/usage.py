"""What requests teach about keys (last-use times, audit events of use), written in
batches by a thread of its own rather than once per request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from server.auth.principal import CallerKind
from server.storage import models
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class UsageRecorder:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], interval: float) -> None:
        self._uow_factory = uow_factory
        self._interval = interval
        self._pending: dict[str, tuple[CallerKind, datetime]] = {}
        self._events: list[models.KeyEvent] = []
        self._lock = threading.Lock()
        # One flush at a time: a flush() returns only once everything recorded before
        # it is written, even while the thread's own flush is mid-transaction.
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, kind: CallerKind, credential_id: str, when: datetime) -> None:
        with self._lock:
            self._pending[credential_id] = (kind, when)

    def event(self, event: models.KeyEvent) -> None:
        with self._lock:
            self._events.append(event)

    def flush(self) -> int:
        """Writes what is pending in one transaction; returns how many credentials'
        last use it recorded."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
            events, self._events = self._events, []
        if not pending and not events:
            return 0
        try:
            with self._uow_factory() as uow:
                uow.api_keys.touch(_last_uses(pending, CallerKind.API_KEY))
                uow.service_tokens.touch(_last_uses(pending, CallerKind.SERVICE_TOKEN))
                for event in events:
                    uow.key_events.add(event)
                uow.commit()
        except Exception:
            log.warning(
                "could not record the use of %d credentials (%d events); will retry",
                len(pending),
                len(events),
            )
            with self._lock:
                for credential, use in pending.items():
                    self._pending.setdefault(credential, use)
                self._events[:0] = events
            return 0
        return len(pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="last-used", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


def _last_uses(
    pending: dict[str, tuple[CallerKind, datetime]], kind: CallerKind
) -> dict[str, datetime]:
    return {credential: when for credential, (of, when) in pending.items() if of is kind}
