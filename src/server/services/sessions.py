"""Signing in and out (decision 030): argon2id against the user's password hash behind
the flood budgets, a session row holding only its token's digest, and audit events in
the key-event trail."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

from server import key_material, passwords
from server.auth.budgets import FloodBudgets
from server.auth.sessions import new_token, token_digest
from server.errors import InvalidArgument, SignInFailed
from server.ids import new_id
from server.storage import models
from server.storage.uow import UnitOfWork

# At most this many accounts of one email are tried (one per workspace).
MAX_ACCOUNTS = 5


class SessionEvent:
    """`KeyEvent.event` for people signing in and out; `key_id` holds the session's id
    (the user's id for a failure), `actor` the email."""

    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    SIGN_IN_FAILED = "sign_in_failed"


@dataclass(frozen=True)
class SignedIn:
    """A new session and its token: the only moment the token exists."""

    session: models.UserSession
    user: models.User
    token: str


class DummyHash:
    """A hash of a random password with the real parameters: an unknown email costs one
    argon2 run like a wrong password, so the time does not tell them apart."""

    def __init__(self, hasher: key_material.SecretHasher) -> None:
        self._hasher = hasher
        self._hash: str | None = None
        self._lock = threading.Lock()

    def verify(self, password: str) -> None:
        with self._lock:
            if self._hash is None:
                self._hash = self._hasher.hash(secrets.token_urlsafe(24))
        self._hasher.verify(self._hash, password)


def _normalized(email: str) -> str:
    try:
        return passwords.normalize_email(email)[1]
    except InvalidArgument:  # answered like an unknown email
        return email.strip().casefold()


def _event(uow: UnitOfWork, user: models.User, key_id: str, event: str, client: str) -> None:
    """In the workspace's key-event trail: `key_id` is the session's id (the user's for a
    failure), the actor the person's email."""
    uow.key_events.add(
        models.KeyEvent(
            id=new_id("evt"),
            key_id=key_id,
            workspace_id=user.workspace_id,
            event=event,
            actor=user.email,
            detail=f"from {client}" if client else "",
            created_at=models.utcnow(),
        )
    )


def sign_in(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    dummy: DummyHash,
    budgets: FloodBudgets,
    *,
    email: str,
    password: str,
    workspace_id: str,
    client: str,
    idle: timedelta,
    lifetime: timedelta,
) -> SignedIn:
    """A session for the account of `email` whose password matches; SignInFailed, the
    same for every cause, or SignInThrottled before any argon2 run."""
    normalized = _normalized(email)
    budgets.check_sign_in(normalized, client)
    accounts = [
        user
        for user in uow.users.with_email(normalized)
        if not workspace_id or user.workspace_id == workspace_id
    ][:MAX_ACCOUNTS]
    if not accounts:
        dummy.verify(password)
    user = next((u for u in accounts if hasher.verify(u.password_hash, password)), None)
    if user is None or user.disabled_at is not None:
        budgets.sign_in_failed(normalized, client)
        for account in accounts:
            _event(uow, account, account.id, SessionEvent.SIGN_IN_FAILED, client)
        uow.commit()
        raise SignInFailed()
    token, digest = new_token()
    now = models.utcnow()
    session = models.UserSession(
        id=new_id("ses"),
        user_id=user.id,
        workspace_id=user.workspace_id,
        token_digest=digest,
        created_at=now,
        last_seen_at=now,
        idle_seconds=int(idle.total_seconds()),
        expires_at=now + lifetime,
    )
    uow.sessions.add(session)
    _event(uow, user, session.id, SessionEvent.SIGNED_IN, client)
    uow.commit()
    return SignedIn(session, user, token)


def sign_out(uow: UnitOfWork, token: str) -> str | None:
    """Ends the token's session; its id when one was open, for the servers to be told."""
    digest = token_digest(token)
    found = uow.sessions.by_digest(digest) if digest is not None else None
    if found is None or found[0].ended_at is not None:
        return None
    session, user = found
    session.ended_at = models.utcnow()
    _event(uow, user, session.id, SessionEvent.SIGNED_OUT, "")
    uow.commit()
    return session.id
