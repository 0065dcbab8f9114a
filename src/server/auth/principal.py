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

    @classmethod
    def of(cls, kind: KeyKind) -> CallerKind:
        return cls.SERVICE_TOKEN if kind.is_service_token else cls.API_KEY

    @property
    def wire_name(self) -> str:
        """As `Caller.kind` spells it: `api_key` or `service_token`."""
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    kind: CallerKind
    credential_id: str
    workspace_id: str  # empty for a service token
    environment: str  # live/test for an API key
    name: str = ""
    rate_limit: RateLimit | None = None  # the key's own limit, if it has one


_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal(_context: object = None) -> Principal:
    """The caller of the RPC being served (the interceptor sets it for the handler)."""
    return _current.get()


def scope_of(principal: Principal) -> contextvars.Context:
    """A copy of the current context with `principal` as the caller: where a handler runs."""
    scope = contextvars.copy_context()
    scope.run(_current.set, principal)
    return scope
