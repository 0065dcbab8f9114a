from chronicle.v1 import presentation_pb2 as _presentation_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Attachment(_message.Message):
    __slots__ = ("id", "url", "file_name", "type")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    file_name: str
    type: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., file_name: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class GenerationProgress(_message.Message):
    __slots__ = ("slides_total", "slides_completed", "current_step")
    SLIDES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SLIDES_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    slides_total: int
    slides_completed: int
    current_step: str
    def __init__(self, slides_total: _Optional[int] = ..., slides_completed: _Optional[int] = ..., current_step: _Optional[str] = ...) -> None: ...

class GenerationStatus(_message.Message):
    __slots__ = ("generation_id", "status", "progress", "phase", "tokens_used", "message", "presentation", "error")
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_USED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PRESENTATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    status: str
    progress: GenerationProgress
    phase: str
    tokens_used: int
    message: str
    presentation: _presentation_pb2.Presentation
    error: str
    def __init__(self, generation_id: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[_Union[GenerationProgress, _Mapping]] = ..., phase: _Optional[str] = ..., tokens_used: _Optional[int] = ..., message: _Optional[str] = ..., presentation: _Optional[_Union[_presentation_pb2.Presentation, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...
