"""What a writer is given for a job: the prompt and answers, the attached files' text,
and the template's sections when the job follows one."""

from __future__ import annotations

from dataclasses import dataclass

from chronicle.v1.presentation_pb2 import Section
from server.errors import TemplateNotFound, WrongWorkspace
from server.files import extract
from server.files.store import FileStore, ObjectMissing
from server.generation.writer import Brief
from server.services.job_spec import AttachedFile, JobSpec
from server.services.jobs import JobFailed
from server.services.presentations import select_sections, visible_template
from server.storage.uow import UnitOfWork


@dataclass(frozen=True)
class TemplateFlow:
    """The template a job follows: its name titles the deck."""

    name: str
    sections: tuple[Section, ...]


def template_flow(uow: UnitOfWork, spec: JobSpec, workspace_id: str) -> TemplateFlow | None:
    """The chosen sections of the job's template, None for a standalone job; JobFailed
    when the workspace may no longer use the template."""
    if not spec.template_id:
        return None
    try:
        template = visible_template(uow, workspace_id, spec.template_id)
    except (TemplateNotFound, WrongWorkspace):
        raise JobFailed("The template is no longer available") from None
    chosen = select_sections(template, list(spec.selected_section_ids))
    return TemplateFlow(template.name, tuple(chosen))


def brief_for(spec: JobSpec, flow: TemplateFlow | None, store: FileStore | None) -> Brief:
    """Reads the attached files (JobFailed when one cannot be read)."""
    files = [_text_of(attachment, store) for attachment in spec.attachments]
    material = "\n\n".join([spec.prompt, *spec.answers, *(f for f in files if f)])
    return Brief(
        prompt=spec.prompt,
        material=material,
        narrative_type=spec.narrative_type,
        rewrite_style=spec.rewrite_style,
        section_count=spec.section_count,
        language=spec.language,
        template_sections=flow.sections if flow else (),
    )


def _text_of(attachment: AttachedFile, store: FileStore | None) -> str | None:
    """The text of an attached file, read from our own store by its key."""
    label = f"Attachment {attachment.file_name!r}"
    if store is None:
        raise JobFailed(f"{label} cannot be read: uploads are not configured")
    try:
        with store.open(attachment.key) as stream:
            return extract.text_of(stream, attachment.type)
    except ObjectMissing:
        raise JobFailed(f"{label} is no longer stored") from None
    except extract.ExtractionError as exc:
        raise JobFailed(f"{label} could not be read: {exc}") from None
