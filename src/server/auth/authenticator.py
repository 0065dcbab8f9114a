"""Who is calling: the credential from metadata, checked against the flood budgets, the
key's cached status and a cached argon2 verification, in that order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from chronicle import contract, credentials
from chronicle.config import DEFAULT_FAILED_VERIFICATIONS, RateLimit
from server import key_material
from server.auth.audit import KeyAudit
from server.auth.budgets import FloodBudgets
from server.auth.key_status import StatusCache
from server.auth.principal import CallerKind, Principal
from server.auth.sessions import SessionCache, token_digest
from server.auth.usage import UsageRecorder
from server.auth.verification import NeedsVerification, UnknownKeyId, Verifier
from server.errors import KeyExpired, KeyInvalid, KeyRevoked, SessionInvalid, Unauthorized
from server.storage.uow import UnitOfWork

Metadata = Iterable[tuple[str, str | bytes]]
ClientOf = Callable[[], str]  # the caller's address, worked out only when needed


def credential_from_metadata(metadata: Metadata) -> str:
    """The raw key from `authorization: Bearer …` and/or `x-api-key: …`."""
    try:
        return credentials.presented_key(metadata)
    except credentials.CredentialError as exc:
        raise Unauthorized(str(exc)) from None


def _session_token(metadata: Metadata) -> str | None:
    """The session token sent in `chronicle-session`; None when there is none.
    Unauthorized when a key is sent beside it: a call has one credential."""
    token = None
    key = False
    for name, value in metadata:
        if name == contract.SESSION_METADATA:
            token = str(value).strip()
        elif name in ("authorization", "x-api-key"):
            key = True
    if token is not None and key:
        raise Unauthorized("Send a session or an API key, not both")
    return token


def _address(client: str | ClientOf) -> str:
    return client() if callable(client) else client


class Authenticator:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        hasher: key_material.SecretHasher,
        *,
        cache_ttl: float,
        cache_size: int,
        status_ttl: float,
        pushed_status_ttl: float | None = None,
        failures_per_client: RateLimit = DEFAULT_FAILED_VERIFICATIONS,
        usage: UsageRecorder | None = None,
        inline_lookups: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`status_ttl`: how old a cached key status may be (< 1 s). `pushed_status_ttl`:
        the same while changes are pushed over pub/sub (see `set_pushed`).
        `inline_lookups`: reading a status is quick enough for an event loop (SQLite)."""
        self._inline_lookups = inline_lookups
        self._hasher = hasher
        self._usage = usage
        self._budgets = FloodBudgets(failures_per_client, clock)
        self._audit = KeyAudit(uow_factory, usage, clock)
        self._statuses = StatusCache(
            uow_factory, ttl=status_ttl, pushed_ttl=pushed_status_ttl, clock=clock
        )
        self._sessions = SessionCache(
            uow_factory,
            ttl=status_ttl,
            pushed_ttl=pushed_status_ttl,
            pushed=lambda: self._statuses.pushed,
            clock=clock,
        )
        self._verifier = Verifier(
            hasher,
            self._budgets,
            self._audit,
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            clock=clock,
        )

    @property
    def argon2_verifications(self) -> int:
        return self._hasher.verifications

    def authenticate(
        self, metadata: Metadata, *, may_block: bool = True, client: str | ClientOf = ""
    ) -> Principal:
        """The caller. With `may_block` false, raises NeedsVerification instead of
        running argon2 (or, unless lookups are inline, reading a status from the
        database), so an event loop can send that work to a thread. `client` is the
        caller's address (or how to find it), for each client's budget of failures."""
        session = _session_token(metadata)
        if session is not None:
            return self._signed_in(session, may_block)
        return self._keyed(metadata, may_block, client)

    def _keyed(self, metadata: Metadata, may_block: bool, client: str | ClientOf) -> Principal:
        """The API key's or service token's caller."""
        raw = credential_from_metadata(metadata)
        parsed = credentials.parse(raw)
        if parsed is None:
            raise KeyInvalid()
        digest = credentials.digest(raw)
        known = self._verifier.verified_hash(digest)
        if known is None:
            # A stranger until argon2 says otherwise: refused at once while its key id or
            # its client is throttled.
            if self._budgets.key_blocked(parsed.key_id):
                raise KeyInvalid()
            client = _address(client)
            self._budgets.check_client(client)
            if not may_block and not self._inline_lookups:
                raise NeedsVerification(digest)
        status = self._statuses.get(parsed)
        if status is not None and status.environment != parsed.environment:
            status = None  # a live key's id presented as test (or the reverse)
        if status is None:  # no argon2: answered after the time a run takes
            self._budgets.client_failed(_address(client))
            raise UnknownKeyId(self._hasher.typical_seconds)
        if known != status.secret_hash:
            if not may_block:
                raise NeedsVerification(digest)
            self._verifier.verify(digest, parsed, status, _address(client))
        now = datetime.now(UTC)
        if status.revoked_at is not None:
            raise KeyRevoked()
        if status.expires_at is not None and status.expires_at <= now:
            if not parsed.is_service_token:
                self._audit.expired(parsed.key_id, status.workspace_id, status.expires_at)
            raise KeyExpired()
        kind = CallerKind.of(parsed.kind)
        if self._usage is not None:
            self._usage.mark(kind, parsed.key_id, now)
        return Principal(
            kind,
            parsed.key_id,
            status.workspace_id,
            status.environment,
            status.name,
            status.rate_limit,
        )

    def _signed_in(self, token: str, may_block: bool) -> Principal:
        """The person whose session `token` is; SessionInvalid when it is none (no
        longer). A SHA-256 lookup: the token's 190-bit secret needs no argon2."""
        digest = token_digest(token)
        if digest is None:
            raise SessionInvalid()
        now = datetime.now(UTC)
        state = self._sessions.cached(digest)
        if state is None:
            if not may_block and not self._inline_lookups:
                raise NeedsVerification(digest)
            state = self._sessions.load(digest, now)
        if state is None or not state.usable(now):
            raise SessionInvalid()
        return Principal(
            CallerKind.USER_SESSION,
            state.session_id,
            state.workspace_id,
            "",
            state.email,
            user_id=state.user_id,
            role=state.role,
        )

    def tell_rate_limited(self, principal: Principal, rate: RateLimit) -> None:
        """A refusal over the key's rate limit, audited once per burst."""
        self._audit.rate_limited(principal, rate)

    # The listener `status_push` tells of key-status changes.

    def forget(self, credential_id: str) -> None:
        """Drop a cached status so the next request re-reads it (after revoke/rotate);
        a session's or a user's id drops their sessions' states."""
        self._statuses.forget(credential_id)
        self._sessions.forget(credential_id)

    def forget_all(self) -> None:
        self._statuses.forget_all()
        self._sessions.forget_all()

    def set_pushed(self, pushed: bool) -> None:
        """Whether status changes are being pushed to this process right now."""
        if pushed and not self._statuses.pushed:  # after a lapse: news may have been lost
            self._sessions.forget_all()
        self._statuses.set_pushed(pushed)
