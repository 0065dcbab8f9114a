"""Who is calling, as every layer past the interceptor sees it."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import IntEnum

from chronicle import contract
from chronicle.config import RateLimit
from chronicle.credentials import KeyKind


class CallerKind(IntEnum):
    """The contract's caller kinds; equal to `contract.API_KEY` / `contract.SERVICE_TOKEN`,
    so a service's `allowed_callers` set is tested with `in` as before."""

    API_KEY = contract.API_KEY
    SERVICE_TOKEN = contract.SERVICE_TOKEN
    USER_SESSION = contract.USER_SESSION
    ANONYMOUS = contract.ANONYMOUS  # a call that is its own credential check (SignIn)

    @classmethod
    def of(cls, kind: KeyKind) -> CallerKind:
        return cls.SERVICE_TOKEN if kind.is_service_token else cls.API_KEY

    @property
    def wire_name(self) -> str:
        """As `Caller.kind` spells it: `api_key`, `service_token` or `user_session`."""
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    kind: CallerKind
    credential_id: str
    workspace_id: str  # empty for a service token
    environment: str  # live/test for an API key
    name: str = ""
    rate_limit: RateLimit | None = None  # the key's own limit, if it has one
    # A session's person: their id and role (admin/member); empty for keys and tokens.
    user_id: str = ""
    role: str = ""

    @property
    def actor(self) -> str:
        """Who acted, as the audit trail records it."""
        if self.kind == CallerKind.USER_SESSION:
            return self.name  # the person's email
        return f"service-token:{self.name or self.credential_id}"


_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal(_context: object = None) -> Principal:
    """The caller of the RPC being served (the interceptor sets it for the handler)."""
    return _current.get()


def scope_of(principal: Principal) -> contextvars.Context:
    """A copy of the current context with `principal` as the caller: where a handler runs."""
    scope = contextvars.copy_context()
    scope.run(_current.set, principal)
    return scope
