"""Presentations and templates of one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final, Protocol, TypeVar

from chronicle.v1.presentation_pb2 import Section
from server import paging
from server.auth import Principal
from server.errors import (
    InvalidArgument,
    PresentationNotFound,
    TemplateNotFound,
    WrongWorkspace,
    shown,
)
from server.ids import new_id
from server.storage import models
from server.storage.repository import Cursor
from server.storage.uow import UnitOfWork
from server.storage.views import PresentationView
from server.vocabulary import Layout

LAYOUTS = frozenset(Layout)
MAX_TITLE = 500
MAX_SECTIONS = 200


class _Unset(Enum):
    """The type of UNSET: a field an update leaves as it is."""

    UNSET = "unset"


UNSET: Final = _Unset.UNSET


class _Owned(Protocol):
    @property
    def workspace_id(self) -> str: ...


P = TypeVar("P", bound=_Owned)


def list_templates(uow: UnitOfWork, principal: Principal) -> list[models.Template]:
    return list(uow.templates.list_visible(principal.workspace_id))


def visible_template(uow: UnitOfWork, workspace_id: str, template_id: str) -> models.Template:
    """The template, if the workspace may use it: a built-in one, or one of its own."""
    if not template_id:
        raise InvalidArgument("template_id is required")
    template = uow.templates.get(template_id)
    if template is None:
        raise TemplateNotFound(f"No template with id {shown(template_id)}")
    if template.workspace_id not in (None, workspace_id):
        raise WrongWorkspace("Template does not belong to this workspace")
    return template


def select_sections(template: models.Template, selected_ids: list[str]) -> list[Section]:
    """The template's sections, or the selected subset, always in template order."""
    known = {section.id for section in template.sections}
    unknown = [sid for sid in selected_ids if sid not in known]
    if unknown:
        raise InvalidArgument(
            f"selected_section_ids: {shown(unknown[0])} is not a section of the template"
        )
    chosen = set(selected_ids)
    return [s for s in template.sections if not chosen or s.id in chosen]


def add_presentation(
    uow: UnitOfWork,
    workspace_id: str,
    title: str,
    sections: list[Section],
    now: datetime | None = None,
) -> models.Presentation:
    """A new private presentation in this unit of work (not committed), its sections
    copied with fresh ids: the one place a presentation is made."""
    now = now or models.utcnow()
    presentation = models.Presentation(
        id=new_id("pres"),
        workspace_id=workspace_id,
        title=title[:MAX_TITLE],
        sections=validate_sections([_copy(section, id="") for section in sections]),
        is_public=False,
        created_at=now,
        updated_at=now,
        revision=1,
    )
    uow.presentations.add(presentation)
    return presentation


def create_presentation(
    uow: UnitOfWork, principal: Principal, template_id: str, selected_section_ids: list[str]
) -> models.Presentation:
    template = visible_template(uow, principal.workspace_id, template_id)
    sections = select_sections(template, selected_section_ids)
    presentation = add_presentation(uow, principal.workspace_id, template.name, sections)
    uow.commit()
    return presentation


def _copy(section: Section, **changes: str) -> Section:
    result = Section()
    result.CopyFrom(section)
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def _check_owner(found: P | None, principal: Principal, presentation_id: str) -> P:
    if found is None:
        raise PresentationNotFound(f"No presentation with id {shown(presentation_id)}")
    if found.workspace_id != principal.workspace_id:
        raise WrongWorkspace("Presentation does not belong to this workspace")
    return found


def owned_presentation(
    uow: UnitOfWork, principal: Principal, presentation_id: str
) -> models.Presentation:
    """The caller's presentation, to change in this unit of work."""
    found = uow.presentations.get_for_update(presentation_id) if presentation_id else None
    return _check_owner(found, principal, presentation_id)


def get_presentation(
    uow: UnitOfWork, principal: Principal, presentation_id: str
) -> PresentationView:
    """The caller's presentation, from the read model (outside any transaction)."""
    found = uow.presentations.get(presentation_id) if presentation_id else None
    return _check_owner(found, principal, presentation_id)


@dataclass(frozen=True)
class PresentationChanges:
    """What to change; UNSET leaves a field as it is."""

    title: str | _Unset = UNSET
    is_public: bool | _Unset = UNSET
    sections: list[Section] | _Unset = UNSET


def validate_sections(sections: list[Section]) -> list[Section]:
    """Checks layouts and ids; gives new sections an id and the default layout."""
    if len(sections) > MAX_SECTIONS:
        raise InvalidArgument(f"sections: at most {MAX_SECTIONS} sections")
    seen: set[str] = set()
    result = []
    for index, section in enumerate(sections):
        layout = section.layout or Layout.TITLE_AND_BODY
        if layout not in LAYOUTS:
            raise InvalidArgument(
                f"sections[{index}].layout: {layout!r} is not one of {', '.join(sorted(LAYOUTS))}"
            )
        section_id = section.id or new_id("sec")
        if not section_id.startswith("sec_") or section_id in seen:
            raise InvalidArgument(
                f"sections[{index}].id: {shown(section_id)} is not a unique sec_ id"
            )
        seen.add(section_id)
        result.append(_copy(section, id=section_id, layout=layout))
    return result


def update_presentation(
    uow: UnitOfWork, principal: Principal, presentation_id: str, changes: PresentationChanges
) -> models.Presentation:
    presentation = owned_presentation(uow, principal, presentation_id)
    if not isinstance(changes.title, _Unset):
        title = changes.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidArgument(f"title: must be 1 to {MAX_TITLE} characters")
        presentation.title = title
    if not isinstance(changes.is_public, _Unset):
        presentation.is_public = changes.is_public
    if not isinstance(changes.sections, _Unset):
        presentation.sections = validate_sections(changes.sections)
    presentation.updated_at = models.utcnow()
    presentation.revision += 1
    uow.commit()
    return presentation


def list_presentations(
    uow: UnitOfWork, principal: Principal, page_size: int, page_token: str
) -> tuple[list[models.Presentation], str]:
    def fetch(limit: int, after: Cursor | None) -> list[models.Presentation]:
        return uow.presentations.list_page(principal.workspace_id, limit, after)

    return paging.paginate(fetch, page_size, page_token, default=20, maximum=100)


def delete_presentation(uow: UnitOfWork, principal: Principal, presentation_id: str) -> None:
    uow.presentations.delete(owned_presentation(uow, principal, presentation_id))
    uow.commit()
