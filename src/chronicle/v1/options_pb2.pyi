from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CallerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALLER_KIND_UNSPECIFIED: _ClassVar[CallerKind]
    CALLER_KIND_API_KEY: _ClassVar[CallerKind]
    CALLER_KIND_SERVICE_TOKEN: _ClassVar[CallerKind]
    CALLER_KIND_USER_SESSION: _ClassVar[CallerKind]
    CALLER_KIND_ANONYMOUS: _ClassVar[CallerKind]

class Execution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_UNSPECIFIED: _ClassVar[Execution]
    EXECUTION_CHEAP_READ: _ClassVar[Execution]
CALLER_KIND_UNSPECIFIED: CallerKind
CALLER_KIND_API_KEY: CallerKind
CALLER_KIND_SERVICE_TOKEN: CallerKind
CALLER_KIND_USER_SESSION: CallerKind
CALLER_KIND_ANONYMOUS: CallerKind
EXECUTION_UNSPECIFIED: Execution
EXECUTION_CHEAP_READ: Execution
HTTP_SUCCESS_CODE_FIELD_NUMBER: _ClassVar[int]
http_success_code: _descriptor.FieldDescriptor
EXECUTION_FIELD_NUMBER: _ClassVar[int]
execution: _descriptor.FieldDescriptor
HTTP_BODY_TYPES_FIELD_NUMBER: _ClassVar[int]
http_body_types: _descriptor.FieldDescriptor
MCP_TOOL_FIELD_NUMBER: _ClassVar[int]
mcp_tool: _descriptor.FieldDescriptor
SECRET_FIELD_NUMBER: _ClassVar[int]
secret: _descriptor.FieldDescriptor
ALLOWED_CALLERS_FIELD_NUMBER: _ClassVar[int]
allowed_callers: _descriptor.FieldDescriptor

class McpTool(_message.Message):
    __slots__ = ("name", "description", "parameters", "wait_with", "without_workspace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    WAIT_WITH_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[McpParameter]
    wait_with: str
    without_workspace: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[McpParameter, _Mapping]]] = ..., wait_with: _Optional[str] = ..., without_workspace: _Optional[bool] = ...) -> None: ...

class McpParameter(_message.Message):
    __slots__ = ("name", "field")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    name: str
    field: str
    def __init__(self, name: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...
