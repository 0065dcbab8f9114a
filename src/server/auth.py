"""Who is calling: credentials from metadata, verified with argon2 at most once per TTL.

The expensive argon2 result is cached by a digest of the full key (never the
key itself). The cheap status (revoked, expiry) is re-read from the database
at least every `key_status_ttl_seconds` (< 1 s), so a revocation committed by
any process, CLI included, is honoured everywhere within a second. With Redis, the
change is pushed instead (`server.keystatus`) and the re-read is only a safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from cachetools import TTLCache

from chronicle import contract, credentials
from chronicle.config import DEFAULT_FAILED_VERIFICATIONS, RateLimit
from chronicle.gcra import InProcessLimiter
from server import key_material
from server.errors import (
    ClientThrottled,
    KeyExpired,
    KeyInvalid,
    KeyRevoked,
    Unauthorized,
    Unavailable,
)
from server.ids import new_id
from server.storage import models
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Metadata = Iterable[tuple[str, str | bytes]]
ClientOf = Callable[[], str]  # the caller's address, worked out only when needed


@dataclass(frozen=True)
class Principal:
    kind: int  # contract.API_KEY or contract.SERVICE_TOKEN
    credential_id: str
    workspace_id: str  # empty for a service token
    environment: str  # live/test for an API key
    name: str = ""
    rate_limit: RateLimit | None = None  # the key's own limit, if it has one


class NeedsVerification(Exception):
    """The key is not in the verification cache: argon2 must run (off the event loop).
    `digest` names the presented key, so that requests bringing it at once share one run."""

    def __init__(self, digest: bytes) -> None:
        super().__init__()
        self.digest = digest


class UnknownKeyId(KeyInvalid):
    """API_KEY_INVALID for a key id that does not exist, to be answered no sooner than
    `answer_after` seconds (what an argon2 run takes), so that the answer's timing does
    not tell an unknown key id from a wrong secret; a timer, not argon2, costs no CPU."""

    def __init__(self, answer_after: float) -> None:
        super().__init__()
        self.answer_after = answer_after


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
    try:
        return credentials.presented_key(metadata)
    except credentials.CredentialError as exc:
        raise Unauthorized(str(exc)) from None


class UsageRecorder:
    """What requests teach about keys — last-use times, and the audit events of use
    (an expired key presented, a rate-limited burst, a failed-verification burst) —
    written in batches off the request path, not once per request."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], interval: float) -> None:
        self._uow_factory = uow_factory
        self._interval = interval
        self._pending: dict[str, datetime] = {}
        self._events: list[models.KeyEvent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, credential_id: str, when: datetime) -> None:
        with self._lock:
            self._pending[credential_id] = when

    def event(self, key_id: str, workspace_id: str, event: str, detail: str) -> None:
        with self._lock:
            self._events.append(_key_event(key_id, workspace_id, event, detail))

    def flush(self) -> int:
        """Writes what is pending in one transaction; returns how many credentials'
        last use it recorded."""
        with self._lock:
            pending, self._pending = self._pending, {}
            events, self._events = self._events, []
        if not pending and not events:
            return 0
        try:
            with self._uow_factory() as uow:
                uow.api_keys.touch({k: v for k, v in pending.items() if k.startswith("key_")})
                uow.service_tokens.touch({k: v for k, v in pending.items() if k.startswith("svc_")})
                for event in events:
                    uow.key_events.add(event)
                uow.commit()
        except Exception:
            log.warning(
                "could not record the use of %d credentials (%d events); will retry",
                len(pending),
                len(events),
            )
            with self._lock:
                for credential, when in pending.items():
                    self._pending.setdefault(credential, when)
                self._events[:0] = events
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


def _key_event(key_id: str, workspace_id: str, event: str, detail: str) -> models.KeyEvent:
    return models.KeyEvent(
        id=new_id("evt"),
        key_id=key_id,
        workspace_id=workspace_id,
        event=event,
        actor="server",
        detail=detail,
        created_at=models.utcnow(),
    )


