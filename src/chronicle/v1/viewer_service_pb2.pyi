from chronicle.v1 import generation_pb2 as _generation_pb2
from chronicle.v1 import options_pb2 as _options_pb2
from chronicle.v1 import presentation_pb2 as _presentation_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetDeckRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExportDeckRequest(_message.Message):
    __slots__ = ("id", "format")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: str
    def __init__(self, id: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class GetDeckImageRequest(_message.Message):
    __slots__ = ("id", "section", "block")
    ID_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    id: str
    section: int
    block: int
    def __init__(self, id: _Optional[str] = ..., section: _Optional[int] = ..., block: _Optional[int] = ...) -> None: ...

class GetDeckGenerationRequest(_message.Message):
    __slots__ = ("generation_id",)
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    def __init__(self, generation_id: _Optional[str] = ...) -> None: ...
