"""The Idempotency-Key records, and the mark a unit of work leaves on one when the work
of the request that claimed it commits."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, Executable, and_, delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from server.storage import models

# The (scope, key) claimed by the request being served, if it sent an Idempotency-Key:
# its commits mark the record in the same transaction, so a server that dies between
# committing and storing the answer leaves "committed", never a claim a retry redoes.
claimed_key: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "claimed_idempotency_key", default=None
)


class IdempotencyRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, record: models.IdempotencyRecord) -> None:
        self._session().add(record)

    def get(self, scope: str, key: str) -> models.IdempotencyRecord | None:
        return self._session().get(models.IdempotencyRecord, (scope, key))

    def take_over(self, scope: str, key: str, now: datetime, locked_until: datetime) -> bool:
        """A running claim whose lease ran out becomes ours; False if someone else's."""
        return self._changed(
            update(models.IdempotencyRecord)
            .where(self._is(scope, key))
            .where(models.IdempotencyRecord.state == "running")
            .where(models.IdempotencyRecord.locked_until < now)
            .values(locked_until=locked_until)
        )

    def mark_committed(self, scope: str, key: str) -> None:
        self._session().execute(
            update(models.IdempotencyRecord)
            .where(self._is(scope, key))
            .where(models.IdempotencyRecord.state == "running")
            .values(state="committed")
        )

    def finish(
        self, scope: str, key: str, status_code: int, response: bytes, secret_withheld: bool
    ) -> None:
        self._session().execute(
            update(models.IdempotencyRecord)
            .where(self._is(scope, key))
            .values(
                state="done",
                status_code=status_code,
                response=response,
                secret_withheld=secret_withheld,
            )
        )

    def release(self, scope: str, key: str) -> bool:
        """A claim whose request did nothing (its work rolled back): the key is free."""
        return self._changed(
            delete(models.IdempotencyRecord)
            .where(self._is(scope, key))
            .where(models.IdempotencyRecord.state == "running")
        )

    def delete_expired(self, created_before: datetime, scope_key: tuple[str, str] | None) -> int:
        """Records older than the cut-off: one key's, or all of them."""
        query = delete(models.IdempotencyRecord).where(
            models.IdempotencyRecord.created_at < created_before
        )
        if scope_key is not None:
            query = query.where(self._is(*scope_key))
        result = self._session().execute(query)
        assert isinstance(result, CursorResult)
        return int(result.rowcount)

    def _changed(self, query: Executable) -> bool:
        result = self._session().execute(query)
        assert isinstance(result, CursorResult)
        return bool(result.rowcount == 1)

    @staticmethod
    def _is(scope: str, key: str) -> ColumnElement[bool]:
        return and_(models.IdempotencyRecord.scope == scope, models.IdempotencyRecord.key == key)
