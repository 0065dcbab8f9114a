"""Server-side authentication: who is calling, verified cheaply and at most once per TTL.

`Authenticator` composes the concerns kept in this package's modules: the caller
(`principal`), flood budgets (`budgets`), argon2 and its cache (`verification`), the
key-status cache (`key_status`) and its Redis push (`status_push`), batched last use
(`usage`) and audit events (`audit`). The interceptor runs strangers' verifications
through `in_flight`: one run per key, a bounded number at once.
"""

from server.auth.audit import BURST_GAP_SECONDS
from server.auth.authenticator import Authenticator, credential_from_metadata
from server.auth.budgets import FAILURES_PER_KEY, SUSPECT_SECONDS, SUSPECT_VERIFICATIONS
from server.auth.principal import CallerKind, Principal, current_principal, scope_of
from server.auth.usage import UsageRecorder
from server.auth.verification import NeedsVerification, UnknownKeyId

__all__ = [
    "BURST_GAP_SECONDS",
    "FAILURES_PER_KEY",
    "SUSPECT_SECONDS",
    "SUSPECT_VERIFICATIONS",
    "Authenticator",
    "CallerKind",
    "NeedsVerification",
    "Principal",
    "UnknownKeyId",
    "UsageRecorder",
    "credential_from_metadata",
    "current_principal",
    "scope_of",
]
