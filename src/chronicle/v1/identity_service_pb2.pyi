from chronicle.v1 import options_pb2 as _options_pb2
from chronicle.v1 import session_service_pb2 as _session_service_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListWorkspacesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkspacesResponse(_message.Message):
    __slots__ = ("workspaces",)
    WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    workspaces: _containers.RepeatedCompositeFieldContainer[Workspace]
    def __init__(self, workspaces: _Optional[_Iterable[_Union[Workspace, _Mapping]]] = ...) -> None: ...

class Workspace(_message.Message):
    __slots__ = ("id", "name", "mcp_enabled")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MCP_ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    mcp_enabled: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., mcp_enabled: _Optional[bool] = ...) -> None: ...

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