# Before argon2 on a cache miss (KEYS.md), three budgets, each refusing without argon2
# once spent (a key already verified and cached is never affected):
# - a key id with too many wrong secrets answers API_KEY_INVALID for the rest of the
#   window, and the burst is audited once;
# - a client (the peer address, or the address the edge forwards) with too many failed
#   verifications gets 429 until its window has room again;
# - a key id that failed in the last minute is a suspect: suspects share one budget of
#   argon2 runs per process (1 a second, a few % of a core), beyond which they are told
#   to retry (UNAVAILABLE; counted as failures), so wrong secrets for many real key ids
#   at once cannot take the CPU that verified keys' traffic needs.
# And an unknown key id never reaches argon2: it is answered after the time a run takes.
FAILURES_PER_KEY = RateLimit(10, 60)
SUSPECT_VERIFICATIONS = RateLimit(1, 1)
SUSPECT_SECONDS = 60.0
# A key refused again within this long after its last refusal is in the same burst.
BURST_GAP_SECONDS = 60.0


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
        self._uow_factory = uow_factory
        self._hasher = hasher
        self._short_ttl = status_ttl
        self._pushed_ttl = pushed_status_ttl or status_ttl
        self._status_ttl = status_ttl
        self._failures_per_client = failures_per_client
        self._usage = usage
        self._clock = clock
        self._verified: TTLCache[bytes, str] = TTLCache(cache_size, cache_ttl, timer=clock)
        self._statuses: dict[str, _Status] = {}
        self._forgotten = 0  # bumped by every forget: a status read across one is stale
        self._lock = threading.Lock()
        self._gates: TTLCache[str, threading.Lock] = TTLCache(100_000, 600, timer=clock)
        self._throttle = InProcessLimiter(clock)
        self._blocked: TTLCache[str, float] = TTLCache(100_000, 3600, timer=clock)
        self._expiry_told: TTLCache[str, bool] = TTLCache(100_000, 86400, timer=clock)
        self._last_refusal: TTLCache[str, float] = TTLCache(100_000, 3600, timer=clock)
        self._suspects: TTLCache[str, bool] = TTLCache(100_000, SUSPECT_SECONDS, timer=clock)

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
        known = self._verified_hash(digest)  # the hash this very key last verified against
        if known is None:
            # A stranger until argon2 says otherwise: refused at once while its key id or
            # its client is throttled.
            if self._is_blocked(parsed.key_id):
                raise KeyInvalid()
            client = _address(client)
            self.check_client(client)
            if not may_block and not self._inline_lookups:
                raise NeedsVerification(digest)
        status = self._status(parsed)
        if status is not None and status.environment != parsed.environment:
            status = None  # a live key's id presented as test (or the reverse)
        if status is None:
            self._refuse_unknown(client)
        if known != status.secret_hash:
            if not may_block:
                raise NeedsVerification(digest)
            self._verify(digest, parsed, status, _address(client))
        now = datetime.now(UTC)
        if status.revoked_at is not None:
            raise KeyRevoked()
        if status.expires_at is not None and status.expires_at <= now:
            self._tell_expiry(parsed.key_id, status)
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
            self._forgotten += 1

    def forget_all(self) -> None:
        with self._lock:
            self._statuses.clear()
            self._forgotten += 1

    def set_pushed(self, pushed: bool) -> None:
        """Whether status changes are being pushed to this process right now."""
        self._status_ttl = self._pushed_ttl if pushed else self._short_ttl

    def _status(self, parsed: credentials.ParsedKey) -> _Status | None:
        cached = self._statuses.get(parsed.key_id)
        if cached is not None and self._clock() - cached.fetched < self._status_ttl:
            return cached
        forgotten = self._forgotten
        status = self._load_status(parsed)
        with self._lock:
            if status is None:
                self._statuses.pop(parsed.key_id, None)
            elif forgotten == self._forgotten:
                self._statuses[parsed.key_id] = status
            # else a change was told while we read: what we read may predate it
        return status

    def _load_status(self, parsed: credentials.ParsedKey) -> _Status | None:
        fetched = self._clock()
        with self._uow_factory() as uow:
            if parsed.is_service_token:
                token = uow.service_tokens.snapshot(parsed.key_id)
                if token is None:
                    return None
                return _Status(
                    token.secret_hash, "", "", token.name, None, token.revoked_at, fetched
                )
            key = uow.api_keys.snapshot(parsed.key_id)
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

    def _refuse_unknown(self, client: str | ClientOf) -> NoReturn:
        """An unknown key id: no argon2, answered after the time a run takes."""
        self._count_client_failure(_address(client))
        raise UnknownKeyId(self._hasher.typical_seconds)

    def check_client(self, client: str) -> None:
        """ClientThrottled while the client has spent its failed-verification budget."""
        wait = self._blocked_for(f"client:{client}")
        if wait > 0:
            raise ClientThrottled(wait)

    def _verify(
        self, digest: bytes, parsed: credentials.ParsedKey, status: _Status, client: str
    ) -> None:
        """argon2, at most once per key however many requests bring it at once."""
        if self._is_blocked(parsed.key_id):
            raise KeyInvalid()
        # One argon2 run at a time per key id: requests bringing the same key wait for
        # its result, and a flood of guesses at one key cannot run past its failure
        # budget while earlier guesses are still being checked.
        with self._lock:
            gate = self._gates.setdefault(parsed.key_id, threading.Lock())
        with gate:
            if self._verified_hash(digest) == status.secret_hash:
                return  # verified by the request this one waited for
            if self._is_blocked(parsed.key_id):
                raise KeyInvalid()  # throttled by the guesses this one waited for
            if not self._may_verify(parsed.key_id):  # counted as a failure: most likely one
                self._count_failure(parsed.key_id, status, client)
                raise Unavailable("Too many failed API key verifications at once; retry shortly")
            ok = self._hasher.verify(status.secret_hash, parsed.secret)
            if ok:
                with self._lock:
                    self._verified[digest] = status.secret_hash
        if not ok:
            with self._lock:
                self._suspects[parsed.key_id] = True
            self._count_failure(parsed.key_id, status, client)
            raise KeyInvalid()

    def _may_verify(self, key_id: str) -> bool:
        """False for a suspect once suspects have spent their shared budget."""
        with self._lock:
            suspect = self._suspects.get(key_id, False)
        return not suspect or self._throttle.hit("suspects", SUSPECT_VERIFICATIONS).allowed

    def _is_blocked(self, what: str) -> bool:
        return self._blocked_for(what) > 0

    def _blocked_for(self, what: str) -> float:
        """Seconds `what` (a key id, or "client:ADDRESS") stays refused; 0 when not."""
        with self._lock:
            return max(0.0, self._blocked.get(what, 0.0) - self._clock())

    def _count_client_failure(self, client: str) -> None:
        if self._spend_failure(f"client:{client}", self._failures_per_client):
            log.warning(
                "client %s: more than %s failed key verifications; throttled",
                client or "(unknown)",
                self._failures_per_client,
            )

    def _spend_failure(self, what: str, budget: RateLimit) -> bool:
        """One failure from `what`'s budget; once spent, `what` is refused until it has
        room again. True when this failure started the refusal."""
        decision = self._throttle.hit(f"failures:{what}", budget)
        if decision.allowed:
            return False
        with self._lock:
            first = self._blocked.get(what, 0.0) <= self._clock()
            self._blocked[what] = self._clock() + decision.retry_after_seconds
        return first

    def _tell_expiry(self, key_id: str, status: _Status) -> None:
        """The first time this process sees an expired key presented, audit it."""
        if not key_id.startswith("key_"):
            return
        with self._lock:
            if self._expiry_told.get(key_id):
                return
            self._expiry_told[key_id] = True
        assert status.expires_at is not None
        self._record(
            key_id,
            status.workspace_id,
            "expired",
            f"presented after its expiry at {status.expires_at.isoformat()}",
        )

    def tell_rate_limited(self, principal: Principal, rate: RateLimit) -> None:
        """A refusal over the key's rate limit: the first of a burst (none refused in the
        last minute, in this process) is audited."""
        now = self._clock()
        with self._lock:
            last = self._last_refusal.get(principal.credential_id)
            self._last_refusal[principal.credential_id] = now
        if last is not None and now - last < BURST_GAP_SECONDS:
            return
        self._record(
            principal.credential_id,
            principal.workspace_id,
            "rate_limited",
            f"requests refused over the limit of {rate}",
        )

    def _count_failure(self, key_id: str, status: _Status, client: str) -> None:
        """A failed verification, from the key id's budget and from the client's."""
        if self._spend_failure(key_id, FAILURES_PER_KEY) and key_id.startswith("key_"):
            log.warning("key %s: too many failed verifications; throttled", key_id)
            self._record(
                key_id,
                status.workspace_id,
                "verification_failures",
                f"more than {FAILURES_PER_KEY} wrong secrets; throttled",
            )
        self._count_client_failure(client)

    def _record(self, key_id: str, workspace_id: str, event: str, detail: str) -> None:
        """An audit event: batched with last-use times, or at once without a recorder."""
        if self._usage is not None:
            self._usage.event(key_id, workspace_id, event, detail)
            return
        try:
            with self._uow_factory() as uow:
                uow.key_events.add(_key_event(key_id, workspace_id, event, detail))
                uow.commit()
        except Exception:
            log.warning("could not record the %s event of key %s", event, key_id)

    def _verified_hash(self, digest: bytes) -> str | None:
        with self._lock:  # TTLCache expires entries on read: not thread-safe alone
            return self._verified.get(digest)
