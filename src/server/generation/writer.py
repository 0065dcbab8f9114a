"""The one small interface every writer implements, and what flows through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chronicle.v1.presentation_pb2 import Section
from server.vocabulary import Language, NarrativeType, RewriteStyle


@dataclass(frozen=True)
class Brief:
    """Everything a writer may use. `material` is the prompt plus attachment text."""

    prompt: str
    material: str
    narrative_type: NarrativeType = NarrativeType.AUTO
    rewrite_style: RewriteStyle = RewriteStyle.SUBTLE
    section_count: int | None = None  # None: the writer picks ("auto")
    language: Language = Language.US
    template_sections: tuple[Section, ...] = ()  # the template flow when non-empty


@dataclass(frozen=True)
class PlannedSection:
    """One slide of the storyline, before it is written."""

    title: str
    layout: str
    role: str  # an archetype role, or the writer's own kind of slide ("title", "closing"…)
    source: tuple[str, ...]  # the sentences this slide is written from
    heading: str = ""  # the user's own heading for this part, if any


@dataclass(frozen=True)
class Plan:
    """The storyline, and the tokens it took to plan it."""

    sections: tuple[PlannedSection, ...]
    tokens: int = 0


@dataclass(frozen=True)
class Written:
    section: Section
    tokens: int


class Writer(Protocol):
    def plan(self, brief: Brief) -> Plan:
        """Phase `storyline`: the deck's sections, in order."""
        ...

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        """Phase `slides`: one section."""
        ...
