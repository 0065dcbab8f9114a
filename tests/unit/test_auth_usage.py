"""Last use and audit events: recorded in batches, each credential in its own table."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from chronicle.config import RateLimit
from server.auth.audit import KeyAudit
from server.auth.principal import CallerKind
from server.auth.usage import UsageRecorder
from server.storage import models
from tests.fakes import FakeUnitOfWork


def _uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.api_keys.add(models.ApiKey(id="key_a", workspace_id="ws_a"))
    uow.service_tokens.add(models.ServiceToken(id="svc_a", name="ops"))
    return uow


class FailingOnce(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def commit(self) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database unavailable")
        super().commit()


def test_each_kind_of_credential_is_touched_in_its_own_table() -> None:
    uow = _uow()
    usage = UsageRecorder(lambda: uow, interval=60)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    usage.mark(CallerKind.API_KEY, "key_a", when)
    usage.mark(CallerKind.SERVICE_TOKEN, "svc_a", when)
    assert usage.flush() == 2 and uow.commits == 1
    assert uow.api_keys.rows["key_a"].last_used_at == when
    assert uow.service_tokens.rows["svc_a"].last_used_at == when
    assert usage.flush() == 0 and uow.commits == 1  # nothing pending: no transaction


def test_what_could_not_be_written_is_written_by_the_next_flush() -> None:
    uow = FailingOnce()
    uow.api_keys.add(models.ApiKey(id="key_a", workspace_id="ws_a"))
    usage = UsageRecorder(lambda: uow, interval=60)
    audit = KeyAudit(lambda: uow, usage, clock=lambda: 0.0)
    usage.mark(CallerKind.API_KEY, "key_a", datetime(2026, 1, 1, tzinfo=UTC))
    audit.expired("key_a", "ws_a", datetime(2025, 1, 1, tzinfo=UTC))
    assert usage.flush() == 0
    assert usage.flush() == 1
    (event,) = uow.key_events.rows.values()
    assert event.event == "expired" and event.actor == "server"
    assert uow.api_keys.rows["key_a"].last_used_at is not None


class SlowCommit(FakeUnitOfWork):
    """A commit that holds until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__()
        self.committing = threading.Event()
        self.finish = threading.Event()

    def commit(self) -> None:
        self.committing.set()
        self.finish.wait(5)
        super().commit()


def test_a_flush_returns_only_after_one_already_writing_has_committed() -> None:
    """The recorder's own thread may have taken the batch when a caller flushes: the
    caller must not see "nothing pending" and read the table before that batch lands."""
    uow = SlowCommit()
    usage = UsageRecorder(lambda: uow, interval=60)
    audit = KeyAudit(lambda: uow, usage, clock=lambda: 0.0)
    audit.expired("key_a", "ws_a", datetime(2025, 1, 1, tzinfo=UTC))
    background = threading.Thread(target=usage.flush)
    background.start()
    assert uow.committing.wait(5)
    caller = threading.Thread(target=usage.flush)
    caller.start()
    caller.join(0.2)
    assert caller.is_alive()  # waiting for the batch in flight
    uow.finish.set()
    caller.join(5)
    background.join(5)
    assert [e.event for e in uow.key_events.rows.values()] == ["expired"]


def test_without_a_recorder_an_event_is_written_at_once() -> None:
    uow = _uow()
    audit = KeyAudit(lambda: uow, None, clock=lambda: 0.0)
    audit.verification_failures("key_a", "ws_a", RateLimit(10, 60))
    (event,) = uow.key_events.rows.values()
    assert event.event == "verification_failures" and "10/minute" in event.detail
    assert uow.commits == 1


def test_an_expired_key_is_audited_once_per_process() -> None:
    uow = _uow()
    audit = KeyAudit(lambda: uow, None, clock=lambda: 0.0)
    for _ in range(3):
        audit.expired("key_a", "ws_a", datetime(2025, 1, 1, tzinfo=UTC))
    assert [e.event for e in uow.key_events.rows.values()] == ["expired"]
