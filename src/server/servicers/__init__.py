"""Thin servicers, one module per service: unpack the request, call a service function,
pack the reply."""

from __future__ import annotations

from collections.abc import Callable

from server.auth import Principal
from server.storage.uow import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
# The gRPC context is only handed on to find the caller (tests pass their own).
PrincipalOf = Callable[[object], Principal]
