"""Domain exceptions: services raise them, `server.error_mapping` turns them into statuses.

Each carries its ErrorReason (from the protos) and a message safe to show a client:
never a raw key, a stack trace or SQL.
"""

from __future__ import annotations

import re

from chronicle.credentials import INVALID_KEY_MESSAGE
from chronicle.v1.error_reason_pb2 import ErrorReason

# What an id of ours looks like; anything else is not repeated back to the caller.
_ID = re.compile(r"^[a-z]{2,5}_[0-9A-Za-z]{1,40}$")


def shown(value: str) -> str:
    """A client-supplied id, quoted for a message, unless it is not id-shaped: a raw
    key pasted where an id belongs must not be echoed into errors, logs or trailers."""
    if _ID.match(value):
        return repr(value)
    if value.startswith("chr_"):
        return "(a raw key, not shown: pass the key's id, key_…)"
    return "(not shown)"


class ChronicleError(Exception):
    error_reason: ErrorReason = ErrorReason.INTERNAL_ERROR
    default_message = "Internal error"
    # What the refusal is about beyond this request: "client" when it holds for the
    # caller's address whatever it sends (told in ErrorInfo.metadata["scope"]).
    scope = ""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def reason(self) -> str:
        """The reason as sent on the wire (ErrorInfo.reason)."""
        return ErrorReason.Name(self.error_reason)

    @property
    def message(self) -> str:
        return str(self.args[0])


# 401
class Unauthorized(ChronicleError):
    error_reason = ErrorReason.UNAUTHORIZED
    default_message = "Missing or malformed API key header"


class KeyInvalid(ChronicleError):
    error_reason = ErrorReason.API_KEY_INVALID
    default_message = INVALID_KEY_MESSAGE  # the edge refuses malformed keys with it too


class KeyExpired(ChronicleError):
    error_reason = ErrorReason.API_KEY_EXPIRED
    default_message = "The API key has expired"


class KeyRevoked(ChronicleError):
    error_reason = ErrorReason.API_KEY_REVOKED
    default_message = "The API key has been revoked"


class SignInFailed(ChronicleError):
    """One answer for an unknown email, a wrong password and a disabled user."""

    error_reason = ErrorReason.UNAUTHORIZED
    default_message = "Invalid email or password"


class SessionInvalid(ChronicleError):
    """A session token that is unknown, ended (signed out, user disabled, password
    changed) or expired: answered alike."""

    error_reason = ErrorReason.UNAUTHORIZED
    default_message = "The session is invalid or has ended; sign in again"


# 403
class AdminOnly(ChronicleError):
    error_reason = ErrorReason.INSUFFICIENT_PRIVILEGES
    default_message = "Only a workspace admin may create, rotate or revoke keys"


class WrongWorkspace(ChronicleError):
    error_reason = ErrorReason.INSUFFICIENT_PRIVILEGES
    default_message = "The resource belongs to another workspace"


class CallerNotAllowed(ChronicleError):
    error_reason = ErrorReason.INSUFFICIENT_PRIVILEGES
    default_message = "This credential may not call this service"


# 404
class NotFound(ChronicleError):
    error_reason = ErrorReason.NOT_FOUND
    default_message = "Not found"


class PresentationNotFound(NotFound):
    error_reason = ErrorReason.DOCUMENT_NOT_FOUND
    default_message = "Presentation not found"


class TemplateNotFound(NotFound):
    error_reason = ErrorReason.TEMPLATE_NOT_FOUND
    default_message = "Template not found"


class UserNotFound(NotFound):
    default_message = "User not found"


# 400
class InvalidArgument(ChronicleError):
    error_reason = ErrorReason.BAD_REQUEST
    default_message = "Bad request"


class FileUploadError(InvalidArgument):
    """An upload target refused, or an uploaded file unusable (empty, too large)."""

    error_reason = ErrorReason.FILE_UPLOAD_ERROR
    default_message = "The file cannot be uploaded"


class IdempotencyKeyReused(InvalidArgument):
    """422 over REST (the edge maps the reason): the key belongs to another request."""

    error_reason = ErrorReason.IDEMPOTENCY_KEY_REUSED
    default_message = (
        "This Idempotency-Key was already used for a different request; "
        "use a new key for a new request"
    )


class WeakPassword(InvalidArgument):
    """A password the policy refuses (server/passwords.py); the message says why in one
    sentence and never repeats the password."""


# 409
class Conflict(ChronicleError):
    error_reason = ErrorReason.CONFLICT
    default_message = "The resource's state does not allow this call"


class DuplicateEmail(Conflict):
    default_message = "The workspace already has a user with this email"


class IdempotentRequestRunning(Conflict):
    """A retry while the first request with its Idempotency-Key is still running."""

    default_message = (
        "A request with this Idempotency-Key is still being processed; retry after a moment"
    )

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds


class IdempotentRequestSuperseded(Conflict):
    """The first request with an Idempotency-Key outlived its claim's lease and a retry
    took the key over: the first's work is rolled back, the retry's answer counts."""

    default_message = (
        "This request ran past its Idempotency-Key's lease and was superseded by a retry "
        "with the same key; nothing was done by it: the retry's answer is the key's answer"
    )


# 429
class RateLimited(ChronicleError):
    error_reason = ErrorReason.API_KEY_RATE_LIMITED
    default_message = "The API key's rate limit is exhausted; retry later"

    def __init__(self, retry_after_seconds: float, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ClientThrottled(RateLimited):
    """A client refused for its failed key verifications, whatever key it brings: an
    edge may refuse that address itself until the retry delay has passed."""

    default_message = "Too many failed API key verifications from this client; retry later"
    scope = "client"


class ReplayedStatus(ChronicleError):
    """The stored failure of the first request with an Idempotency-Key, sent again as it
    was: `status` is its serialized google.rpc.Status (code, message, details)."""

    def __init__(self, status: bytes) -> None:
        super().__init__()
        self.status = status


class SignInThrottled(RateLimited):
    """Too many failed sign-ins for an email or from a client: refused before argon2."""

    error_reason = ErrorReason.SIGN_IN_THROTTLED
    default_message = "Too many failed sign-ins; retry later"


# 503
class Unavailable(ChronicleError):
    error_reason = ErrorReason.UNAVAILABLE
    default_message = "The service is busy; retry shortly"


# 501
class NotImplementedYet(ChronicleError):
    error_reason = ErrorReason.NOT_IMPLEMENTED
    default_message = "Not implemented yet"
