"""What the edge refuses itself, so that a flood of bad keys costs the servers little.

A refusal here costs a fraction of a gRPC call on a server, and tells the client
exactly what the server would:
- a request without one well-formed key (missing, two keys, a bad checksum): 401;
- a client the server throttled for its failed verifications (ErrorInfo scope
  "client"): 429 until its retry delay is over, unless its key was accepted before;
- a key the server refused (401: revoked, expired, invalid) within REFUSED_SECONDS: the
  server's own answer again, without a call and without spending any budget, so one
  client looping with a revoked key costs a lookup;
- keys this edge has not seen answered yet are sent on at most CHRONICLE_NEW_KEY_RATE
  a second, one call per key at a time (requests bringing a key whose first call is in
  flight wait for it: a 401 answers them too); beyond that 503 with Retry-After. One
  client (an IPv4 address, an IPv6 /64) may spend at most half of that (beyond: 429 for
  that client only). Clients whose keys the server refused lately draw from a budget of
  their own, so a flood of bad keys spends the clean clients' budget with at most its
  first key per client. A key the server accepts gives its place back, so the budgets
  meter distinct keys that fail, not requests: new valid keys (every client after an
  edge restart) are held back only while many fresh clients each send a bad key. Keys
  seen accepted are never held back.
A key is accepted when the server says so: its reply, error or not, carries the
`chronicle-authenticated` trailer (contract.AUTHENTICATED_METADATA). The server still
authenticates every request it gets; only keys' SHA-256 digests are kept here.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from enum import StrEnum

from cachetools import TTLCache

from chronicle import contract, credentials
from chronicle.config import RateLimit
from chronicle.gcra import InProcessLimiter
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.errors import HttpError, Refused

# How long a key, once accepted, skips the new-key budget; how long a client's refusal
# may be remembered (the longest failed-verification window).
ACCEPTED_SECONDS = 3600.0
LONGEST_REFUSAL_SECONDS = 3600.0
# How long a key the server refused is answered here: revocation and expiry are final,
# but API_KEY_INVALID may be the server's per-key-id throttle (a minute) on a good key.
REFUSED_SECONDS = 60.0
# How long a client whose key the server refused draws from the failing clients' budget.
FAILING_SECONDS = 600.0
REMEMBERED = 100_000  # keys and clients, each


class Pool(StrEnum):
    """The new-key budgets, each CHRONICLE_NEW_KEY_RATE: clients with no key refused
    lately, and the others."""

    CLEAN = "clean clients"
    FAILING = "failing clients"


def client_of(address: str) -> str:
    """Whom a per-client budget counts: an IPv4 address, or an IPv6 address's /64 (one
    host's usual allocation: a host has all of it to pick addresses from)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is that IPv4 client
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def authenticated(trailing: Iterable[tuple[str, str | bytes]]) -> bool:
    """Whether a reply's trailing metadata says the server authenticated its key."""
    return any(key == contract.AUTHENTICATED_METADATA for key, _ in trailing)


@functools.lru_cache(maxsize=64)  # one per whole second of wait: a flood repeats them
def _busy(retry_after: int) -> HttpError:
    busy = HttpError.of(503, "Too many new API keys at once; retry shortly")
    return busy.retry_after(retry_after)


@functools.lru_cache(maxsize=64)
def _client_busy(retry_after: int) -> HttpError:
    busy = HttpError.of(
        429, "Too many new API keys from this client; retry later", ErrorReason.API_KEY_RATE_LIMITED
    )
    return busy.retry_after(retry_after)


