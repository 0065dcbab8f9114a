"""What a generation job was asked to do, typed and versioned.

Stored as JSON in the job's `spec` column; a spec written before `version` existed
reads as version 1, which has the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TypeVar

from server.vocabulary import Language, NarrativeType, RewriteStyle

# The spec's choices: each one enum of server.vocabulary.
Choice = TypeVar("Choice", NarrativeType, RewriteStyle, Language)

SPEC_VERSION = 1


class CorruptSpec(ValueError):
    """A stored spec that this code cannot read."""


@dataclass(frozen=True)
class AttachedFile:
    """An attachment resolved to the stored object a worker reads."""

    id: str
    file_name: str
    type: str  # the content type it was uploaded as
    upload_id: str
    key: str  # where the object lives in the file store


@dataclass(frozen=True)
class JobSpec:
    prompt: str
    non_interactive: bool = False
    narrative_type: NarrativeType = NarrativeType.AUTO
    rewrite_style: RewriteStyle = RewriteStyle.SUBTLE
    section_count: int | None = None  # None: the writer picks
    language: Language = Language.US
    template_id: str | None = None
    selected_section_ids: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()  # the user's answers to the job's questions, in order
    attachments: tuple[AttachedFile, ...] = ()
    version: int = SPEC_VERSION

    def answered(self, answer: str, files: tuple[AttachedFile, ...]) -> JobSpec:
        return replace(
            self, answers=(*self.answers, answer), attachments=(*self.attachments, *files)
        )

    def to_json(self) -> dict[str, object]:
        stored = asdict(self)
        stored["selected_section_ids"] = list(self.selected_section_ids)
        stored["answers"] = list(self.answers)
        stored["attachments"] = [asdict(a) for a in self.attachments]
        return stored

    @classmethod
    def from_json(cls, stored: Mapping[str, object]) -> JobSpec:
        count = stored.get("section_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise CorruptSpec("section_count")
        template_id = stored.get("template_id")
        return cls(
            prompt=_text(stored, "prompt"),
            non_interactive=bool(stored.get("non_interactive", False)),
            narrative_type=_member(stored, "narrative_type", NarrativeType.AUTO),
            rewrite_style=_member(stored, "rewrite_style", RewriteStyle.SUBTLE),
            section_count=count,
            language=_member(stored, "language", Language.US),
            template_id=str(template_id) if template_id else None,
            selected_section_ids=tuple(_texts(stored, "selected_section_ids")),
            answers=tuple(_texts(stored, "answers")),
            attachments=tuple(_attached(item) for item in _items(stored, "attachments")),
            version=_version(stored),
        )


def _version(stored: Mapping[str, object]) -> int:
    """A spec written by a newer release is refused, not misread as this one's."""
    version = stored.get("version", SPEC_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version > SPEC_VERSION:
        raise CorruptSpec("version")
    return version


def _text(stored: Mapping[str, object], name: str, default: str | None = None) -> str:
    value = stored.get(name, default)
    if not isinstance(value, str):
        raise CorruptSpec(name)
    return value


def _items(stored: Mapping[str, object], name: str) -> list[object]:
    value = stored.get(name, [])
    if not isinstance(value, list):
        raise CorruptSpec(name)
    return value


def _member(stored: Mapping[str, object], name: str, default: Choice) -> Choice:
    try:
        return type(default)(_text(stored, name, default))
    except ValueError:
        raise CorruptSpec(name) from None


def _texts(stored: Mapping[str, object], name: str) -> list[str]:
    return [str(item) for item in _items(stored, name)]


def _attached(item: object) -> AttachedFile:
    if not isinstance(item, Mapping):
        raise CorruptSpec("attachments")
    return AttachedFile(
        id=_text(item, "id"),
        file_name=_text(item, "file_name"),
        type=_text(item, "type"),
        upload_id=_text(item, "upload_id", ""),
        key=_text(item, "key"),
    )
