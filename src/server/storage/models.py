"""Tables. Timestamps are timezone-aware UTC on every engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from chronicle.v1.presentation_pb2 import Presentation as PresentationMessage
from chronicle.v1.presentation_pb2 import Section


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite keeps no time zone: store UTC, hand back aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SectionList(TypeDecorator[list[Section]]):
    """Slides in protobuf wire format: the encoding of `Presentation.sections`.

    Loading is a C-level parse (microseconds) rather than JSON → message
    conversion (a millisecond per deck), and the bytes are exactly what the API
    serves.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: list[Section] | None, dialect: Dialect) -> bytes:
        return PresentationMessage(sections=value or []).SerializeToString()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> list[Section]:
        return list(PresentationMessage.FromString(value).sections) if value else []


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Keys are Python annotations, as SQLAlchemy declares the map; a JSON document
    # (dict[str, Any]) holds whatever JSON value it was given.
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
    }


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Whether agents may use the workspace through the MCP endpoint.
    mcp_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_workspace_created", "workspace_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    environment: Mapped[str] = mapped_column(String(8))
    # argon2id of the secret part; the raw key is never stored.
    secret_hash: Mapped[str] = mapped_column(String(200))
    hint: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    rate_limit: Mapped[str | None] = mapped_column(String(40))
    rotated_from: Mapped[str | None] = mapped_column(String(40))


class ServiceToken(Base):
    __tablename__ = "service_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    hint: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class KeyEvent(Base):
    """Append-only audit trail of key events; never holds a raw key."""

    __tablename__ = "key_events"
    __table_args__ = (Index("ix_key_events_workspace_created", "workspace_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to one workspace (decision 029: a membership table comes when
    a person needs a second workspace). Never holds a raw password."""

    __tablename__ = "users"
    __table_args__ = (
        # One account per email and workspace, whatever the case: `email_normalized` is
        # the email case-folded, `email` is kept as the person typed it.
        Index("uq_users_workspace_email", "workspace_id", "email_normalized", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254))
    # A vocabulary.UserRole: admin or member.
    role: Mapped[str] = mapped_column(String(10))
    # argon2id, at least OWASP's minimum parameters (server/passwords.py).
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in person's session (decision 030). Holds the SHA-256 digest of its
    token, never the token: a ≥128-bit secret needs no slow hash."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written at most once a minute per session: the idle expiry is counted from it.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    idle_seconds: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]  # the absolute end, whatever the activity
    ended_at: Mapped[datetime | None]


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # NULL: a built-in template, visible to every workspace.
    workspace_id: Mapped[str | None] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[list[str]] = mapped_column(JSON, default=list)
    preview_url: Mapped[str | None] = mapped_column(Text)
    sections: Mapped[list[Section]] = mapped_column(SectionList, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Presentation(Base):
    __tablename__ = "presentations"
    __table_args__ = (
        Index("ix_presentations_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    title: Mapped[str] = mapped_column(Text, default="")
    sections: Mapped[list[Section]] = mapped_column(SectionList, default=list)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on every update: the basis for optimistic concurrency.
    revision: Mapped[int] = mapped_column(Integer, default=1)


class GenerationJob(Base):
    """An asynchronous generation: its request, progress and outcome, and the lease of the
    worker running it (a worker that dies lets its lease expire; another takes over)."""

    __tablename__ = "generation_jobs"
    __table_args__ = (
        Index("ix_generation_jobs_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_generation_jobs_claim", "state", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    # generating, awaiting_input, completed or failed
    state: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str | None] = mapped_column(String(20))
    # The validated request and the answers given to the job's questions.
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    question: Mapped[str | None] = mapped_column(Text)
    slides_total: Mapped[int] = mapped_column(Integer, default=0)
    slides_completed: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[str | None] = mapped_column(Text)
    tokens_used: Mapped[int] = mapped_column(Integer, default=0)
    presentation_id: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A file this service issued an upload target for. An attachment's url is honoured
    only when it is the exact download URL recorded here (looked up by its SHA-256)."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_workspace_created", "workspace_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    # local or s3: where the object lives, under `storage_key`.
    backend: Mapped[str] = mapped_column(String(10))
    storage_key: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    declared_size: Mapped[int] = mapped_column(BigInteger)
    download_url_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the download URL stops working, and with it the right to attach the file.
    expires_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """A request sent with an Idempotency-Key, per workspace (or service token): which
    request it was, whether it is still running, and its answer once it has one. Never
    holds a secret (a raw key is stripped from the stored answer). Kept 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the method and the request message: the same key for another request
    # is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # A vocabulary.IdempotencyState: running, committed or done.
    state: Mapped[str] = mapped_column(String(12))
    # A running claim older than this was left by a server that died: another may take it.
    locked_until: Mapped[datetime]
    # Random, new on each claim and take-over: only the request holding it may mark the
    # record committed or store its answer, so one that outlived its lease cannot.
    claim_token: Mapped[str] = mapped_column(String(32))
    # The answer: a gRPC status code, and the reply message (code 0) or the serialized
    # google.rpc.Status; `secret_withheld` when the reply's secret was stripped.
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
