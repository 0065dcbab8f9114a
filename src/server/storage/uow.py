"""The unit of work: one transaction; leaving the block without commit rolls back."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.storage.idempotency_repository import IdempotencyRepository, claimed_key
from server.storage.repository import (
    ApiKeyRepository,
    GenerationJobRepository,
    KeyEventRepository,
    PresentationRepository,
    ServiceTokenRepository,
    TemplateRepository,
    WorkspaceRepository,
)
from server.storage.session_repository import SessionRepository
from server.storage.upload_repository import UploadRepository
from server.storage.user_repository import UserRepository


class UnitOfWork(Protocol):
    @property
    def workspaces(self) -> WorkspaceRepository: ...
    @property
    def templates(self) -> TemplateRepository: ...
    @property
    def presentations(self) -> PresentationRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def service_tokens(self) -> ServiceTokenRepository: ...
    @property
    def key_events(self) -> KeyEventRepository: ...
    @property
    def generation_jobs(self) -> GenerationJobRepository: ...
    @property
    def uploads(self) -> UploadRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
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

    # Repositories are made on first use: a request touches one or two.
    @cached_property
    def workspaces(self) -> WorkspaceRepository:
        return WorkspaceRepository(self.session)

    @cached_property
    def templates(self) -> TemplateRepository:
        return TemplateRepository(self.session)

    @cached_property
    def presentations(self) -> PresentationRepository:
        return PresentationRepository(self.session, self._engine)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self.session, self._engine)

    @cached_property
    def service_tokens(self) -> ServiceTokenRepository:
        return ServiceTokenRepository(self.session, self._engine)

    @cached_property
    def key_events(self) -> KeyEventRepository:
        return KeyEventRepository(self.session)

    @cached_property
    def generation_jobs(self) -> GenerationJobRepository:
        return GenerationJobRepository(self.session)

    @cached_property
    def uploads(self) -> UploadRepository:
        return UploadRepository(self.session)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self.session)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session)

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.session)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects,
        # which keep their loaded state for the caller to read.
        if self._session is not None:
            self._session.close()
            self._session = None

    def commit(self) -> None:
        if self._session is not None:
            claimed = claimed_key.get()
            if claimed is not None:  # in the same transaction as the request's work
                self.idempotency.mark_committed(claimed)
            self._session.commit()

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()
