from chronicle.v1 import options_pb2 as _options_pb2
from chronicle.v1 import session_service_pb2 as _session_service_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetCallerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSignedInUserRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Caller(_message.Message):
    __slots__ = ("kind", "workspace_id", "credential_id", "environment", "rate_limit")
    KIND_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    workspace_id: str
    credential_id: str
    environment: str
    rate_limit: str
    def __init__(self, kind: _Optional[str] = ..., workspace_id: _Optional[str] = ..., credential_id: _Optional[str] = ..., environment: _Optional[str] = ..., rate_limit: _Optional[str] = ...) -> None: ...
