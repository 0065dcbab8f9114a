"""Runs generation jobs off the request path, one at a time per worker.

A worker claims the oldest runnable job by taking its lease (a compare-and-set in the
database), renews the lease with every step, and gives up silently if another worker
took the job over after the lease expired. The rules of each step are the service
layer's (services/jobs.py); this module is the loop, the clock and the writer's calls.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from chronicle.v1.presentation_pb2 import Section
from server.files.store import FileStore
from server.generation.model import ModelError
from server.generation.writer import Writer
from server.ids import new_id
from server.services import briefs, jobs
from server.storage import models
from server.storage.uow import UnitOfWork
from server.vocabulary import JobPhase

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
        clock: Clock = models.utcnow,
    ) -> None:
        self._uow = uow
        self._writer = writer
        self._store = store  # where attached files are read from
        self.owner = owner or new_id("wrk")
        self._lease = timedelta(seconds=lease_seconds)
        self._timeout = timedelta(seconds=job_timeout_seconds)
        self._clock = clock  # leases are in database time: UTC
        self._stop = threading.Event()  # set by `serve`'s caller to shut down

    def run_once(self) -> str | None:
        """Claims and runs one job; its id, or None when there was nothing to do."""
        with self._uow() as uow:
            lease = jobs.claim(uow, self.owner, self._lease, self._clock())
        if lease is None:
            return None
        self._process(lease)
        return lease.job_id

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

    def _process(self, lease: jobs.Lease) -> None:
        try:
            self._run(lease)
        except jobs.LeaseLost:
            log.info("generation %s was taken over by another worker", lease.job_id)
        except Stopping:
            with contextlib.suppress(jobs.LeaseLost), self._uow() as uow:
                jobs.hand_back(uow, lease)
            log.info("generation %s handed back: this worker is stopping", lease.job_id)
        except (jobs.JobFailed, ModelError) as exc:
            self._fail(lease, str(exc))
        except Exception:
            log.exception("generation %s failed", lease.job_id)
            self._fail(lease, "Generation failed because of an internal error")

    def _fail(self, lease: jobs.Lease, error: str) -> None:
        with contextlib.suppress(jobs.LeaseLost), self._uow() as uow:
            jobs.fail(uow, lease, self._clock(), error)

    def _report(self, lease: jobs.Lease, progress: jobs.Progress) -> None:
        """Records progress and renews the lease; a stopping worker stops here."""
        if self._stop.is_set():
            raise Stopping()
        with self._uow() as uow:
            jobs.report(uow, lease, self._clock(), progress)

    def _run(self, lease: jobs.Lease) -> None:
        if self._stop.is_set():
            raise Stopping()
        started_at = self._clock()
        with self._uow() as uow:
            started = jobs.begin(uow, lease, started_at)
        question = jobs.question_for(started.spec)
        if question is not None:
            with self._uow() as uow:
                jobs.ask(uow, lease, self._clock(), question)
            return
        with self._uow() as uow:
            flow = briefs.template_flow(uow, started.spec, started.workspace_id)
        brief = briefs.brief_for(started.spec, flow, self._store)
        standalone = flow is None
        progress = replace(
            started.progress,
            phase=JobPhase.STORYLINE if standalone else None,
            step="Planning the storyline",
            slides_completed=0,
        )
        self._report(lease, progress)
        plan = self._writer.plan(brief)
        total, tokens = len(plan.sections), plan.tokens
        sections: list[Section] = []
        progress = replace(
            progress,
            phase=JobPhase.SLIDES if standalone else None,
            slides_total=total,
            tokens_used=tokens,
        )
        self._report(lease, progress)
        for index, planned in enumerate(plan.sections):
            if self._clock() - started_at > self._timeout:
                raise jobs.JobFailed("Generation timed out")
            progress = replace(progress, step=f"Creating slide {index + 1} of {total}")
            self._report(lease, progress)
            written = self._writer.write(brief, planned)
            tokens += written.tokens
            sections.append(written.section)
            progress = replace(progress, slides_completed=index + 1, tokens_used=tokens)
            self._report(lease, progress)
        title = flow.name if flow else plan.sections[0].title
        with self._uow() as uow:
            jobs.complete(uow, lease, self._clock(), title, sections)
