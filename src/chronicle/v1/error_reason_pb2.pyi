from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    UNAUTHORIZED: _ClassVar[ErrorReason]
    API_KEY_INVALID: _ClassVar[ErrorReason]
    API_KEY_EXPIRED: _ClassVar[ErrorReason]
    API_KEY_REVOKED: _ClassVar[ErrorReason]
    INSUFFICIENT_PRIVILEGES: _ClassVar[ErrorReason]
    NOT_FOUND: _ClassVar[ErrorReason]
    DOCUMENT_NOT_FOUND: _ClassVar[ErrorReason]
    TEMPLATE_NOT_FOUND: _ClassVar[ErrorReason]
    BAD_REQUEST: _ClassVar[ErrorReason]
    FILE_UPLOAD_ERROR: _ClassVar[ErrorReason]
    METHOD_NOT_ALLOWED: _ClassVar[ErrorReason]
    CONFLICT: _ClassVar[ErrorReason]
    PAYLOAD_TOO_LARGE: _ClassVar[ErrorReason]
    UNSUPPORTED_MEDIA_TYPE: _ClassVar[ErrorReason]
    API_KEY_RATE_LIMITED: _ClassVar[ErrorReason]
    INTERNAL_ERROR: _ClassVar[ErrorReason]
    NOT_IMPLEMENTED: _ClassVar[ErrorReason]
    UNAVAILABLE: _ClassVar[ErrorReason]
    DEADLINE_EXCEEDED: _ClassVar[ErrorReason]
    IDEMPOTENCY_KEY_REUSED: _ClassVar[ErrorReason]
    SIGN_IN_THROTTLED: _ClassVar[ErrorReason]
    MCP_NOT_ENABLED: _ClassVar[ErrorReason]
    WORKSPACE_ACCESS_DENIED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
UNAUTHORIZED: ErrorReason
API_KEY_INVALID: ErrorReason
API_KEY_EXPIRED: ErrorReason
API_KEY_REVOKED: ErrorReason
INSUFFICIENT_PRIVILEGES: ErrorReason
NOT_FOUND: ErrorReason
DOCUMENT_NOT_FOUND: ErrorReason
TEMPLATE_NOT_FOUND: ErrorReason
BAD_REQUEST: ErrorReason
FILE_UPLOAD_ERROR: ErrorReason
METHOD_NOT_ALLOWED: ErrorReason
CONFLICT: ErrorReason
PAYLOAD_TOO_LARGE: ErrorReason
UNSUPPORTED_MEDIA_TYPE: ErrorReason
API_KEY_RATE_LIMITED: ErrorReason
INTERNAL_ERROR: ErrorReason
NOT_IMPLEMENTED: ErrorReason
UNAVAILABLE: ErrorReason
DEADLINE_EXCEEDED: ErrorReason
IDEMPOTENCY_KEY_REUSED: ErrorReason
SIGN_IN_THROTTLED: ErrorReason
MCP_NOT_ENABLED: ErrorReason
WORKSPACE_ACCESS_DENIED: ErrorReason
