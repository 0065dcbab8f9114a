"""The read model: frozen views of the rows the hot paths read, read outside any
transaction (each read sees the latest commit, never a unit of work's pending changes).

To change a row, load its entity inside a unit of work (`get_for_update`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine, Table

from chronicle.v1.presentation_pb2 import Presentation as PresentationMessage
from chronicle.v1.presentation_pb2 import Section
from server.storage import models
from server.storage.autocommit_lookup import AutocommitLookup


@dataclass(frozen=True)
class PresentationView:
    """A presentation as GetPresentation serves it."""

    id: str
    workspace_id: str
    title: str
    is_public: bool
    created_at: datetime
    updated_at: datetime
    revision: int
    # `Presentation.sections` in protobuf wire form, as stored: the reply parses them
    # straight into itself (one C-level parse, not a parse and a copy per section).
    sections_wire: bytes

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        return tuple(PresentationMessage.FromString(self.sections_wire).sections)


@dataclass(frozen=True, slots=True)
class KeyStatusView:
    """What authentication needs of an API key."""

    id: str
    workspace_id: str
    name: str
    environment: str
    secret_hash: str = field(repr=False)
    expires_at: datetime | None
    revoked_at: datetime | None
    rate_limit: str | None


@dataclass(frozen=True, slots=True)
class ServiceTokenStatusView:
    """What authentication needs of a service token."""

    id: str
    name: str
    secret_hash: str = field(repr=False)
    revoked_at: datetime | None


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


_PRESENTATIONS = AutocommitLookup(
    _table(models.Presentation),
    (
        "id",
        "workspace_id",
        "title",
        "is_public",
        "created_at",
        "updated_at",
        "revision",
        "sections",
    ),
    PresentationView,
    raw=frozenset({"sections"}),
)
# Authentication reads these on a status-cache miss, often for ids that do not exist.
_API_KEYS = AutocommitLookup(
    _table(models.ApiKey),
    (
        "id",
        "workspace_id",
        "name",
        "environment",
        "secret_hash",
        "expires_at",
        "revoked_at",
        "rate_limit",
    ),
    KeyStatusView,
)
_SERVICE_TOKENS = AutocommitLookup(
    _table(models.ServiceToken),
    ("id", "name", "secret_hash", "revoked_at"),
    ServiceTokenStatusView,
)


def presentation(engine: Engine, presentation_id: str) -> PresentationView | None:
    return _PRESENTATIONS.get(engine, presentation_id)


def api_key_status(engine: Engine, key_id: str) -> KeyStatusView | None:
    return _API_KEYS.get(engine, key_id)


def service_token_status(engine: Engine, token_id: str) -> ServiceTokenStatusView | None:
    return _SERVICE_TOKENS.get(engine, token_id)
