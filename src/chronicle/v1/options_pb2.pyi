from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

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
SECRET_FIELD_NUMBER: _ClassVar[int]
secret: _descriptor.FieldDescriptor
ALLOWED_CALLERS_FIELD_NUMBER: _ClassVar[int]
allowed_callers: _descriptor.FieldDescriptor
