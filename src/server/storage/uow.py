"""The unit of work: one transaction; leaving the block without commit rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

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
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def __enter__(self) -> Self:
        self._session = self._sessions()
        self.workspaces = WorkspaceRepository(self._session)
        self.templates = TemplateRepository(self._session)
        self.presentations = PresentationRepository(self._session)
        self.api_keys = ApiKeyRepository(self._session)
        self.service_tokens = ServiceTokenRepository(self._session)
        self.key_events = KeyEventRepository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects,
        # which keep their loaded state for the caller to read.
        self._session.close()

    def commit(self) -> None:
        self._session.commit()

    def flush(self) -> None:
        self._session.flush()
