"""Generation jobs: validate and submit a request, report its state, take answers.

The work itself happens in a worker (server/generation/worker.py); these functions
only record what was asked and what the job is waiting for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.auth import Principal
from server.errors import Conflict, InvalidArgument, NotFound, WrongWorkspace, shown
from server.files.store import FileStore
from server.generation.archetypes import NARRATIVE_TYPES
from server.generation.labels import LANGUAGES
from server.generation.writer import REWRITE_STYLES
from server.ids import new_id
from server.services.presentations import select_sections, visible_template
from server.services.uploads import attached_files
from server.storage import models
from server.storage.uow import UnitOfWork

MAX_PROMPT = 100_000
MAX_SECTIONS = 50
# The documented rule for asking: an interactive Standalone job whose prompt and answers
# together have fewer than this many words stops at awaiting_input with a question.
MIN_WORDS_TO_PLAN = 8
QUESTIONS = (
    "What is the presentation about? Give the topic, who it is for and the main points "
    "you want to make.",
    "Tell me a little more: who is the audience, and what should they know or do after "
    "seeing the deck?",
    "Anything else to include, such as figures, examples or a call to action?",
)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    template_id: str | None = None
    selected_section_ids: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    non_interactive: bool = False
    narrative_type: str | None = None
    rewrite_style: str | None = None
    # ("number", 5.0), ("string", "auto"), or None when absent
    section_count: tuple[str, Any] | None = None
    language: str | None = None


def _choice(label: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise InvalidArgument(f"{label}: must be one of {', '.join(allowed)}")


def _section_count(value: tuple[str, Any] | None) -> int | None:
    if value is None or value[0] == "null":
        return None
    kind, raw = value
    if kind == "string" and str(raw).lower() == "auto":
        return None
    if kind == "number" and float(raw).is_integer() and 1 <= raw <= MAX_SECTIONS:
        return int(raw)
    raise InvalidArgument(
        f'section_count: must be a whole number from 1 to {MAX_SECTIONS}, or "auto"'
    )


def validate(
    uow: UnitOfWork,
    principal: Principal,
    request: GenerationRequest,
    store: FileStore | None = None,
) -> dict[str, Any]:
    """The job's spec, or InvalidArgument naming the field (and 403/404 for templates and
    attachments)."""
    prompt = request.prompt.strip()
    if not prompt:
        raise InvalidArgument("prompt: is required and must not be blank")
    if len(prompt) > MAX_PROMPT:
        raise InvalidArgument(f"prompt: at most {MAX_PROMPT} characters")
    spec: dict[str, Any] = {
        "prompt": prompt,
        "non_interactive": request.non_interactive,
        "narrative_type": _choice(
            "narrative_type", request.narrative_type, NARRATIVE_TYPES, "Auto"
        ),
        "rewrite_style": _choice("rewrite_style", request.rewrite_style, REWRITE_STYLES, "Subtle"),
        "section_count": _section_count(request.section_count),
        "language": _choice("language", request.language, LANGUAGES, "us"),
        "template_id": None,
        "selected_section_ids": [],
        "answers": [],
    }
    if request.template_id:
        template = visible_template(uow, principal, request.template_id)
        select_sections(template, request.selected_section_ids)  # checks the ids
        spec["template_id"] = template.id
        spec["selected_section_ids"] = list(request.selected_section_ids)
    elif request.selected_section_ids:
        raise InvalidArgument("selected_section_ids: only with a template_id")
    spec["attachments"] = attached_files(uow, principal, store, request.attachments)
    return spec


def question_for(spec: dict[str, Any]) -> str | None:
    """The question an interactive job asks before planning, or None to go ahead."""
    if spec["non_interactive"] or spec["template_id"]:
        return None
    rounds = len(spec["answers"])
    text = " ".join([spec["prompt"], *spec["answers"]])
    if len(text.split()) >= MIN_WORDS_TO_PLAN or rounds >= len(QUESTIONS):
        return None
    return QUESTIONS[rounds]


def submit(
    uow: UnitOfWork,
    principal: Principal,
    request: GenerationRequest,
    store: FileStore | None = None,
) -> models.GenerationJob:
    spec = validate(uow, principal, request, store)
    now = models.utcnow()
    job = models.GenerationJob(
        id=new_id("gen"),
        workspace_id=principal.workspace_id,
        state="generating",
        spec=spec,
        slides_total=0,
        slides_completed=0,
        tokens_used=0,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    uow.generation_jobs.add(job)
    uow.commit()
    return job


def owned_job(uow: UnitOfWork, principal: Principal, job_id: str) -> models.GenerationJob:
    job = uow.generation_jobs.get(job_id) if job_id else None
    if job is None:
        raise NotFound(f"No generation with id {shown(job_id)}")
    if job.workspace_id != principal.workspace_id:
        raise WrongWorkspace("Generation does not belong to this workspace")
    return job


def send_message(
    uow: UnitOfWork,
    principal: Principal,
    job_id: str,
    content: str,
    attachments: list[dict[str, str]],
    *,
    store: FileStore | None = None,
) -> models.GenerationJob:
    """Merges an answer (and its attachments) into a job that is awaiting input and lets
    it resume."""
    job = owned_job(uow, principal, job_id)
    if not content.strip():
        raise InvalidArgument("content: is required and must not be blank")
    files = attached_files(uow, principal, store, attachments)
    if job.state != "awaiting_input":
        raise Conflict(f"The generation is {job.state.replace('_', ' ')}, not awaiting input")
    job.spec = {
        **job.spec,
        "answers": [*job.spec["answers"], content.strip()],
        "attachments": [*job.spec.get("attachments", []), *files],
    }
    job.state, job.question = "generating", None
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = models.utcnow()
    uow.commit()
    return job
