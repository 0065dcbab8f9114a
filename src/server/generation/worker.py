"""Runs generation jobs off the request path, one at a time per worker.

A worker claims the oldest runnable job by taking its lease (a compare-and-set in
the database), renews the lease with every slide, and gives up silently if another
worker took the job over after the lease expired. Every job ends `completed`,
`failed` with a readable reason, or `awaiting_input` with a question.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chronicle.v1.presentation_pb2 import Section
from server.files import extract
from server.files.store import FileStore, ObjectMissing
from server.generation import material
from server.generation.model import ModelError
from server.generation.writer import Brief, Writer
from server.ids import new_id
from server.services import jobs
from server.services.presentations import select_sections, validate_sections
from server.storage import models
from server.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class JobFailed(Exception):
    """Ends a job as failed with this message."""


class LeaseLost(Exception):
    """Another worker owns the job now: stop without touching it."""


class Stopping(Exception):
    """This worker is shutting down (SIGTERM): hand the job back for another to take."""


class Worker:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        writer: Writer,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        job_timeout_seconds: float = 300.0,
        store: FileStore | None = None,
    ) -> None:
        self._uow = uow
        self._writer = writer
        self._store = store  # where attached files are read from
        self.owner = owner or new_id("wrk")
        self._lease = timedelta(seconds=lease_seconds)
        self._timeout = job_timeout_seconds
        self._stop = threading.Event()  # set by `serve`'s caller to shut down

    def run_once(self) -> str | None:
        """Claims and runs one job; its id, or None when there was nothing to do."""
        now = models.utcnow()
        with self._uow() as uow:
            job_id = uow.generation_jobs.claim(self.owner, now, now + self._lease)
            uow.commit()
        if job_id is not None:
            self.process(job_id)
        return job_id

    def serve(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Runs jobs until `stop` is set; a job running then is handed back at its next
        step, for another worker to take at once (its attempt not counted)."""
        self._stop = stop
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("generation worker %s: claiming failed", self.owner)
                worked = None
            if worked is None:
                stop.wait(poll_seconds)

    def process(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except LeaseLost:
            log.info("generation %s was taken over by another worker", job_id)
        except Stopping:
            with contextlib.suppress(LeaseLost), self._uow() as uow:
                job = self._ours(uow, job_id)
                job.lease_owner, job.lease_expires_at = None, None
                job.attempts -= 1
                uow.commit()
            log.info("generation %s handed back: this worker is stopping", job_id)
        except (JobFailed, ModelError) as exc:
            self._finish(job_id, state="failed", error=str(exc))
        except Exception:
            log.exception("generation %s failed", job_id)
            self._finish(
                job_id, state="failed", error="Generation failed because of an internal error"
            )

    def _ours(self, uow: UnitOfWork, job_id: str) -> models.GenerationJob:
        """The job, if this worker still holds its lease; LeaseLost otherwise."""
        job = uow.generation_jobs.get(job_id)
        if job is None or job.lease_owner != self.owner or job.state != "generating":
            raise LeaseLost()
        return job

    def _update(self, job_id: str, **changes: object) -> models.GenerationJob:
        """Writes progress and renews the lease, if the job is still ours."""
        if self._stop.is_set() and changes.get("state") is None:
            raise Stopping()
        with self._uow() as uow:
            job = self._ours(uow, job_id)
            for name, value in changes.items():
                setattr(job, name, value)
            job.lease_expires_at = models.utcnow() + self._lease
            job.updated_at = models.utcnow()
            uow.commit()
            return job

    def _finish(self, job_id: str, **changes: object) -> None:
        with contextlib.suppress(LeaseLost):
            self._update(job_id, lease_owner=None, lease_expires_at=None, phase=None, **changes)

    def _run(self, job_id: str) -> None:
        started = time.monotonic()
        job = self._update(job_id)
        if job.attempts > MAX_ATTEMPTS:
            raise JobFailed("Generation was interrupted too many times")
        spec = job.spec
        question = jobs.question_for(spec)
        if question is not None:
            self._finish(job_id, state="awaiting_input", question=question, current_step=None)
            return
        brief, template_name = self._brief(spec, job.workspace_id)
        standalone = not brief.template_sections
        self._update(
            job_id,
            phase="storyline" if standalone else None,
            current_step="Planning the storyline",
            slides_completed=0,
        )
        planned = self._writer.plan(brief)
        total, tokens, sections = len(planned), 0, []
        self._update(job_id, phase="slides" if standalone else None, slides_total=total)
        for index, slide in enumerate(planned):
            if time.monotonic() - started > self._timeout:
                raise JobFailed("Generation timed out")
            self._update(job_id, current_step=f"Creating slide {index + 1} of {total}")
            written = self._writer.write(brief, slide)
            tokens += written.tokens
            sections.append(written.section)
            self._update(job_id, slides_completed=index + 1, tokens_used=tokens)
        self._complete(job_id, spec, template_name or planned[0].title, sections)

    def _brief(self, spec: dict[str, Any], workspace_id: str) -> tuple[Brief, str]:
        answers = [str(a) for a in spec["answers"]]
        files = [self._attachment_text(a) for a in spec.get("attachments", [])]
        text = "\n\n".join([str(spec["prompt"]), *answers, *(f for f in files if f)])
        template_sections: tuple[Section, ...] = ()
        template_name = ""
        if spec["template_id"]:
            with self._uow() as uow:
                template = uow.templates.get(str(spec["template_id"]))
                if template is None or template.workspace_id not in (None, workspace_id):
                    raise JobFailed("The template is no longer available")
                chosen = [str(s) for s in spec["selected_section_ids"]]
                template_sections = tuple(select_sections(template, chosen))
                template_name = template.name
        brief = Brief(
            prompt=str(spec["prompt"]),
            material=text,
            narrative_type=str(spec["narrative_type"]),
            rewrite_style=str(spec["rewrite_style"]),
            section_count=spec["section_count"],
            language=str(spec["language"]),
            template_sections=template_sections,
        )
        return brief, template_name

    def _attachment_text(self, attachment: dict[str, Any]) -> str | None:
        """The text of an attached file, read from our own store by its key."""
        label = f"Attachment {attachment['file_name']!r}"
        if self._store is None:
            raise JobFailed(f"{label} cannot be read: uploads are not configured")
        try:
            with self._store.open(str(attachment["key"])) as stream:
                return extract.text_of(stream, str(attachment["type"]))
        except ObjectMissing:
            raise JobFailed(f"{label} is no longer stored") from None
        except extract.ExtractionError as exc:
            raise JobFailed(f"{label} could not be read: {exc}") from None

    def _complete(
        self, job_id: str, spec: dict[str, Any], title: str, sections: list[Section]
    ) -> None:
        """The deck and the job's completion in one transaction."""
        for section in sections:
            section.id = ""  # fresh ids, given by validate_sections
        with self._uow() as uow:
            job = self._ours(uow, job_id)
            now = models.utcnow()
            deck = models.Presentation(
                id=new_id("pres"),
                workspace_id=job.workspace_id,
                title=(title or material.sentences(str(spec["prompt"]))[0])[:500],
                sections=validate_sections(sections),
                is_public=False,
                created_at=now,
                updated_at=now,
                revision=1,
            )
            uow.presentations.add(deck)
            job.state, job.presentation_id, job.phase, job.current_step = (
                "completed",
                deck.id,
                None,
                None,
            )
            job.lease_owner = job.lease_expires_at = None
            job.updated_at = now
            uow.commit()
