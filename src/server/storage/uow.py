"""The unit of work: one transaction; leaving the block without commit rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.storage.repository import (
    ApiKeyRepository,
    KeyEventRepository,
    PresentationRepository,
    ServiceTokenRepository,
    TemplateRepository,
    WorkspaceRepository,
)


class UnitOfWork(Protocol):
    workspaces: WorkspaceRepository
    templates: TemplateRepository
    presentations: PresentationRepository
    api_keys: ApiKeyRepository
    service_tokens: ServiceTokenRepository
    key_events: KeyEventRepository

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def flush(self) -> None: ...


class SqlUnitOfWork:
    """Opens its session on first use: a read that needs none (the hot
    GetPresentation path) costs no session at all."""

    def __init__(self, sessions: sessionmaker[Session], engine: Engine) -> None:
        self._sessions = sessions
        self._engine = engine
        self._session: Session | None = None

    def session(self) -> Session:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def __enter__(self) -> Self:
        self.workspaces = WorkspaceRepository(self.session)
        self.templates = TemplateRepository(self.session)
        self.presentations = PresentationRepository(self.session, self._engine)
        self.api_keys = ApiKeyRepository(self.session)
        self.service_tokens = ServiceTokenRepository(self.session)
        self.key_events = KeyEventRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects,
        # which keep their loaded state for the caller to read.
        if self._session is not None:
            self._session.close()
            self._session = None

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()
