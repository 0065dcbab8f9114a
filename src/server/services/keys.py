"""Workspaces, API keys, service tokens and the audit trail of keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chronicle import credentials
from chronicle.config import ConfigError, RateLimit
from server import key_material, paging
from server.errors import Conflict, InvalidArgument, NotFound, shown
from server.ids import new_id
from server.storage import models
from server.storage.repository import Cursor
from server.storage.uow import UnitOfWork

DEFAULT_GRACE = timedelta(hours=24)
MAX_LIFETIME = timedelta(days=3650)  # expiries and grace windows: ten years at most
MAX_NAME = 200


def _single_line(label: str, text: str, limit: int) -> str:
    """Names and reasons print one per line in listings: no control characters."""
    text = text.strip()
    if len(text) > limit or not text.isprintable():
        raise InvalidArgument(f"{label}: at most {limit} printable characters on one line")
    return text


def _within_lifetime(label: str, value: timedelta | None) -> None:
    if value is not None and not timedelta(0) <= value <= MAX_LIFETIME:
        raise InvalidArgument(f"{label}: must be between 0 and {MAX_LIFETIME.days} days")


@dataclass(frozen=True)
class IssuedKey:
    """A key record and its raw key: the only moment the raw key exists."""

    record: models.ApiKey
    raw: str


def key_state(key: models.ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def create_workspace(uow: UnitOfWork, name: str) -> models.Workspace:
    name = _single_line("workspace name", name, MAX_NAME)
    if not name:
        raise InvalidArgument("workspace name: must not be empty")
    workspace = models.Workspace(id=new_id("ws"), name=name)
    uow.workspaces.add(workspace)
    uow.commit()
    return workspace


def _require_workspace(uow: UnitOfWork, workspace_id: str) -> None:
    if uow.workspaces.get(workspace_id) is None:
        raise NotFound(f"No workspace with id {shown(workspace_id)}")


def _record_event(
    uow: UnitOfWork, key: models.ApiKey, event: str, actor: str, detail: str = ""
) -> None:
    uow.key_events.add(
        models.KeyEvent(
            id=new_id("evt"),
            key_id=key.id,
            workspace_id=key.workspace_id,
            event=event,
            actor=actor,
            detail=detail,
            created_at=models.utcnow(),
        )
    )


def _check_rate_limit(rate_limit: str | None) -> str | None:
    if rate_limit is None:
        return None
    try:
        return str(RateLimit.parse(rate_limit))
    except ConfigError as exc:
        raise InvalidArgument(f"rate_limit: {exc}") from None


def _issue(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    *,
    workspace_id: str,
    name: str,
    environment: str,
    expires_at: datetime | None,
    rate_limit: str | None,
    actor: str,
    rotated_from: str | None = None,
) -> IssuedKey:
    new = key_material.generate(environment)
    record = models.ApiKey(
        id=new.parsed.key_id,
        workspace_id=workspace_id,
        name=name,
        environment=environment,
        secret_hash=hasher.hash(new.parsed.secret),
        hint=new.hint,
        created_at=models.utcnow(),
        created_by=actor,
        expires_at=expires_at,
        rate_limit=rate_limit,
        rotated_from=rotated_from,
    )
    uow.api_keys.add(record)
    return IssuedKey(record, new.raw)


def create_api_key(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    *,
    workspace_id: str,
    name: str = "",
    environment: str = "live",
    expires_in: timedelta | None = None,
    rate_limit: str | None = None,
    actor: str,
) -> IssuedKey:
    _require_workspace(uow, workspace_id)
    environment = environment or "live"
    if environment not in credentials.API_KEY_KINDS:
        raise InvalidArgument("environment: must be 'live' or 'test'")
    name = _single_line("name", name, MAX_NAME)
    _within_lifetime("expires_in", expires_in)
    if expires_in is not None and expires_in <= timedelta(0):
        raise InvalidArgument("expires_in: must be positive")
    issued = _issue(
        uow,
        hasher,
        workspace_id=workspace_id,
        name=name.strip(),
        environment=environment,
        expires_at=models.utcnow() + expires_in if expires_in else None,
        rate_limit=_check_rate_limit(rate_limit),
        actor=actor,
    )
    _record_event(uow, issued.record, "created", actor, f"environment={environment}")
    uow.commit()
    return issued


def get_api_key(uow: UnitOfWork, key_id: str) -> models.ApiKey:
    key = uow.api_keys.get(key_id) if key_id else None
    if key is None:
        raise NotFound(f"No API key with id {shown(key_id)}")
    return key


def list_api_keys(
    uow: UnitOfWork, workspace_id: str, page_size: int = 0, page_token: str = ""
) -> tuple[list[models.ApiKey], str]:
    _require_workspace(uow, workspace_id)

    def fetch(limit: int, after: Cursor | None) -> list[models.ApiKey]:
        return uow.api_keys.list_page(workspace_id, limit, after)

    return paging.paginate(fetch, page_size, page_token, default=50, maximum=100)


def revoke_api_key(uow: UnitOfWork, key_id: str, reason: str, actor: str) -> models.ApiKey:
    """Revokes once; revoking again changes nothing and records nothing."""
    key = get_api_key(uow, key_id)
    reason = _single_line("reason", reason, 1000)
    if key.revoked_at is None:
        key.revoked_at = models.utcnow()
        key.revoke_reason = reason
        _record_event(uow, key, "revoked", actor, key.revoke_reason)
        uow.commit()
    return key


def rotate_api_key(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    key_id: str,
    *,
    grace: timedelta | None,
    actor: str,
) -> tuple[IssuedKey, models.ApiKey]:
    """A replacement with the same settings; the old key expires after the grace window."""
    old = get_api_key(uow, key_id)
    now = models.utcnow()
    state = key_state(old, now)
    if state != "active":
        raise Conflict(f"Cannot rotate a key that is {state}")
    grace = DEFAULT_GRACE if grace is None else grace
    _within_lifetime("grace_period", grace)
    lifetime = old.expires_at - old.created_at if old.expires_at else None
    issued = _issue(
        uow,
        hasher,
        workspace_id=old.workspace_id,
        name=old.name,
        environment=old.environment,
        expires_at=now + lifetime if lifetime else None,
        rate_limit=old.rate_limit,
        actor=actor,
        rotated_from=old.id,
    )
    grace_end = now + grace
    old.expires_at = min(old.expires_at, grace_end) if old.expires_at else grace_end
    _record_event(uow, issued.record, "created", actor, f"rotation of {old.id}")
    _record_event(
        uow,
        old,
        "rotated",
        actor,
        f"replaced by {issued.record.id}; expires {old.expires_at.isoformat()}",
    )
    uow.commit()
    return issued, old


def list_key_events(
    uow: UnitOfWork, workspace_id: str, page_size: int = 0, page_token: str = ""
) -> tuple[list[models.KeyEvent], str]:
    _require_workspace(uow, workspace_id)

    def fetch(limit: int, after: Cursor | None) -> list[models.KeyEvent]:
        return uow.key_events.list_page(workspace_id, limit, after)

    return paging.paginate(fetch, page_size, page_token, default=100, maximum=500)


def create_service_token(
    uow: UnitOfWork, hasher: key_material.SecretHasher, name: str
) -> tuple[models.ServiceToken, str]:
    name = _single_line("name", name, MAX_NAME)
    if not name:
        raise InvalidArgument("name: must not be empty")
    new = key_material.generate(credentials.SERVICE_TOKEN_KIND)
    token = models.ServiceToken(
        id=new.parsed.key_id,
        name=name,
        secret_hash=hasher.hash(new.parsed.secret),
        hint=new.hint,
        created_at=models.utcnow(),
    )
    uow.service_tokens.add(token)
    uow.commit()
    return token, new.raw


def revoke_service_token(uow: UnitOfWork, token_id: str) -> models.ServiceToken:
    token = uow.service_tokens.get(token_id)
    if token is None:
        raise NotFound(f"No service token with id {shown(token_id)}")
    if token.revoked_at is None:
        token.revoked_at = models.utcnow()
        uow.commit()
    return token
