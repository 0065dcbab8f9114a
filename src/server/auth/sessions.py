"""Session tokens of signed-in people (decision 030): their format, and a cache of each
session's state re-read as often as a key's status, so that signing out, disabling a user
or changing a password is honoured everywhere within 1 s (pushed like key statuses)."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chronicle.credentials import BASE62
from server.storage import models
from server.storage.uow import UnitOfWork

PREFIX = "chr_ses_"  # a `chr_…` value: the edge's redaction hides it in any log line
SECRET_LENGTH = 32  # base62: 190 bits
_TOKEN = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{SECRET_LENGTH}}}$")
# last_seen_at is written at most this often per session: idle expiry is hours.
TOUCH_EVERY = timedelta(seconds=60)


def new_token() -> tuple[str, bytes]:
    """A token and its digest."""
    token = PREFIX + "".join(secrets.choice(BASE62) for _ in range(SECRET_LENGTH))
    return token, hashlib.sha256(token.encode()).digest()


def token_digest(token: str) -> bytes | None:
    """What the database keeps of a token; None for a value that is no session token."""
    if not _TOKEN.match(token):
        return None
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class SessionState:
    session_id: str
    user_id: str
    workspace_id: str
    email: str
    role: str
    expires_at: datetime
    idle: timedelta
    last_seen_at: datetime
    open: bool  # neither ended nor its user disabled
    fetched: float

    def usable(self, now: datetime) -> bool:
        return self.open and now < self.expires_at and now - self.last_seen_at < self.idle


class SessionCache:
    """Session states by token digest; told of changes by session or user id."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        ttl: float,
        pushed_ttl: float | None,
        pushed: Callable[[], bool],
        clock: Callable[[], float],
    ) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl
        self._pushed_ttl = pushed_ttl or ttl
        self._pushed = pushed
        self._clock = clock
        self._states: dict[bytes, SessionState] = {}
        self._forgotten = 0  # bumped by every forget: a state read across one is stale
        self._lock = threading.Lock()

    def cached(self, digest: bytes) -> SessionState | None:
        state = self._states.get(digest)
        if state is None:
            return None
        ttl = self._pushed_ttl if self._pushed() else self._ttl
        return state if self._clock() - state.fetched < ttl else None

    def load(self, digest: bytes, now: datetime) -> SessionState | None:
        """Read from the database (and last_seen_at written, when a minute old)."""
        forgotten = self._forgotten
        fetched = self._clock()
        with self._uow_factory() as uow:
            found = uow.sessions.by_digest(digest)
            if found is None:
                state = None
            else:
                state = _state(*found, fetched)
                if state.usable(now) and now - state.last_seen_at >= TOUCH_EVERY:
                    uow.sessions.touch(state.session_id, now)
                    uow.commit()
                    state = _replace_seen(state, now)
        with self._lock:
            if state is None:
                self._states.pop(digest, None)
            elif forgotten == self._forgotten:
                self._states[digest] = state
        return state

    def forget(self, changed_id: str) -> None:
        """A session (`ses_…`) or every session of a user (`usr_…`) changed."""
        with self._lock:
            for digest, state in list(self._states.items()):
                if changed_id in (state.session_id, state.user_id):
                    del self._states[digest]
            self._forgotten += 1

    def forget_all(self) -> None:
        with self._lock:
            self._states.clear()
            self._forgotten += 1


def _state(session: models.UserSession, user: models.User, fetched: float) -> SessionState:
    return SessionState(
        session.id,
        user.id,
        session.workspace_id,
        user.email,
        user.role,
        session.expires_at,
        timedelta(seconds=session.idle_seconds),
        session.last_seen_at,
        session.ended_at is None and user.disabled_at is None,
        fetched,
    )


def _replace_seen(state: SessionState, now: datetime) -> SessionState:
    return replace(state, last_seen_at=now)
