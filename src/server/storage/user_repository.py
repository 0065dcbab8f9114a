"""The users repository (people who sign in to a workspace)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.storage import models


class UserRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, user: models.User) -> bool:
        """False when the workspace already has the email (a concurrent create won the
        unique index); the transaction is then rolled back."""
        session = self._session()
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return False
        return True

    def get(self, user_id: str) -> models.User | None:
        return self._session().get(models.User, user_id)

    def by_email(self, workspace_id: str, email_normalized: str) -> models.User | None:
        query = select(models.User).where(
            models.User.workspace_id == workspace_id,
            models.User.email_normalized == email_normalized,
        )
        return self._session().scalars(query).first()

    def with_email(self, email_normalized: str) -> Sequence[models.User]:
        """Every account of the email, oldest first (one per workspace)."""
        query = (
            select(models.User)
            .where(models.User.email_normalized == email_normalized)
            .order_by(models.User.created_at, models.User.id)
        )
        return self._session().scalars(query).all()

    def in_workspace(self, workspace_id: str) -> Sequence[models.User]:
        """By email: the order of the unique index, so no sort."""
        query = (
            select(models.User)
            .where(models.User.workspace_id == workspace_id)
            .order_by(models.User.email_normalized)
        )
        return self._session().scalars(query).all()
