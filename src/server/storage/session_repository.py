"""The sessions repository (signed-in people; decision 030)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.storage import models


class SessionRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, row: models.UserSession) -> None:
        self._session().add(row)

    def by_digest(self, digest: bytes) -> tuple[models.UserSession, models.User] | None:
        """The session with this token digest and its person, ended or not."""
        query = (
            select(models.UserSession, models.User)
            .join(models.User, models.User.id == models.UserSession.user_id)
            .where(models.UserSession.token_digest == digest)
        )
        row = self._session().execute(query).first()
        return None if row is None else (row[0], row[1])

    def end_for_user(self, user_id: str, when: datetime) -> list[str]:
        """Ends every open session of the user; their ids."""
        session = self._session()
        query = select(models.UserSession.id).where(
            models.UserSession.user_id == user_id, models.UserSession.ended_at.is_(None)
        )
        ids = list(session.scalars(query).all())
        if ids:
            session.execute(
                update(models.UserSession)
                .where(models.UserSession.id.in_(ids))
                .values(ended_at=when)
            )
        return ids

    def touch(self, session_id: str, when: datetime) -> None:
        self._session().execute(
            update(models.UserSession)
            .where(models.UserSession.id == session_id)
            .values(last_seen_at=when)
        )
