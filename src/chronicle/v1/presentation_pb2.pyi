import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Presentation(_message.Message):
    __slots__ = ("id", "title", "workspace_id", "sections", "is_public", "url", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    workspace_id: str
    sections: _containers.RepeatedCompositeFieldContainer[Section]
    is_public: bool
    url: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., workspace_id: _Optional[str] = ..., sections: _Optional[_Iterable[_Union[Section, _Mapping]]] = ..., is_public: _Optional[bool] = ..., url: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Section(_message.Message):
    __slots__ = ("id", "title", "layout", "blocks", "speaker_notes")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_NOTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    layout: str
    blocks: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    speaker_notes: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., layout: _Optional[str] = ..., blocks: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ..., speaker_notes: _Optional[str] = ...) -> None: ...

class ContentBlock(_message.Message):
    __slots__ = ("heading", "paragraph", "bullet_list", "quote", "image", "table")
    HEADING_FIELD_NUMBER: _ClassVar[int]
    PARAGRAPH_FIELD_NUMBER: _ClassVar[int]
    BULLET_LIST_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    heading: Heading
    paragraph: Paragraph
    bullet_list: BulletList
    quote: Quote
    image: Image
    table: Table
    def __init__(self, heading: _Optional[_Union[Heading, _Mapping]] = ..., paragraph: _Optional[_Union[Paragraph, _Mapping]] = ..., bullet_list: _Optional[_Union[BulletList, _Mapping]] = ..., quote: _Optional[_Union[Quote, _Mapping]] = ..., image: _Optional[_Union[Image, _Mapping]] = ..., table: _Optional[_Union[Table, _Mapping]] = ...) -> None: ...

class Heading(_message.Message):
    __slots__ = ("text", "level")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    text: str
    level: int
    def __init__(self, text: _Optional[str] = ..., level: _Optional[int] = ...) -> None: ...

class Paragraph(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class BulletList(_message.Message):
    __slots__ = ("items", "ordered")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ORDERED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    ordered: bool
    def __init__(self, items: _Optional[_Iterable[str]] = ..., ordered: _Optional[bool] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("text", "attribution")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    text: str
    attribution: str
    def __init__(self, text: _Optional[str] = ..., attribution: _Optional[str] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("url", "alt_text", "caption")
    URL_FIELD_NUMBER: _ClassVar[int]
    ALT_TEXT_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    url: str
    alt_text: str
    caption: str
    def __init__(self, url: _Optional[str] = ..., alt_text: _Optional[str] = ..., caption: _Optional[str] = ...) -> None: ...

class Table(_message.Message):
    __slots__ = ("header", "rows")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    header: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[TableRow]
    def __init__(self, header: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[TableRow, _Mapping]]] = ...) -> None: ...

class TableRow(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cells: _Optional[_Iterable[str]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "name", "description", "category", "preview_url", "sections")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    category: _containers.RepeatedScalarFieldContainer[str]
    preview_url: str
    sections: _containers.RepeatedCompositeFieldContainer[Section]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[_Iterable[str]] = ..., preview_url: _Optional[str] = ..., sections: _Optional[_Iterable[_Union[Section, _Mapping]]] = ...) -> None: ...

class FileDownload(_message.Message):
    __slots__ = ("file_name",)
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    def __init__(self, file_name: _Optional[str] = ...) -> None: ...
