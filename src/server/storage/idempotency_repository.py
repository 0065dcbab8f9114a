"""The Idempotency-Key records, and the mark a unit of work leaves on one when the work
of the request that claimed it commits."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Executable, and_, delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from server.storage import models
from server.vocabulary import IdempotencyState

_record = models.IdempotencyRecord


@dataclass(frozen=True)
class Claim:
    """A key held by one request: `token` is that request's, set when it claimed the key
    (or took it over), and is required to mark the record or store its answer."""

    scope: str
    key: str
    token: str


class ClaimLost(Exception):
    """The request's claim was taken over by a retry after its lease ran out: its work
    must not commit (the unit of work rolls back), the retry's does."""


# The claim of the request being served, if it sent an Idempotency-Key: its commits mark
# the record in the same transaction, so a server that dies between committing and
# storing the answer leaves "committed", never a claim a retry redoes.
claimed_key: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "claimed_idempotency_key", default=None
)


class IdempotencyRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, record: models.IdempotencyRecord) -> None:
        self._session().add(record)

    def get(self, scope: str, key: str) -> models.IdempotencyRecord | None:
        return self._session().get(_record, (scope, key))

    def take_over(self, claim: Claim, now: datetime, locked_until: datetime) -> bool:
        """A running claim whose lease ran out becomes `claim`'s; False if another
        retry's."""
        return self._changed(
            update(_record)
            .where(self._is(claim.scope, claim.key))
            .where(_record.state == IdempotencyState.RUNNING)
            .where(_record.locked_until < now)
            .values(locked_until=locked_until, claim_token=claim.token)
        )

    def mark_committed(self, claim: Claim) -> None:
        """In the transaction of `claim`'s work; raises ClaimLost if a retry holds it."""
        if not self._changed(
            update(_record)
            .where(self._holds(claim))
            .where(_record.state.in_((IdempotencyState.RUNNING, IdempotencyState.COMMITTED)))
            .values(state=IdempotencyState.COMMITTED)
        ):
            raise ClaimLost()

    def finish(
        self, claim: Claim, status_code: int, response: bytes, secret_withheld: bool
    ) -> bool:
        """Stores the answer; False if a retry holds the key now (its answer counts)."""
        return self._changed(
            update(_record)
            .where(self._holds(claim))
            .values(
                state=IdempotencyState.DONE,
                status_code=status_code,
                response=response,
                secret_withheld=secret_withheld,
            )
        )

    def release(self, claim: Claim) -> bool:
        """A claim whose request did nothing (its work rolled back): the key is free.
        False if its work committed, or a retry holds the key now."""
        return self._changed(
            delete(_record)
            .where(self._holds(claim))
            .where(_record.state == IdempotencyState.RUNNING)
        )

    def delete_expired(self, created_before: datetime, scope_key: tuple[str, str] | None) -> int:
        """Records older than the cut-off: one key's, or all of them."""
        query = delete(_record).where(_record.created_at < created_before)
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
        return and_(_record.scope == scope, _record.key == key)

    @classmethod
    def _holds(cls, claim: Claim) -> ColumnElement[bool]:
        return and_(cls._is(claim.scope, claim.key), _record.claim_token == claim.token)
