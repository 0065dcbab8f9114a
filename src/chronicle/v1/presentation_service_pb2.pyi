from chronicle.v1 import generation_pb2 as _generation_pb2
from chronicle.v1 import options_pb2 as _options_pb2
from chronicle.v1 import presentation_pb2 as _presentation_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[_presentation_pb2.Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[_presentation_pb2.Template, _Mapping]]] = ...) -> None: ...

class CreatePresentationRequest(_message.Message):
    __slots__ = ("template_id", "selected_section_ids")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    SELECTED_SECTION_IDS_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    selected_section_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, template_id: _Optional[str] = ..., selected_section_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetPresentationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExportPresentationRequest(_message.Message):
    __slots__ = ("id", "format")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: str
    def __init__(self, id: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class UpdatePresentationRequest(_message.Message):
    __slots__ = ("id", "title", "is_public", "sections", "update_mask")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    is_public: bool
    sections: _containers.RepeatedCompositeFieldContainer[_presentation_pb2.Section]
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., is_public: _Optional[bool] = ..., sections: _Optional[_Iterable[_Union[_presentation_pb2.Section, _Mapping]]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ListPresentationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPresentationsResponse(_message.Message):
    __slots__ = ("presentations", "next_page_token")
    PRESENTATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    presentations: _containers.RepeatedCompositeFieldContainer[_presentation_pb2.Presentation]
    next_page_token: str
    def __init__(self, presentations: _Optional[_Iterable[_Union[_presentation_pb2.Presentation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeletePresentationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GeneratePresentationRequest(_message.Message):
    __slots__ = ("prompt", "template_id", "selected_section_ids", "attachments", "non_interactive", "narrative_type", "rewrite_style", "section_count", "language")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    SELECTED_SECTION_IDS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    NON_INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    NARRATIVE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REWRITE_STYLE_FIELD_NUMBER: _ClassVar[int]
    SECTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    template_id: str
    selected_section_ids: _containers.RepeatedScalarFieldContainer[str]
    attachments: _containers.RepeatedCompositeFieldContainer[_generation_pb2.Attachment]
    non_interactive: bool
    narrative_type: str
    rewrite_style: str
    section_count: _struct_pb2.Value
    language: str
    def __init__(self, prompt: _Optional[str] = ..., template_id: _Optional[str] = ..., selected_section_ids: _Optional[_Iterable[str]] = ..., attachments: _Optional[_Iterable[_Union[_generation_pb2.Attachment, _Mapping]]] = ..., non_interactive: _Optional[bool] = ..., narrative_type: _Optional[str] = ..., rewrite_style: _Optional[str] = ..., section_count: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., language: _Optional[str] = ...) -> None: ...

class GeneratePresentationResponse(_message.Message):
    __slots__ = ("generation_id", "status", "poll_url")
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POLL_URL_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    status: str
    poll_url: str
    def __init__(self, generation_id: _Optional[str] = ..., status: _Optional[str] = ..., poll_url: _Optional[str] = ...) -> None: ...

class GetGenerationStatusRequest(_message.Message):
    __slots__ = ("generation_id",)
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    def __init__(self, generation_id: _Optional[str] = ...) -> None: ...

class WatchGenerationRequest(_message.Message):
    __slots__ = ("generation_id",)
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    def __init__(self, generation_id: _Optional[str] = ...) -> None: ...

class SendGenerationMessageRequest(_message.Message):
    __slots__ = ("generation_id", "content", "attachments")
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    content: str
    attachments: _containers.RepeatedCompositeFieldContainer[_generation_pb2.Attachment]
    def __init__(self, generation_id: _Optional[str] = ..., content: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_generation_pb2.Attachment, _Mapping]]] = ...) -> None: ...

class SendGenerationMessageResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class CreateUploadTargetRequest(_message.Message):
    __slots__ = ("file_name", "content_type", "declared_file_size")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_FILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    content_type: str
    declared_file_size: int
    def __init__(self, file_name: _Optional[str] = ..., content_type: _Optional[str] = ..., declared_file_size: _Optional[int] = ...) -> None: ...

class FormField(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class CreateUploadTargetResponse(_message.Message):
    __slots__ = ("url", "fields", "path", "download_url")
    URL_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    fields: _containers.RepeatedCompositeFieldContainer[FormField]
    path: str
    download_url: str
    def __init__(self, url: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FormField, _Mapping]]] = ..., path: _Optional[str] = ..., download_url: _Optional[str] = ...) -> None: ...
