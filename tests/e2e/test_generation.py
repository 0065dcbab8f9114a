"""Generation end to end: REST edge → gRPC → jobs → a worker → the deck."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest

from chronicle.v1 import generation_pb2, presentation_service_pb2, presentation_service_pb2_grpc
from server.container import Container
from server.generation.builtin import BuiltinWriter
from server.generation.model import ModelSettings, ModelWriter
from server.generation.writer import Brief, PlannedSection, Written
from server.services.jobs import MIN_WORDS_TO_PLAN, QUESTIONS
from server.storage import models
from tests.conftest import Tenant
from tests.fake_model import planning, serve_fake_model

NOTES = (
    "Quarterly review for the board. Revenue grew 18 percent to 4.2 million euros. "
    "Churn fell to 2 percent after the onboarding redesign. We hired 6 engineers. "
    "Next quarter we launch in Spain and Portugal and need approval for a larger budget."
)


class GatedWriter(BuiltinWriter):
    """Writes slide n only once the test has seen the job at "Creating slide n": every
    step is observed, without a fixed delay."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._changed = threading.Condition()
        self._writing = 0

    def saw(self, step: str) -> None:
        with self._changed:
            self._seen.add(step)
            self._changed.notify_all()

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        self._writing += 1
        step = f"Creating slide {self._writing} of "
        with self._changed:
            assert self._changed.wait_for(
                lambda: any(s.startswith(step) for s in self._seen), timeout=20
            ), f"the test never saw {step!r}"
        return super().write(brief, planned)


class Clock:
    """The worker's clock, moved by its writer: a job's time runs out without waiting."""

    def __init__(self) -> None:
        self.now = models.utcnow()

    def __call__(self) -> datetime:
        return self.now


class TimeTakingWriter(BuiltinWriter):
    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock, self._seconds = clock, seconds

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        self._clock.now += timedelta(seconds=self._seconds)
        return super().write(brief, planned)


def generate(http: httpx.Client, tenant: Tenant, **body: Any) -> httpx.Response:
    return http.post("/api/v1/presentations/generate", json=body, headers=tenant.headers)


