"""Who is calling: the credential from metadata, checked against the flood budgets, the
key's cached status and a cached argon2 verification, in that order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from chronicle import credentials
from chronicle.config import DEFAULT_FAILED_VERIFICATIONS, RateLimit
from server import key_material
from server.auth.audit import KeyAudit
from server.auth.budgets import FloodBudgets
from server.auth.key_status import StatusCache
from server.auth.principal import CallerKind, Principal
from server.auth.usage import UsageRecorder
from server.auth.verification import NeedsVerification, UnknownKeyId, Verifier
from server.errors import KeyExpired, KeyInvalid, KeyRevoked, Unauthorized
from server.storage.uow import UnitOfWork

Metadata = Iterable[tuple[str, str | bytes]]
ClientOf = Callable[[], str]  # the caller's address, worked out only when needed


def credential_from_metadata(metadata: Metadata) -> str:
    """The raw key from `authorization: Bearer …` and/or `x-api-key: …`."""
    try:
        return credentials.presented_key(metadata)
    except credentials.CredentialError as exc:
        raise Unauthorized(str(exc)) from None


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

    def tell_rate_limited(self, principal: Principal, rate: RateLimit) -> None:
        """A refusal over the key's rate limit, audited once per burst."""
        self._audit.rate_limited(principal, rate)

    # The listener `status_push` tells of key-status changes.

    def forget(self, credential_id: str) -> None:
        """Drop a cached status so the next request re-reads it (after revoke/rotate)."""
        self._statuses.forget(credential_id)

    def forget_all(self) -> None:
        self._statuses.forget_all()

    def set_pushed(self, pushed: bool) -> None:
        """Whether status changes are being pushed to this process right now."""
        self._statuses.set_pushed(pushed)
