"""The worker's loop with a fake writer and a clock the test moves: leases, takeovers,
timeouts and hand-backs, on a SQLite file of the test's own (the lease is a database
compare-and-set), without a server, a thread or a sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chronicle.v1.presentation_pb2 import Section
from server.auth import CallerKind, Principal
from server.generation.model import ModelError
from server.generation.worker import Worker
from server.generation.writer import Brief, Plan, PlannedSection, Written
from server.services import jobs
from server.storage import db, models
from server.storage.uow import SqlUnitOfWork
from server.vocabulary import JobState

ALICE = Principal(CallerKind.API_KEY, "key_a", "ws_a", "live")
NOTES = "Revenue grew 18 percent. Churn fell to 2 percent. We hired 6 engineers this quarter."


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeWriter:
    """Plans `slides` slides; `during` runs before each slide is written (it may move the
    clock, stop the worker, or let another worker in)."""

    slides: int = 3
    plan_tokens: int = 100
    write_tokens: int = 10
    during: Callable[[int], None] = lambda _index: None
    briefs: list[Brief] = field(default_factory=list)

    def plan(self, brief: Brief) -> Plan:
        self.briefs.append(brief)
        planned = (
            PlannedSection(f"Slide {i}", "title_and_body", "model", (f"point {i}",))
            for i in range(self.slides)
        )
        return Plan(tuple(planned), self.plan_tokens)

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        self.during(int(planned.title.split()[-1]))
        return Written(Section(id="sec_mine", title=planned.title), self.write_tokens)


@pytest.fixture
def uow(tmp_path: Path) -> Iterator[Callable[[], SqlUnitOfWork]]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    models.Base.metadata.create_all(engine)
    sessions = db.session_factory(engine)
    with SqlUnitOfWork(sessions, engine) as setup:
        setup.workspaces.add(models.Workspace(id="ws_a", name="a"))
        setup.workspaces.add(models.Workspace(id="ws_b", name="b"))
        setup.commit()
    yield lambda: SqlUnitOfWork(sessions, engine)
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def submit(uow: Callable[[], SqlUnitOfWork], prompt: str = NOTES, **fields: object) -> str:
    fields.setdefault("non_interactive", True)
    with uow() as unit:
        return jobs.submit(unit, ALICE, jobs.GenerationRequest(prompt=prompt, **fields)).id


def job_of(uow: Callable[[], SqlUnitOfWork], job_id: str) -> models.GenerationJob:
    with uow() as unit:
        job = unit.generation_jobs.get(job_id)
        assert job is not None
        return job


def worker(
    uow: Callable[[], SqlUnitOfWork], clock: Clock, writer: FakeWriter, **options: object
) -> Worker:
    return Worker(uow, writer, clock=clock, **options)


def test_with_nothing_to_do_a_worker_claims_nothing(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    assert worker(uow, clock, FakeWriter()).run_once() is None


def test_a_job_completes_with_its_deck_and_the_planning_tokens_counted(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow)
    writer = FakeWriter(slides=3, plan_tokens=100, write_tokens=10)
    assert worker(uow, clock, writer).run_once() == job_id
    job = job_of(uow, job_id)
    assert job.state == JobState.COMPLETED and job.tokens_used == 130
    assert (job.lease_owner, job.phase, job.current_step, job.attempts) == (None, None, None, 1)
    with uow() as unit:
        deck = unit.presentations.get_for_update(job.presentation_id or "")
        assert deck is not None
        assert deck.title == "Slide 0" and deck.workspace_id == "ws_a"
        assert [s.title for s in deck.sections] == ["Slide 0", "Slide 1", "Slide 2"]
        assert len({s.id for s in deck.sections}) == 3  # fresh ids, not the writer's
    assert writer.briefs[0].material == NOTES and writer.briefs[0].section_count is None


def test_progress_is_reported_slide_by_slide_with_tokens_so_far(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow)
    seen = []

    def look(index: int) -> None:
        job = job_of(uow, job_id)
        seen.append((job.phase, job.current_step, job.slides_completed, job.tokens_used))

    worker(uow, clock, FakeWriter(slides=2, plan_tokens=50, during=look)).run_once()
    assert seen == [
        ("slides", "Creating slide 1 of 2", 0, 50),
        ("slides", "Creating slide 2 of 2", 1, 60),
    ]


def test_each_report_renews_the_lease_from_the_clock(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow)
    leases = []

    def look(index: int) -> None:
        leases.append(job_of(uow, job_id).lease_expires_at)
        clock.advance(20)

    worker(uow, clock, FakeWriter(during=look), lease_seconds=30).run_once()
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert leases == [start + timedelta(seconds=s) for s in (30, 50, 70)]
    assert job_of(uow, job_id).state == JobState.COMPLETED  # 40 s in all, lease 30 s


def test_a_thin_interactive_prompt_stops_awaiting_input(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow, "Otters", non_interactive=False)
    writer = FakeWriter()
    worker(uow, clock, writer).run_once()
    job = job_of(uow, job_id)
    assert (job.state, job.question, job.lease_owner) == (
        JobState.AWAITING_INPUT,
        jobs.QUESTIONS[0],
        None,
    )
    assert writer.briefs == []  # nothing planned yet


def test_a_job_running_past_its_timeout_fails_as_timed_out(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow)
    writer = FakeWriter(slides=6, during=lambda _index: clock.advance(4))
    worker(uow, clock, writer, job_timeout_seconds=10).run_once()
    job = job_of(uow, job_id)
    assert (job.state, job.error) == (JobState.FAILED, "Generation timed out")
    assert job.slides_completed == 3  # 12 s after the third slide: the fourth never starts


def test_a_live_lease_is_not_taken_by_another_worker(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    submit(uow)
    with uow() as unit:
        assert jobs.claim(unit, "wrk_a", timedelta(seconds=30), clock()) is not None
    clock.advance(29)
    assert worker(uow, clock, FakeWriter()).run_once() is None
    clock.advance(2)
    assert worker(uow, clock, FakeWriter()).run_once() is not None


def test_an_expired_lease_is_taken_over_and_the_first_worker_leaves_the_job_alone(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    """The first worker stalls past its lease; a second takes the job over and finishes
    it; the first, waking up, finds the lease gone and changes nothing."""
    job_id = submit(uow)
    second = worker(uow, clock, FakeWriter(write_tokens=1), owner="wrk_b")
    taken: list[str | None] = []

    def stall(index: int) -> None:
        if index == 1 and not taken:
            clock.advance(31)
            taken.append(second.run_once())

    worker(uow, clock, FakeWriter(during=stall), owner="wrk_a", lease_seconds=30).run_once()
    assert taken == [job_id]
    job = job_of(uow, job_id)
    assert (job.state, job.attempts, job.tokens_used) == (JobState.COMPLETED, 2, 103)
    with uow() as unit:
        assert len(unit.presentations.list_page("ws_a", 10, None)) == 1


def test_a_stopping_worker_hands_its_job_back_at_its_next_step(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    job_id = submit(uow)
    stop = threading.Event()
    writer = FakeWriter(during=lambda index: stop.set() if index == 1 else None)
    worker(uow, clock, writer, lease_seconds=60).serve(stop)  # returns once stopped
    job = job_of(uow, job_id)
    assert (job.state, job.lease_owner, job.attempts) == (JobState.GENERATING, None, 0)
    assert job.slides_completed == 1
    assert worker(uow, clock, FakeWriter()).run_once() == job_id  # at once, not after 60 s
    assert job_of(uow, job_id).attempts == 1


def test_a_job_claimed_too_often_fails(uow: Callable[[], SqlUnitOfWork], clock: Clock) -> None:
    job_id = submit(uow)
    with uow() as unit:
        job = unit.generation_jobs.get(job_id)
        assert job is not None
        job.attempts = jobs.MAX_ATTEMPTS
        unit.commit()
    worker(uow, clock, FakeWriter()).run_once()
    job = job_of(uow, job_id)
    assert (job.state, job.error) == (JobState.FAILED, "Generation was interrupted too many times")


def raise_(exc: Exception) -> Callable[[int], None]:
    def during(_index: int) -> None:
        raise exc

    return during


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (ModelError("The model did not answer in time"), "The model did not answer in time"),
        (RuntimeError("a bug, not for clients"), "Generation failed because of an internal error"),
    ],
)
def test_a_writer_failure_fails_the_job_with_a_readable_reason(
    uow: Callable[[], SqlUnitOfWork], clock: Clock, exc: Exception, error: str
) -> None:
    job_id = submit(uow)
    worker(uow, clock, FakeWriter(during=raise_(exc))).run_once()
    job = job_of(uow, job_id)
    assert (job.state, job.error, job.lease_owner) == (JobState.FAILED, error, None)


def test_a_template_job_follows_the_template_and_is_named_after_it(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    with uow() as unit:
        sections = [Section(id=f"sec_{i}", title=f"T{i}", layout="quote") for i in range(3)]
        unit.templates.add(
            models.Template(id="tpl_a", workspace_id="ws_a", name="Ours", sections=sections)
        )
        unit.commit()
    job_id = submit(uow, template_id="tpl_a", selected_section_ids=["sec_2", "sec_0"])
    writer = FakeWriter(slides=2)
    worker(uow, clock, writer).run_once()
    assert [s.title for s in writer.briefs[0].template_sections] == ["T0", "T2"]
    job = job_of(uow, job_id)
    assert job.state == JobState.COMPLETED and job.phase is None
    with uow() as unit:
        deck = unit.presentations.get_for_update(job.presentation_id or "")
        assert deck is not None and deck.title == "Ours"


def test_a_template_the_workspace_may_no_longer_use_fails_the_job(
    uow: Callable[[], SqlUnitOfWork], clock: Clock
) -> None:
    with uow() as unit:
        unit.templates.add(models.Template(id="tpl_a", workspace_id="ws_a", name="Ours"))
        unit.commit()
    job_id = submit(uow, template_id="tpl_a")
    with uow() as unit:
        template = unit.templates.get("tpl_a")
        assert template is not None
        template.workspace_id = "ws_b"
        unit.commit()
    worker(uow, clock, FakeWriter()).run_once()
    job = job_of(uow, job_id)
    assert (job.state, job.error) == (JobState.FAILED, "The template is no longer available")
