"""Generation jobs from submission to outcome: the rules the servicer and the worker
share, as plain functions over a unit of work.

A client submits a job, reads its status and answers its questions; a worker claims it
by taking its lease, reports progress (renewing the lease), and ends it completed,
failed or awaiting input, or hands it back when it stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chronicle.v1.presentation_pb2 import Section
from server.auth import Principal
from server.errors import Conflict, InvalidArgument, NotFound, WrongWorkspace, shown
from server.files.store import FileStore
from server.generation import material
from server.ids import new_id
from server.services.job_spec import AttachedFile, Choice, JobSpec
from server.services.presentations import add_presentation, select_sections, visible_template
from server.services.uploads import attached_files
from server.storage import models
from server.storage.uow import UnitOfWork
from server.storage.views import PresentationView
from server.vocabulary import JobPhase, JobState, Language, NarrativeType, RewriteStyle

MAX_PROMPT = 100_000
MAX_SECTIONS = 50
MAX_ATTEMPTS = 3  # claims of one job (a worker that dies mid-job costs one)
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


class JobFailed(Exception):
    """Ends a job as failed; the message is the job's `error`, shown to the client."""


class LeaseLost(Exception):
    """Another worker holds the job now (or it ended): leave it as it is."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    template_id: str | None = None
    selected_section_ids: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    non_interactive: bool = False
    narrative_type: str | None = None
    rewrite_style: str | None = None
    # As the client sent it: a JSON value (a number, "auto", null or anything else).
    section_count: object = None
    language: str | None = None


def _choice(label: str, value: str | None, default: Choice) -> Choice:
    """The member the value names, in any case; the default when absent."""
    if value is None:
        return default
    allowed = type(default)
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise InvalidArgument(f"{label}: must be one of {', '.join(allowed)}")


def _section_count(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.lower() == "auto"):
        return None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdecimal() and len(text) <= len(str(MAX_SECTIONS)):
        value = int(text)  # Chronicle's own client sends numbers as strings: "4"
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
        and 1 <= value <= MAX_SECTIONS
    ):
        return int(value)
    raise InvalidArgument(
        f'section_count: must be a whole number from 1 to {MAX_SECTIONS}, or "auto"'
    )


def _attached(
    uow: UnitOfWork, principal: Principal, store: FileStore | None, given: list[dict[str, str]]
) -> tuple[AttachedFile, ...]:
    return tuple(AttachedFile(**f) for f in attached_files(uow, principal, store, given))


def validate(
    uow: UnitOfWork,
    principal: Principal,
    request: GenerationRequest,
    store: FileStore | None = None,
) -> JobSpec:
    """The job's spec, or InvalidArgument naming the field (and 403/404 for templates and
    attachments)."""
    prompt = request.prompt.strip()
    if not prompt:
        raise InvalidArgument("prompt: is required and must not be blank")
    if len(prompt) > MAX_PROMPT:
        raise InvalidArgument(f"prompt: at most {MAX_PROMPT} characters")
    spec = JobSpec(
        prompt=prompt,
        non_interactive=request.non_interactive,
        narrative_type=_choice("narrative_type", request.narrative_type, NarrativeType.AUTO),
        rewrite_style=_choice("rewrite_style", request.rewrite_style, RewriteStyle.SUBTLE),
        section_count=_section_count(request.section_count),
        language=_choice("language", request.language, Language.US),
    )
    if request.template_id:
        template = visible_template(uow, principal.workspace_id, request.template_id)
        select_sections(template, request.selected_section_ids)  # checks the ids
        spec = replace(
            spec,
            template_id=template.id,
            selected_section_ids=tuple(request.selected_section_ids),
        )
    elif request.selected_section_ids:
        raise InvalidArgument("selected_section_ids: only with a template_id")
    return replace(spec, attachments=_attached(uow, principal, store, request.attachments))


def question_for(spec: JobSpec) -> str | None:
    """The question an interactive job asks before planning, or None to go ahead."""
    if spec.non_interactive or spec.template_id:
        return None
    rounds = len(spec.answers)
    text = " ".join([spec.prompt, *spec.answers])
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
        state=JobState.GENERATING,
        spec=spec.to_json(),
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


@dataclass(frozen=True)
class StatusView:
    job: models.GenerationJob
    # A completed job's deck, as the presentation read returns it (None when deleted).
    deck: PresentationView | None


def status_view(uow: UnitOfWork, principal: Principal, job_id: str) -> StatusView:
    job = owned_job(uow, principal, job_id)
    deck = uow.presentations.get(job.presentation_id) if job.presentation_id else None
    return StatusView(job, deck)


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
    files = _attached(uow, principal, store, attachments)
    if job.state != JobState.AWAITING_INPUT:
        raise Conflict(f"The generation is {job.state.replace('_', ' ')}, not awaiting input")
    job.spec = JobSpec.from_json(job.spec).answered(content.strip(), files).to_json()
    job.state, job.question = JobState.GENERATING, None
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = models.utcnow()
    uow.commit()
    return job


# The worker's side. Each function is one transaction, and each checks the lease first:
# a worker whose lease expired and was taken over changes nothing.


@dataclass(frozen=True)
class Lease:
    job_id: str
    owner: str
    duration: timedelta  # each report renews it for this long


@dataclass(frozen=True)
class Progress:
    """What a status shows of a job being generated."""

    phase: JobPhase | None = None  # only standalone jobs have phases
    step: str | None = None
    slides_total: int = 0
    slides_completed: int = 0
    tokens_used: int = 0


@dataclass(frozen=True)
class Started:
    spec: JobSpec
    workspace_id: str
    progress: Progress  # as a previous attempt left it


def claim(uow: UnitOfWork, owner: str, duration: timedelta, now: datetime) -> Lease | None:
    """The lease of the oldest job waiting for a worker, or None when there is none."""
    job_id = uow.generation_jobs.claim(owner, now, now + duration)
    uow.commit()
    return None if job_id is None else Lease(job_id, owner, duration)


def _held(uow: UnitOfWork, lease: Lease) -> models.GenerationJob:
    job = uow.generation_jobs.get(lease.job_id)
    if job is None or job.lease_owner != lease.owner or job.state != JobState.GENERATING:
        raise LeaseLost()
    return job


def begin(uow: UnitOfWork, lease: Lease, now: datetime) -> Started:
    """Renews the lease and reads what to do; JobFailed once a job was claimed more
    often than MAX_ATTEMPTS."""
    job = report(uow, lease, now)
    if job.attempts > MAX_ATTEMPTS:
        raise JobFailed("Generation was interrupted too many times")
    progress = Progress(
        JobPhase(job.phase) if job.phase else None,
        job.current_step,
        job.slides_total,
        job.slides_completed,
        job.tokens_used,
    )
    return Started(JobSpec.from_json(job.spec), job.workspace_id, progress)


def report(
    uow: UnitOfWork, lease: Lease, now: datetime, progress: Progress | None = None
) -> models.GenerationJob:
    """Renews the lease, recording the progress when given."""
    job = _held(uow, lease)
    if progress is not None:
        job.phase, job.current_step = progress.phase, progress.step
        job.slides_total, job.slides_completed = progress.slides_total, progress.slides_completed
        job.tokens_used = progress.tokens_used
    job.lease_expires_at = now + lease.duration
    job.updated_at = now
    uow.commit()
    return job


def _end(job: models.GenerationJob, state: JobState, now: datetime) -> None:
    job.state = state
    job.phase = job.current_step = None
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = now


def ask(uow: UnitOfWork, lease: Lease, now: datetime, question: str) -> None:
    """The job waits for the client's answer (send_message) before it is planned."""
    job = _held(uow, lease)
    _end(job, JobState.AWAITING_INPUT, now)
    job.question = question
    uow.commit()


def complete(
    uow: UnitOfWork, lease: Lease, now: datetime, title: str, sections: list[Section]
) -> models.Presentation:
    """The deck and the job's completion in one transaction. Without a title, the
    deck is named after the prompt's first sentence."""
    job = _held(uow, lease)
    prompt = JobSpec.from_json(job.spec).prompt
    title = title or material.sentences(prompt)[0]
    deck = add_presentation(uow, job.workspace_id, title, sections, now)
    _end(job, JobState.COMPLETED, now)
    job.presentation_id = deck.id
    uow.commit()
    return deck


def fail(uow: UnitOfWork, lease: Lease, now: datetime, error: str) -> None:
    job = _held(uow, lease)
    _end(job, JobState.FAILED, now)
    job.error = error
    uow.commit()


def hand_back(uow: UnitOfWork, lease: Lease) -> None:
    """The worker is stopping: the job is free for another worker at once, and this
    attempt does not count."""
    job = _held(uow, lease)
    job.lease_owner = job.lease_expires_at = None
    job.attempts -= 1
    uow.commit()