def client_share(new_keys: RateLimit) -> RateLimit:
    """What one client may spend of the new-key budget: half, so one client alone
    never spends it all."""
    return RateLimit(max(1, new_keys.count // 2), new_keys.per_seconds)


class Ticket:
    """A request let through: used as `async with`, and settled with the server's answer."""

    def __init__(self, admission: Admission, digest: bytes, client: str) -> None:
        self._admission = admission
        self.digest = digest
        self.client = client
        self.first: asyncio.Future[HttpError | None] | None = None  # when the key is new
        self.pool = Pool.CLEAN  # the budget a new key drew from

    @property
    def new(self) -> bool:
        """Whether no server has answered for the key yet (this request asks first)."""
        return self.first is not None and not self.first.done()

    def settle(self, error: HttpError | None, *, authenticated: bool) -> None:
        """The server's answer (None: served), and whether it authenticated the key."""
        self._admission._settle(self, error, authenticated)

    async def __aenter__(self) -> Ticket:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._admission._release(self, None)  # no answer (if not settled): waiters ask again


class Admission:
    def __init__(self, new_keys: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._new_keys = new_keys
        self._clock = clock
        self._per_client = client_share(new_keys)
        self._budget = InProcessLimiter(clock, max_keys=len(Pool))
        self._client_budgets = InProcessLimiter(clock, max_keys=REMEMBERED)
        self._accepted: TTLCache[bytes, bool] = TTLCache(REMEMBERED, ACCEPTED_SECONDS, timer=clock)
        self._refused_keys: TTLCache[bytes, HttpError] = TTLCache(
            REMEMBERED, REFUSED_SECONDS, timer=clock
        )
        self._refused: TTLCache[str, tuple[float, HttpError]] = TTLCache(
            REMEMBERED, LONGEST_REFUSAL_SECONDS, timer=clock
        )
        self._failing: TTLCache[str, bool] = TTLCache(REMEMBERED, FAILING_SECONDS, timer=clock)
        # A new key's first call in flight: requests bringing the same key meanwhile wait
        # for it instead of each spending the budget (a client's first burst) or each
        # reaching a server (one made-up key sent over and over). Its result is the
        # server's answer (None: served, or no answer at all).
        self._first_calls: dict[bytes, asyncio.Future[HttpError | None]] = {}

    async def admit(self, metadata: Iterable[tuple[str, str]], client: str) -> Ticket:
        """A ticket when the request may go on to a server; otherwise raises Refused."""
        try:
            raw = credentials.presented_key(metadata)
        except credentials.CredentialError as exc:
            raise Refused(HttpError.of(401, str(exc), ErrorReason.UNAUTHORIZED)) from None
        if credentials.parse(raw) is None:
            invalid = HttpError.of(
                401, credentials.INVALID_KEY_MESSAGE, ErrorReason.API_KEY_INVALID
            )
            raise Refused(invalid)
        ticket = Ticket(self, credentials.digest(raw), client_of(client))
        refused = self._refused_keys.get(ticket.digest)
        if refused is not None:
            raise Refused(refused)
        while ticket.digest not in self._accepted:
            first = self._first_calls.get(ticket.digest)
            if first is None:  # this request makes the key's first call
                self._check_new(ticket)
                ticket.first = asyncio.get_running_loop().create_future()
                self._first_calls[ticket.digest] = ticket.first
                break
            answer = await asyncio.shield(first)
            if answer is not None and answer.status == 401:
                raise Refused(answer)  # the same key, the same answer
            # Accepted: on its way. Otherwise (an answer about that request, not the key,
            # or none) the key is still new: this request asks for itself.
        return ticket

    def _check_new(self, ticket: Ticket) -> None:
        """A new key: refused while its client is, or once its budget is spent."""
        client = ticket.client
        until, error = self._refused.get(client, (0.0, None))
        if error is not None and (wait := until - self._clock()) > 0:
            raise Refused(error.retry_after(wait))
        ticket.pool = Pool.FAILING if client in self._failing else Pool.CLEAN
        decision = self._budget.hit(ticket.pool, self._new_keys)
        if not decision.allowed:
            raise Refused(_busy(math.ceil(decision.retry_after_seconds)))
        own = self._client_budgets.hit(client, self._per_client)
        if not own.allowed:  # this client's share is spent, not the edge's
            self._budget.refund(ticket.pool, self._new_keys)
            raise Refused(_client_busy(math.ceil(own.retry_after_seconds)))

    def _settle(self, ticket: Ticket, error: HttpError | None, authenticated: bool) -> None:
        digest = ticket.digest
        if error is not None and error.client_refused_for > 0:
            self._refused[ticket.client] = (self._clock() + error.client_refused_for, error)
        elif authenticated or error is None:
            # The trailer says so; a success says so too (every route here needs a key),
            # and keeps keys accepted behind a server that predates the trailer.
            self._accepted[digest] = True
            self._refused_keys.pop(digest, None)
            if ticket.new:  # it came through the new-key budgets: its places go back
                self._budget.refund(ticket.pool, self._new_keys)
                self._client_budgets.refund(ticket.client, self._per_client)
        elif error is not None and error.status == 401:  # revoked or expired, or never valid
            self._accepted.pop(digest, None)
            self._refused_keys[digest] = replace(error, headers={})
            self._failing[ticket.client] = True
        self._release(ticket, error)

    def _release(self, ticket: Ticket, answer: HttpError | None) -> None:
        if ticket.first is not None and not ticket.first.done():
            ticket.first.set_result(answer)
            if self._first_calls.get(ticket.digest) is ticket.first:
                del self._first_calls[ticket.digest]