def wait_for(
    http: httpx.Client, tenant: Tenant, generation_id: str, *states: str, limit: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = http.get(
            f"/api/v1/presentations/generate/{generation_id}/status", headers=tenant.headers
        ).json()
        if status["status"] in states:
            return status  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{generation_id} never reached {states}")


def test_generate_answers_202_and_completes_with_the_stored_deck(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()
    response = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=6)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"generation_id", "status", "poll_url"}
    assert body["status"] == "generating" and body["generation_id"].startswith("gen_")
    assert body["poll_url"] == f"/api/v1/presentations/generate/{body['generation_id']}/status"
    done = wait_for(http, tenant, body["generation_id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert set(done) == {"generation_id", "status", "presentation", "tokens_used"}
    assert done["tokens_used"] > 0
    deck = done["presentation"]
    assert len(deck["sections"]) == 6 and deck["workspace_id"] == tenant.workspace_id
    assert http.get(f"/api/v1/presentations/{deck['id']}", headers=tenant.headers).json() == deck
    assert "18 percent" in json.dumps(deck)


def test_progress_moves_slide_by_slide(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    writer = GatedWriter()
    start_worker(writer)
    gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=5).json()[
        "generation_id"
    ]
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = http.get(
            f"/api/v1/presentations/generate/{gid}/status", headers=tenant.headers
        ).json()
        if status["status"] != "generating":
            break
        if "progress" in status:
            writer.saw(status["progress"]["current_step"])
            seen.append(
                (
                    status.get("phase"),
                    status["progress"]["slides_completed"],
                    status["progress"]["current_step"],
                )
            )
        time.sleep(0.03)
    assert status["status"] == "completed"
    assert any(step == "Creating slide 3 of 5" for _, _, step in seen)
    completed = [n for _, n, _ in seen]
    assert completed == sorted(completed) and max(completed) >= 3
    assert {phase for phase, _, _ in seen} <= {"storyline", "slides"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x", "section_count": 0}, "section_count"),
        ({"prompt": "x", "section_count": -3}, "section_count"),
        ({"prompt": "x", "section_count": 2.5}, "section_count"),
        ({"prompt": "x", "section_count": 500}, "section_count"),
        ({"prompt": "x", "section_count": "many"}, "section_count"),
        ({"prompt": "x", "section_count": True}, "section_count"),
        ({"prompt": "x", "narrative_type": "Sermon"}, "narrative_type"),
        ({"prompt": "x", "rewrite_style": "Loud"}, "rewrite_style"),
        ({"prompt": "x", "language": "xx"}, "language"),
        ({"prompt": "x", "selected_section_ids": ["sec_a"]}, "selected_section_ids"),
        (
            {"prompt": "x", "attachments": [{"id": "a", "url": "u", "file_name": "f"}]},
            "attachments[0].type",
        ),
        (
            {
                "prompt": "x",
                "attachments": [
                    {
                        "id": "a",
                        "url": "https://example.com/f.pdf",
                        "file_name": "f.pdf",
                        "type": "application/pdf",
                    }
                ],
            },
            "attachments[0].url",
        ),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "x", "non_interactive": "yes"}, "non_interactive"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    http: httpx.Client, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = generate(http, tenant, **body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    assert field in response.json()["error"]["message"]


def test_section_count_auto_and_numbers_are_accepted(http: httpx.Client, tenant: Tenant) -> None:
    for count in ("auto", "AUTO", 3, 3.0, None):
        body: dict[str, Any] = {"prompt": NOTES, "non_interactive": True}
        if count is not None:
            body["section_count"] = count
        assert generate(http, tenant, **body).status_code == 202, count


def test_a_thin_prompt_asks_questions_until_it_can_plan(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()
    gid = generate(http, tenant, prompt="Otters").json()["generation_id"]
    asked = wait_for(http, tenant, gid, "awaiting_input")
    assert asked == {"generation_id": gid, "status": "awaiting_input", "message": QUESTIONS[0]}
    url = f"/api/v1/presentations/generate/{gid}/message"
    reply = http.post(url, json={"content": "for kids"}, headers=tenant.headers)
    assert reply.status_code == 200 and reply.json() == {"status": "generating"}
    second = wait_for(http, tenant, gid, "awaiting_input", "completed")
    assert second["message"] == QUESTIONS[1]  # still fewer than MIN_WORDS_TO_PLAN words
    assert len(["Otters", "for", "kids"]) < MIN_WORDS_TO_PLAN
    http.post(
        url,
        json={"content": "A school talk about river otters, what they eat and how to protect them"},
        headers=tenant.headers,
    )
    done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "completed"
    assert "otters" in json.dumps(done["presentation"]).lower()
    late = http.post(url, json={"content": "more"}, headers=tenant.headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "CONFLICT"


def test_non_interactive_jobs_never_ask(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()
    gid = generate(http, tenant, prompt="Otters", non_interactive=True).json()["generation_id"]
    assert (
        wait_for(http, tenant, gid, "completed", "failed", "awaiting_input")["status"]
        == "completed"
    )


def test_a_message_to_a_job_still_generating_is_409(http: httpx.Client, tenant: Tenant) -> None:
    gid = generate(http, tenant, prompt=NOTES).json()["generation_id"]  # no worker running
    response = http.post(
        f"/api/v1/presentations/generate/{gid}/message",
        json={"content": "hi"},
        headers=tenant.headers,
    )
    assert response.status_code == 409


def test_unknown_generation_is_404_not_found(http: httpx.Client, tenant: Tenant) -> None:
    response = http.get("/api/v1/presentations/generate/gen_nope/status", headers=tenant.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_template_flow_follows_the_selected_sections_in_template_order(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    start_worker()
    template = http.get("/api/v1/templates", headers=tenant.headers).json()["templates"][1]
    chosen = [template["sections"][4]["id"], template["sections"][1]["id"]]
    gid = generate(
        http, tenant, prompt=NOTES, template_id=template["id"], selected_section_ids=chosen
    ).json()["generation_id"]
    done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "completed"
    titles = [s["title"] for s in done["presentation"]["sections"]]
    assert titles == [template["sections"][1]["title"], template["sections"][4]["title"]]
    assert done["presentation"]["title"] == template["name"]


def test_a_model_failure_ends_the_job_failed_with_its_reason(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    with serve_fake_model() as (model, url):
        model.reply("not json at all")
        start_worker(ModelWriter(ModelSettings(base_url=url, model="m", attempts=1)))
        gid = generate(http, tenant, prompt=NOTES, non_interactive=True).json()["generation_id"]
        done = wait_for(http, tenant, gid, "completed", "failed")
    assert done == {
        "generation_id": gid,
        "status": "failed",
        "error": "The model's answer is not valid JSON",
    }


def test_a_model_job_s_tokens_include_its_planning(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    with serve_fake_model() as (model, url):
        model.fallback = planning(3, plan_tokens=100, slide_tokens=10)
        start_worker(ModelWriter(ModelSettings(base_url=url, model="m", attempts=1)))
        gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=3).json()[
            "generation_id"
        ]
        done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "completed", done
    assert done["tokens_used"] == 100 + 3 * 10


def test_a_job_running_too_long_fails_as_timed_out(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    clock = Clock()
    start_worker(TimeTakingWriter(clock, 0.3), job_timeout_seconds=0.5, clock=clock)
    gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=6).json()[
        "generation_id"
    ]
    done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "failed" and done["error"] == "Generation timed out"


def test_a_killed_worker_s_job_is_taken_over_after_its_lease(
    container: Container, http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    with serve_fake_model() as (model, url):
        model.fallback, model.delay = planning(4), 0.4
        env = {
            **os.environ,
            "CHRONICLE_DATABASE_URL": container.settings.database_url,
            "CHRONICLE_MODEL_BASE_URL": url,
            "CHRONICLE_MODEL_NAME": "m",
            "CHRONICLE_WORKER_LEASE": "1",
            "CHRONICLE_LOG_LEVEL": "WARNING",
        }
        gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=4).json()[
            "generation_id"
        ]
        worker = subprocess.Popen(
            [sys.executable, "-m", "chronicle.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            running = wait_for_progress(http, tenant, gid)
            assert running["progress"]["slides_completed"] >= 1
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        start_worker(BuiltinWriter(), lease_seconds=1)
        done = wait_for(http, tenant, gid, "completed", "failed", limit=30)
    assert done["status"] == "completed"
    with container.uow() as uow:
        job = uow.generation_jobs.get(gid)
        assert job is not None and job.attempts == 2


def test_a_worker_stopped_with_sigterm_hands_its_job_back_at_once(
    container: Container, http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    """Graceful shutdown: the job is released at the worker's next step, not after its
    lease (a minute here), and the interrupted attempt is not counted."""
    with serve_fake_model() as (model, url):
        model.fallback, model.delay = planning(4), 0.4
        env = {
            **os.environ,
            "CHRONICLE_DATABASE_URL": container.settings.database_url,
            "CHRONICLE_MODEL_BASE_URL": url,
            "CHRONICLE_MODEL_NAME": "m",
            "CHRONICLE_WORKER_LEASE": "60",
            "CHRONICLE_LOG_LEVEL": "INFO",
        }
        gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=4).json()[
            "generation_id"
        ]
        worker = subprocess.Popen(
            [sys.executable, "-m", "chronicle.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_progress(http, tenant, gid)
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=20)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == 0 and "handed back" in stderr, stderr
        with container.uow() as uow:
            job = uow.generation_jobs.get(gid)
            assert job is not None and job.state == "generating" and job.lease_owner is None
        start_worker(BuiltinWriter(), lease_seconds=60)
        done = wait_for(http, tenant, gid, "completed", "failed", limit=15)
    assert done["status"] == "completed"
    with container.uow() as uow:
        job = uow.generation_jobs.get(gid)
        assert job is not None and job.attempts == 1


def wait_for_progress(http: httpx.Client, tenant: Tenant, gid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = http.get(
            f"/api/v1/presentations/generate/{gid}/status", headers=tenant.headers
        ).json()
        if status.get("progress", {}).get("slides_completed", 0) >= 1:
            return status  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the worker never made progress")


# WatchGeneration (gRPC only)


def test_watch_streams_each_change_until_the_job_completes(
    http: httpx.Client, channel: grpc.Channel, tenant: Tenant, start_worker: Any
) -> None:
    writer = GatedWriter()  # each slide waits until the watch has shown it
    start_worker(writer)
    gid = generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=4).json()[
        "generation_id"
    ]
    stream = channel.unary_stream(
        "/chronicle.v1.PresentationService/WatchGeneration",
        request_serializer=presentation_service_pb2.WatchGenerationRequest.SerializeToString,
        response_deserializer=generation_pb2.GenerationStatus.FromString,
    )
    updates = []
    for update in stream(
        presentation_service_pb2.WatchGenerationRequest(generation_id=gid),
        metadata=tenant.bearer,
        timeout=30,
    ):
        writer.saw(update.progress.current_step)
        updates.append(update)
    assert updates[0].status == "generating"
    assert updates[-1].status == "completed" and updates[-1].presentation.id
    assert all(a != b for a, b in itertools.pairwise(updates))
    done = [u.progress.slides_completed for u in updates if u.HasField("progress")]
    assert done == sorted(done) and len(set(done)) >= 3


def test_watch_needs_a_key_and_a_known_job(channel: grpc.Channel, tenant: Tenant) -> None:
    stream = channel.unary_stream(
        "/chronicle.v1.PresentationService/WatchGeneration",
        request_serializer=presentation_service_pb2.WatchGenerationRequest.SerializeToString,
        response_deserializer=generation_pb2.GenerationStatus.FromString,
    )
    request = presentation_service_pb2.WatchGenerationRequest(generation_id="gen_nope")
    with pytest.raises(grpc.RpcError) as unauthenticated:
        list(stream(request, timeout=10))
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as missing:
        list(stream(request, metadata=tenant.bearer, timeout=10))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_fifty_watchers_leave_the_thread_pool_to_writes(
    http: httpx.Client, channel: grpc.Channel, tenant: Tenant, start_worker: Any
) -> None:
    """A watch waits without holding a thread: 50 open watches (five times the RPC
    thread pool) and a stream of writes at the same time all succeed, and every watch
    then follows its job to the end."""
    gids = [
        generate(http, tenant, prompt=NOTES, non_interactive=True, section_count=2).json()[
            "generation_id"
        ]
        for _ in range(5)
    ]
    stub = presentation_service_pb2_grpc.PresentationServiceStub(channel)
    watches = [
        stub.WatchGeneration(
            presentation_service_pb2.WatchGenerationRequest(generation_id=gids[i % 5]),
            metadata=tenant.bearer,
            timeout=30,
        )
        for i in range(50)
    ]
    assert all(next(watch).status == "generating" for watch in watches)  # all 50 served
    template = stub.ListTemplates(
        presentation_service_pb2.ListTemplatesRequest(), metadata=tenant.bearer
    ).templates[0]

    def write(index: int) -> str:
        deck = stub.CreatePresentation(
            presentation_service_pb2.CreatePresentationRequest(template_id=template.id),
            metadata=tenant.bearer,
            timeout=10,
        )
        return str(
            stub.UpdatePresentation(
                presentation_service_pb2.UpdatePresentationRequest(
                    id=deck.id, title=f"Deck {index}"
                ),
                metadata=tenant.bearer,
                timeout=10,
            ).title
        )

    with ThreadPoolExecutor(8) as writers:
        assert list(writers.map(write, range(40))) == [f"Deck {i}" for i in range(40)]
    start_worker()
    assert all(list(watch)[-1].status == "completed" for watch in watches)


def test_language_and_narrative_type_show_in_the_deck(
    http: httpx.Client, tenant: Tenant, start_worker: Any
) -> None:
    from server.generation.archetypes import ARCHETYPES
    from server.generation.labels import label

    start_worker()
    gid = generate(
        http,
        tenant,
        prompt=NOTES,
        non_interactive=True,
        section_count=5,
        narrative_type="Research",
        language="ja",
        rewrite_style="Preserve",
    ).json()["generation_id"]
    deck = wait_for(http, tenant, gid, "completed", "failed")["presentation"]
    titles = [s["title"] for s in deck["sections"]]
    # NOTES names no storyline role, so its slides are titled from its own sentences (issue
    # 16: no role label over text that is not about it); the writer's own words are the
    # Research storyline's, in Japanese.
    assert len(titles) == 5
    assert titles[4] == label("ja", ARCHETYPES["Research"].closing)
    bullets = [
        i
        for s in deck["sections"]
        for b in s["blocks"]
        for i in b.get("bullet_list", {}).get("items", [])
    ]
    assert "Churn fell to 2 percent after the onboarding redesign." in bullets  # verbatim
    assert all(b in NOTES for b in bullets)  # Preserve: every bullet is the user's sentence
