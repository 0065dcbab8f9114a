"""Who is calling: credentials from metadata, verified with argon2 at most once per TTL.

The expensive argon2 result is cached by a digest of the full key (never the
key itself). The cheap status (revoked, expiry) is re-read from the database
at least every `key_status_ttl_seconds` (< 1 s), so a revocation committed by
any process, CLI included, is honoured everywhere within a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache

from chronicle import contract
from chronicle.config import RateLimit
from server import keys
from server.errors import KeyExpired, KeyInvalid, KeyRevoked, Unauthorized
from server.ids import new_id
from server.ratelimit import InProcessLimiter
from server.storage import models
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Metadata = Iterable[tuple[str, str | bytes]]


@dataclass(frozen=True)
class Principal:
    kind: int  # contract.API_KEY or contract.SERVICE_TOKEN
    credential_id: str
    workspace_id: str  # empty for a service token
    environment: str  # live/test for an API key
    name: str = ""
    rate_limit: RateLimit | None = None  # the key's own limit, if it has one


class NeedsVerification(Exception):
    """The key is not in the verification cache: argon2 must run (off the event loop)."""


@dataclass(frozen=True)
class _Status:
    secret_hash: str
    workspace_id: str
    environment: str
    name: str
    expires_at: datetime | None
    revoked_at: datetime | None
    fetched: float
    rate_limit: RateLimit | None = None


def credential_from_metadata(metadata: Metadata) -> str:
    """The raw key from `authorization: Bearer …` and/or `x-api-key: …`."""
    bearer: list[str] = []
    api_key: list[str] = []
    for name, value in metadata:
        if name == "authorization":
            bearer.append(str(value))
        elif name == "x-api-key":
            api_key.append(str(value))
    candidates = set()
    for value in bearer:
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <API_KEY>'")
        candidates.add(token.strip())
    for value in api_key:
        if not value.strip():
            raise Unauthorized("Empty x-api-key header")
        candidates.add(value.strip())
    if not candidates:
        raise Unauthorized(
            "Missing API key: send 'Authorization: Bearer <API_KEY>' or 'x-api-key: <API_KEY>'"
        )
    if len(candidates) > 1:
        raise Unauthorized("Two different API keys were sent")
    (only,) = candidates
    return only


class UsageRecorder:
    """Collects last-use times and writes them in batches, not once per request."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], interval: float) -> None:
        self._uow_factory = uow_factory
        self._interval = interval
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, credential_id: str, when: datetime) -> None:
        with self._lock:
            self._pending[credential_id] = when

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self._uow_factory() as uow:
                uow.api_keys.touch({k: v for k, v in pending.items() if k.startswith("key_")})
                uow.service_tokens.touch({k: v for k, v in pending.items() if k.startswith("svc_")})
                uow.commit()
        except Exception:
            log.warning("could not record last use of %d credentials; will retry", len(pending))
            with self._lock:
                for credential, when in pending.items():
                    self._pending.setdefault(credential, when)
            return 0
        return len(pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="last-used", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


# Before argon2 on a cache miss (KEYS.md): a key id with too many wrong secrets is refused
# for a while without argon2 (a key already verified and cached is not affected), and
# unknown key ids share a small budget of decoy runs, so a flood of well-formed garbage
# costs at most that much CPU.
FAILURES_PER_KEY = RateLimit(10, 60)
DECOYS = RateLimit(20, 1)


class Authenticator:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        hasher: keys.SecretHasher,
        *,
        cache_ttl: float,
        cache_size: int,
        status_ttl: float,
        usage: UsageRecorder | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._hasher = hasher
        self._status_ttl = status_ttl
        self._usage = usage
        self._clock = clock
        self._verified: TTLCache[bytes, str] = TTLCache(cache_size, cache_ttl, timer=clock)
        self._statuses: dict[str, _Status] = {}
        self._lock = threading.Lock()
        self._inflight: dict[bytes, threading.Lock] = {}
        self._throttle = InProcessLimiter(clock)
        self._blocked: TTLCache[str, float] = TTLCache(100_000, 3600, timer=clock)

    @property
    def argon2_verifications(self) -> int:
        return self._hasher.verifications

    def authenticate(self, metadata: Metadata, *, may_block: bool = True) -> Principal:
        """The caller. With `may_block` false, raises NeedsVerification instead of
        running argon2, so an event loop can send that work to a thread."""
        raw = credential_from_metadata(metadata)
        parsed = keys.parse(raw)
        if parsed is None:
            raise KeyInvalid()
        status = self._status(parsed)
        if status is not None and status.environment != parsed.environment:
            status = None  # a live key's id presented as test (or the reverse)
        self._verify(raw, parsed, status, may_block)
        assert status is not None
        now = datetime.now(UTC)
        if status.revoked_at is not None:
            raise KeyRevoked()
        if status.expires_at is not None and status.expires_at <= now:
            raise KeyExpired()
        if self._usage is not None:
            self._usage.mark(parsed.key_id, now)
        kind = contract.SERVICE_TOKEN if parsed.is_service_token else contract.API_KEY
        return Principal(
            kind,
            parsed.key_id,
            status.workspace_id,
            status.environment,
            status.name,
            status.rate_limit,
        )

    def forget(self, credential_id: str) -> None:
        """Drop a cached status so the next request re-reads it (after revoke/rotate)."""
        with self._lock:
            self._statuses.pop(credential_id, None)

    def _status(self, parsed: keys.ParsedKey) -> _Status | None:
        cached = self._statuses.get(parsed.key_id)
        if cached is not None and self._clock() - cached.fetched < self._status_ttl:
            return cached
        status = self._load_status(parsed)
        with self._lock:
            if status is None:
                self._statuses.pop(parsed.key_id, None)
            else:
                self._statuses[parsed.key_id] = status
        return status

    def _load_status(self, parsed: keys.ParsedKey) -> _Status | None:
        fetched = self._clock()
        with self._uow_factory() as uow:
            if parsed.is_service_token:
                token = uow.service_tokens.get(parsed.key_id)
                if token is None:
                    return None
                return _Status(
                    token.secret_hash, "", "", token.name, None, token.revoked_at, fetched
                )
            key = uow.api_keys.get(parsed.key_id)
            if key is None:
                return None
            return _Status(
                key.secret_hash,
                key.workspace_id,
                key.environment,
                key.name,
                key.expires_at,
                key.revoked_at,
                fetched,
                RateLimit.parse(key.rate_limit) if key.rate_limit else None,
            )

    def _verify(
        self, raw: str, parsed: keys.ParsedKey, status: _Status | None, may_block: bool
    ) -> None:
        digest = keys.digest(raw)
        if status is not None and self._is_verified(digest, status.secret_hash):
            return
        if status is not None and self._is_blocked(parsed.key_id):
            raise KeyInvalid()
        if not may_block:
            raise NeedsVerification()
        if status is None and not self._throttle.hit("decoy", DECOYS).allowed:
            raise KeyInvalid()  # an unknown-key flood: no decoy run beyond the budget
        # One argon2 run per key, however many requests arrive with it at once.
        with self._lock:
            gate = self._inflight.setdefault(digest, threading.Lock())
        with gate:
            if status is not None and self._is_verified(digest, status.secret_hash):
                return
            ok = self._hasher.verify(status.secret_hash if status else None, parsed.secret)
            with self._lock:
                self._inflight.pop(digest, None)
                if ok and status is not None:
                    self._verified[digest] = status.secret_hash
        if not ok:
            if status is not None:
                self._count_failure(parsed.key_id, status)
            raise KeyInvalid()

    def _is_blocked(self, key_id: str) -> bool:
        with self._lock:
            return self._blocked.get(key_id, 0.0) > self._clock()

    def _count_failure(self, key_id: str, status: _Status) -> None:
        decision = self._throttle.hit(f"failures:{key_id}", FAILURES_PER_KEY)
        if decision.allowed:
            return
        with self._lock:
            first = key_id not in self._blocked or self._blocked[key_id] <= self._clock()
            self._blocked[key_id] = self._clock() + decision.retry_after_seconds
        if first and key_id.startswith("key_"):
            log.warning("key %s: too many failed verifications; throttled", key_id)
            self._audit(key_id, status.workspace_id, "verification_failures",
                        f"more than {FAILURES_PER_KEY} wrong secrets; throttled")  # fmt: skip

    def _audit(self, key_id: str, workspace_id: str, event: str, detail: str) -> None:
        try:
            with self._uow_factory() as uow:
                uow.key_events.add(models.KeyEvent(
                    id=new_id("evt"), key_id=key_id, workspace_id=workspace_id, event=event,
                    actor="server", detail=detail, created_at=models.utcnow(),
                ))  # fmt: skip
                uow.commit()
        except Exception:
            log.warning("could not record the %s event of key %s", event, key_id)

    def _is_verified(self, digest: bytes, secret_hash: str) -> bool:
        with self._lock:  # TTLCache expires entries on read: not thread-safe alone
            return self._verified.get(digest) == secret_hash
