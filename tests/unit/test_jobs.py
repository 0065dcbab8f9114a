"""Generation job rules with in-memory repositories: no gRPC, no database, no worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chronicle.v1.presentation_pb2 import Section
from server import convert
from server.auth import CallerKind, Principal
from server.errors import Conflict, InvalidArgument, NotFound, TemplateNotFound, WrongWorkspace
from server.services import jobs
from server.services.job_spec import SPEC_VERSION, AttachedFile, CorruptSpec, JobSpec
from server.storage import models
from server.vocabulary import JobPhase, JobState
from tests.fakes import FakeUnitOfWork

ALICE = Principal(CallerKind.API_KEY, "key_a", "ws_a", "live")
BOB = Principal(CallerKind.API_KEY, "key_b", "ws_b", "live")
SECTIONS = [Section(id=f"sec_{i}", title=f"S{i}", layout="title_and_body") for i in range(3)]
LONG_ENOUGH = "A talk for the board about our quarter, its numbers and the plan ahead"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.templates.add(
        models.Template(id="tpl_pub", workspace_id=None, name="Public", sections=SECTIONS)
    )
    uow.templates.add(
        models.Template(id="tpl_bob", workspace_id="ws_b", name="Bob's", sections=SECTIONS)
    )
    return uow


def submit(uow: FakeUnitOfWork, prompt: str = LONG_ENOUGH, **fields: object) -> str:
    request = jobs.GenerationRequest(prompt=prompt, **fields)
    return jobs.submit(uow, ALICE, request).id


def spec_of(uow: FakeUnitOfWork, job_id: str) -> JobSpec:
    return JobSpec.from_json(uow.generation_jobs.get(job_id).spec)


def leased(uow: FakeUnitOfWork, job_id: str, owner: str = "wrk_a") -> jobs.Lease:
    """The job as a worker holds it after claiming it (the fake has no claim query)."""
    job = uow.generation_jobs.get(job_id)
    job.lease_owner, job.lease_expires_at = owner, NOW + timedelta(seconds=30)
    job.attempts += 1
    return jobs.Lease(job_id, owner, timedelta(seconds=30))


# Submission


def test_a_submitted_job_is_generating_with_a_versioned_spec_and_the_defaults(
    uow: FakeUnitOfWork,
) -> None:
    job_id = submit(uow, "  Otters in rivers  ")
    job = uow.generation_jobs.get(job_id)
    assert job.state == JobState.GENERATING and job.workspace_id == "ws_a"
    assert job.spec["version"] == SPEC_VERSION
    assert spec_of(uow, job_id) == JobSpec(prompt="Otters in rivers")
    assert uow.commits == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * (jobs.MAX_PROMPT + 1)}, "prompt"),
        ({"narrative_type": "Sermon"}, "narrative_type"),
        ({"rewrite_style": "Loud"}, "rewrite_style"),
        ({"language": "xx"}, "language"),
        ({"selected_section_ids": ["sec_0"]}, "selected_section_ids"),
        ({"template_id": "tpl_pub", "selected_section_ids": ["sec_x"]}, "selected_section_ids"),
    ],
)
def test_a_bad_request_is_invalid_naming_the_field(
    uow: FakeUnitOfWork, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidArgument, match=field):
        submit(uow, **{"prompt": LONG_ENOUGH, **fields})
    assert not uow.generation_jobs.rows


def test_choices_match_in_any_case_and_are_stored_as_spelled_by_the_api(
    uow: FakeUnitOfWork,
) -> None:
    job_id = submit(uow, narrative_type="pitch", rewrite_style="STRONG", language="JA")
    spec = spec_of(uow, job_id)
    assert (spec.narrative_type, spec.rewrite_style, spec.language) == ("Pitch", "Strong", "ja")


@pytest.mark.parametrize(
    ("given", "stored"),
    [(None, None), ("auto", None), ("AUTO", None), (3.0, 3), (50, 50), ("4", 4), (" 7 ", 7)],
)
def test_section_count_is_a_whole_number_or_auto(
    uow: FakeUnitOfWork, given: object, stored: int | None
) -> None:
    assert spec_of(uow, submit(uow, section_count=given)).section_count == stored


@pytest.mark.parametrize(
    "given", [0, -3, 2.5, 51, "many", True, float("inf"), [3], "0", "51", "4.0", "²", "1" * 5000]
)
def test_any_other_section_count_is_invalid(uow: FakeUnitOfWork, given: object) -> None:
    with pytest.raises(InvalidArgument, match="section_count"):
        submit(uow, section_count=given)


def test_a_template_job_keeps_the_chosen_sections(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow, template_id="tpl_pub", selected_section_ids=["sec_2", "sec_0"])
    spec = spec_of(uow, job_id)
    assert spec.template_id == "tpl_pub" and spec.selected_section_ids == ("sec_2", "sec_0")


def test_another_workspace_s_template_or_an_unknown_one_cannot_be_used(
    uow: FakeUnitOfWork,
) -> None:
    with pytest.raises(WrongWorkspace):
        submit(uow, template_id="tpl_bob")
    with pytest.raises(TemplateNotFound):
        submit(uow, template_id="tpl_nope")


# The spec as stored


def test_a_spec_stored_before_versions_existed_reads_as_version_1() -> None:
    stored = {
        "prompt": "Otters",
        "non_interactive": False,
        "narrative_type": "Auto",
        "rewrite_style": "Subtle",
        "section_count": None,
        "language": "us",
        "template_id": None,
        "selected_section_ids": [],
        "answers": ["for kids"],
    }
    spec = JobSpec.from_json(stored)
    assert spec.version == 1 and spec.answers == ("for kids",) and spec.attachments == ()
    assert JobSpec.from_json(spec.to_json()) == spec
    assert {**stored, "attachments": [], "version": 1} == spec.to_json()


@pytest.mark.parametrize("version", [SPEC_VERSION + 1, "1", True])
def test_a_spec_from_a_newer_release_or_with_a_bad_version_is_refused(version: object) -> None:
    stored = JobSpec(prompt="Otters").to_json()
    with pytest.raises(CorruptSpec, match="version"):
        JobSpec.from_json({**stored, "version": version})


def test_a_spec_round_trips_through_its_json_with_attachments() -> None:
    spec = JobSpec(
        prompt="Deck",
        section_count=4,
        template_id="tpl_pub",
        selected_section_ids=("sec_1",),
        attachments=(AttachedFile("a", "notes.txt", "text/plain", "att_1", "ws_a/att_1/n"),),
    )
    assert JobSpec.from_json(spec.to_json()) == spec


# Asking before planning


def test_a_thin_interactive_prompt_asks_each_question_in_turn() -> None:
    spec = JobSpec(prompt="Otters")
    asked = []
    while (question := jobs.question_for(spec)) is not None:
        asked.append(question)
        spec = spec.answered("yes", ())
    assert asked == list(jobs.QUESTIONS)


def test_enough_words_a_template_or_non_interactive_never_ask() -> None:
    assert jobs.question_for(JobSpec(prompt=LONG_ENOUGH)) is None
    assert jobs.question_for(JobSpec(prompt="Otters", template_id="tpl_pub")) is None
    assert jobs.question_for(JobSpec(prompt="Otters", non_interactive=True)) is None
    answered = JobSpec(prompt="Otters").answered("a talk for kids about rivers and fish", ())
    assert jobs.question_for(answered) is None


def test_an_answer_resumes_a_job_awaiting_input(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow, "Otters")
    lease = leased(uow, job_id)
    jobs.ask(uow, lease, NOW, jobs.QUESTIONS[0])
    job = uow.generation_jobs.get(job_id)
    assert (job.state, job.question, job.lease_owner) == (
        JobState.AWAITING_INPUT,
        jobs.QUESTIONS[0],
        None,
    )
    jobs.send_message(uow, ALICE, job_id, "  for kids  ", [])
    assert (job.state, job.question) == (JobState.GENERATING, None)
    assert spec_of(uow, job_id).answers == ("for kids",)


def test_an_answer_to_a_job_not_awaiting_input_is_a_conflict(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow)
    with pytest.raises(Conflict, match="is generating, not awaiting input"):
        jobs.send_message(uow, ALICE, job_id, "more", [])
    with pytest.raises(InvalidArgument, match="content"):
        jobs.send_message(uow, ALICE, job_id, "  ", [])


def test_another_workspace_s_job_is_refused_and_an_unknown_one_is_not_found(
    uow: FakeUnitOfWork,
) -> None:
    job_id = submit(uow)
    with pytest.raises(WrongWorkspace):
        jobs.status_view(uow, BOB, job_id)
    with pytest.raises(WrongWorkspace):
        jobs.send_message(uow, BOB, job_id, "hi", [])
    with pytest.raises(NotFound):
        jobs.status_view(uow, ALICE, "gen_nope")
    with pytest.raises(NotFound):
        jobs.status_view(uow, ALICE, "")


# The worker's side


def test_reports_renew_the_lease_and_record_progress(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow)
    lease = leased(uow, job_id)
    started = jobs.begin(uow, lease, NOW)
    assert started.spec == spec_of(uow, job_id) and started.progress == jobs.Progress()
    later = NOW + timedelta(seconds=5)
    progress = jobs.Progress(JobPhase.SLIDES, "Creating slide 1 of 2", 2, 1, 77)
    jobs.report(uow, lease, later, progress)
    job = uow.generation_jobs.get(job_id)
    assert job.lease_expires_at == later + timedelta(seconds=30) and job.updated_at == later
    assert (job.phase, job.current_step, job.slides_total, job.slides_completed) == (
        "slides",
        "Creating slide 1 of 2",
        2,
        1,
    )
    assert job.tokens_used == 77
    assert jobs.begin(uow, lease, later).progress == progress  # as a next attempt finds it


def test_completing_adds_the_deck_with_fresh_ids_and_ends_the_job(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow, "Otters need clean rivers. We rescue them.", non_interactive=True)
    lease = leased(uow, job_id)
    written = [Section(id="sec_writer", title="A", layout=""), Section(title="B", layout="quote")]
    commits = uow.commits
    deck = jobs.complete(uow, lease, NOW, "", written)
    assert uow.commits == commits + 1  # the deck and the job's end together
    job = uow.generation_jobs.get(job_id)
    assert (job.state, job.presentation_id, job.lease_owner, job.phase) == (
        JobState.COMPLETED,
        deck.id,
        None,
        None,
    )
    assert deck.title == "Otters need clean rivers."  # no title: the prompt's first sentence
    assert deck.workspace_id == "ws_a" and not deck.is_public and deck.created_at == NOW
    assert [s.layout for s in deck.sections] == ["title_and_body", "quote"]
    assert all(s.id.startswith("sec_") and s.id != "sec_writer" for s in deck.sections)
    assert written[0].id == "sec_writer"  # the writer's sections are left as they were
    view = jobs.status_view(uow, ALICE, job_id)
    # The deck as the read model returns it: a view of the committed row, field for field.
    assert view.job is job and view.deck is not None
    assert convert.presentation_view(view.deck, "u") == convert.presentation(deck, "u")


def test_a_job_claimed_more_often_than_allowed_fails_at_its_start(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow)
    uow.generation_jobs.get(job_id).attempts = jobs.MAX_ATTEMPTS
    lease = leased(uow, job_id)
    with pytest.raises(jobs.JobFailed, match="interrupted too many times"):
        jobs.begin(uow, lease, NOW)


def test_a_worker_that_lost_its_lease_changes_nothing(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow)
    lease = leased(uow, job_id, owner="wrk_a")
    leased(uow, job_id, owner="wrk_b")  # taken over after wrk_a's lease expired
    commits = uow.commits
    for end in (
        lambda: jobs.report(uow, lease, NOW, jobs.Progress(step="x")),
        lambda: jobs.ask(uow, lease, NOW, "?"),
        lambda: jobs.complete(uow, lease, NOW, "T", []),
        lambda: jobs.fail(uow, lease, NOW, "boom"),
        lambda: jobs.hand_back(uow, lease),
    ):
        with pytest.raises(jobs.LeaseLost):
            end()
    job = uow.generation_jobs.get(job_id)
    assert (job.state, job.lease_owner, job.current_step) == (JobState.GENERATING, "wrk_b", None)
    assert uow.commits == commits and not uow.presentations.rows


def test_a_failed_job_is_finished_and_shows_its_error(uow: FakeUnitOfWork) -> None:
    job_id = submit(uow)
    lease = leased(uow, job_id)
    jobs.fail(uow, lease, NOW, "The model's answer is not valid JSON")
    job = uow.generation_jobs.get(job_id)
    assert (job.state, job.error, job.lease_owner) == (
        JobState.FAILED,
        "The model's answer is not valid JSON",
        None,
    )
    assert JobState(job.state).finished
    with pytest.raises(jobs.LeaseLost):  # a finished job is nobody's
        jobs.report(uow, lease, NOW)


def test_a_handed_back_job_is_free_at_once_and_the_attempt_is_not_counted(
    uow: FakeUnitOfWork,
) -> None:
    job_id = submit(uow)
    lease = leased(uow, job_id)
    jobs.hand_back(uow, lease)
    job = uow.generation_jobs.get(job_id)
    assert (job.state, job.lease_owner, job.lease_expires_at, job.attempts) == (
        JobState.GENERATING,
        None,
        None,
        0,
    )
