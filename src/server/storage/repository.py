"""Repositories: the only code that builds queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, Select, or_, select, tuple_, update
from sqlalchemy.orm import Session

from server.storage import models, views
from server.vocabulary import JobState

Cursor = tuple[datetime, str]
Model = TypeVar("Model", models.Presentation, models.ApiKey, models.KeyEvent)


def _page(
    session: Session, query: Select[Model], model: type[Model], limit: int, after: Cursor | None
) -> list[Model]:
    """Newest first, keyset-paged on (created_at, id): any page costs what page 1 costs."""
    if after is not None:
        query = query.where(tuple_(model.created_at, model.id) < tuple_(*after))
    query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
    return list(session.scalars(query))


def _touch(
    session: Session,
    model: type[models.ApiKey] | type[models.ServiceToken],
    last_used: dict[str, datetime],
) -> None:
    if last_used:
        session.execute(
            update(model),
            [{"id": row_id, "last_used_at": when} for row_id, when in last_used.items()],
        )


class WorkspaceRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, workspace: models.Workspace) -> None:
        self._session().add(workspace)

    def get(self, workspace_id: str) -> models.Workspace | None:
        return self._session().get(models.Workspace, workspace_id)

    def first(self, limit: int) -> list[models.Workspace]:
        query = select(models.Workspace).order_by(models.Workspace.created_at, models.Workspace.id)
        return list(self._session().scalars(query.limit(limit)))


class TemplateRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def get(self, template_id: str) -> models.Template | None:
        return self._session().get(models.Template, template_id)

    def add(self, template: models.Template) -> None:
        self._session().add(template)

    def list_visible(self, workspace_id: str) -> Sequence[models.Template]:
        """Built-in templates first, then the workspace's own."""
        query = (
            select(models.Template)
            .where(
                or_(
                    models.Template.workspace_id.is_(None),
                    models.Template.workspace_id == workspace_id,
                )
            )
            .order_by(
                models.Template.workspace_id.is_not(None),
                models.Template.created_at,
                models.Template.id,
            )
        )
        return self._session().scalars(query).all()


class PresentationRepository:
    def __init__(self, session: Callable[[], Session], engine: Engine) -> None:
        self._session = session
        self._engine = engine

    def add(self, presentation: models.Presentation) -> None:
        self._session().add(presentation)

    def get(self, presentation_id: str) -> views.PresentationView | None:
        """The read model's view, read outside this unit of work's transaction: the
        latest commit, not this unit's pending changes. The hot read path."""
        return views.presentation(self._engine, presentation_id)

    def get_for_update(self, presentation_id: str) -> models.Presentation | None:
        """The row, locked until this unit of work ends, to change it."""
        session = self._session()
        if self._engine.dialect.name == "sqlite":
            # No row locks in SQLite: take its one write lock before reading (a write
            # that changes nothing), or two updates could read the same row and the
            # second overwrite the first's revision.
            deck = models.Presentation
            session.execute(
                update(deck).where(deck.id == presentation_id).values(revision=deck.revision),
                execution_options={"synchronize_session": False},
            )
        return session.get(
            models.Presentation, presentation_id, with_for_update=True, populate_existing=True
        )

    def delete(self, presentation: models.Presentation) -> None:
        self._session().delete(presentation)

    def list_page(
        self, workspace_id: str, limit: int, after: Cursor | None
    ) -> list[models.Presentation]:
        query = select(models.Presentation).where(models.Presentation.workspace_id == workspace_id)
        return _page(self._session(), query, models.Presentation, limit, after)


class ApiKeyRepository:
    def __init__(self, session: Callable[[], Session], engine: Engine) -> None:
        self._session = session
        self._engine = engine

    def add(self, key: models.ApiKey) -> None:
        self._session().add(key)

    def get(self, key_id: str) -> models.ApiKey | None:
        return self._session().get(models.ApiKey, key_id)

    def snapshot(self, key_id: str) -> views.KeyStatusView | None:
        """What authentication reads of the key, outside this unit of work's transaction."""
        return views.api_key_status(self._engine, key_id)

    def list_page(self, workspace_id: str, limit: int, after: Cursor | None) -> list[models.ApiKey]:
        query = select(models.ApiKey).where(models.ApiKey.workspace_id == workspace_id)
        return _page(self._session(), query, models.ApiKey, limit, after)

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record last use of many keys in one statement."""
        _touch(self._session(), models.ApiKey, last_used)


class ServiceTokenRepository:
    def __init__(self, session: Callable[[], Session], engine: Engine) -> None:
        self._session = session
        self._engine = engine

    def add(self, token: models.ServiceToken) -> None:
        self._session().add(token)

    def get(self, token_id: str) -> models.ServiceToken | None:
        return self._session().get(models.ServiceToken, token_id)

    def snapshot(self, token_id: str) -> views.ServiceTokenStatusView | None:
        """What authentication reads of the token, outside this unit of work's transaction."""
        return views.service_token_status(self._engine, token_id)

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record last use of many tokens in one statement."""
        _touch(self._session(), models.ServiceToken, last_used)


class KeyEventRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, event: models.KeyEvent) -> None:
        self._session().add(event)

    def list_page(
        self, workspace_id: str, limit: int, after: Cursor | None
    ) -> list[models.KeyEvent]:
        query = select(models.KeyEvent).where(models.KeyEvent.workspace_id == workspace_id)
        return _page(self._session(), query, models.KeyEvent, limit, after)


class GenerationJobRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, job: models.GenerationJob) -> None:
        self._session().add(job)

    def get(self, job_id: str) -> models.GenerationJob | None:
        return self._session().get(models.GenerationJob, job_id)

    def claim(self, owner: str, now: datetime, until: datetime) -> str | None:
        """Takes the oldest generating job whose lease is free or expired; its id, or None.

        On PostgreSQL, `SELECT … FOR UPDATE SKIP LOCKED`: workers racing for jobs each
        take a different one without waiting on each other. Elsewhere (SQLite has one
        writer anyway), a compare-and-set on the lease. Either way two workers never
        hold one job."""
        job = models.GenerationJob
        free = or_(job.lease_expires_at.is_(None), job.lease_expires_at < now)
        session = self._session()
        if session.get_bind().dialect.name == "postgresql":
            job_id = session.scalars(
                select(job.id)
                .where(job.state == JobState.GENERATING, free)
                .order_by(job.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if job_id is None:
                return None
            session.execute(
                update(job)
                .where(job.id == job_id)
                .values(lease_owner=owner, lease_expires_at=until, attempts=job.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return job_id
        candidates = session.scalars(
            select(job.id)
            .where(job.state == JobState.GENERATING, free)
            .order_by(job.created_at)
            .limit(5)
        ).all()
        for job_id in candidates:
            taken = session.execute(
                update(job)
                .where(job.id == job_id, job.state == JobState.GENERATING, free)
                .values(lease_owner=owner, lease_expires_at=until, attempts=job.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) == 1:
                return job_id
        return None
