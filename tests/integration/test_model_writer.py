"""The model writer against a small fake chat-completions server over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from server.generation.model import ModelError, ModelSettings, ModelWriter
from server.generation.writer import Brief, PlannedSection
from tests.fake_model import FakeModel, serve_fake_model


@pytest.fixture
def fake() -> Iterator[tuple[FakeModel, str]]:
    with serve_fake_model() as served:
        yield served


BRIEF = Brief("Otters", "Otters need clean rivers. We rescue them.", "Pitch", "Subtle", 3, "fr")
PLAN = {
    "sections": [
        {"title": "Loutres", "layout": "title", "points": ["Otters need clean rivers"]},
        {"title": "Le problème", "layout": "title_and_body", "points": ["Rivers are dirty"]},
        {"title": "Merci", "layout": "closing", "points": []},
    ]
}


def writer(url: str, **changes: Any) -> ModelWriter:
    settings = {
        "base_url": url,
        "model": "tiny",
        "api_key": "sk-test",
        "timeout_seconds": 2.0,
        "attempts": 3,
        **changes,
    }
    return ModelWriter(ModelSettings(**settings))


def test_plans_and_writes_from_structured_answers(fake: tuple[FakeModel, str]) -> None:
    model, url = fake
    model.reply(json.dumps(PLAN), tokens=100)
    model.reply(
        json.dumps({"bullets": ["Les rivières sont sales"], "speaker_notes": "Dites-le."}),
        tokens=30,
    )
    w = writer(url)
    plan = w.plan(BRIEF)
    planned = plan.sections
    assert [(p.title, p.layout) for p in planned] == [
        ("Loutres", "title"),
        ("Le problème", "title_and_body"),
        ("Merci", "closing"),
    ]
    written = w.write(BRIEF, planned[1])
    assert list(written.section.blocks[1].bullet_list.items) == ["Les rivières sont sales"]
    assert written.section.speaker_notes == "Dites-le."
    assert written.tokens == 30 and plan.tokens == 100  # 130 for the two calls
    request = model.requests[0]
    assert request["model"] == "tiny" and request["response_format"] == {"type": "json_object"}
    assert "Otters need clean rivers" in request["messages"][1]["content"]
    assert model.auth[0] == "Bearer sk-test"


def test_server_errors_are_retried_with_backoff(fake: tuple[FakeModel, str]) -> None:
    model, url = fake
    model.script.append((503, {}))
    model.script.append((429, {}))
    model.reply(json.dumps(PLAN))
    assert len(writer(url).plan(BRIEF).sections) == 3
    assert len(model.requests) == 3


def test_a_timeout_becomes_a_readable_error_after_the_retries(
    fake: tuple[FakeModel, str],
) -> None:
    model, url = fake
    for _ in range(2):
        model.script.append((0, 1.5))
    with pytest.raises(ModelError, match="did not answer in time"):
        writer(url, timeout_seconds=0.5, attempts=2).plan(BRIEF)
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"sections": []}), "no sections"),
        (json.dumps({"sections": [{"layout": "title"}] * 3}), "no title"),
        (json.dumps({"sections": PLAN["sections"][:2]}), "planned 2 sections instead of 3"),
        (json.dumps({"sections": [{"title": "x", "points": [1]}] * 3}), "not text"),
    ],
)
def test_malformed_answers_are_refused_before_use(
    fake: tuple[FakeModel, str], content: str, message: str
) -> None:
    model, url = fake
    model.reply(content)
    with pytest.raises(ModelError, match=message):
        writer(url).plan(BRIEF)


def test_a_client_error_is_not_retried(fake: tuple[FakeModel, str]) -> None:
    model, url = fake
    model.script.append((400, {"error": "bad"}))
    with pytest.raises(ModelError, match="refused the request"):
        writer(url).plan(BRIEF)
    assert len(model.requests) == 1


def test_an_unreachable_server_is_a_readable_error() -> None:
    from tests.harness import free_port

    with pytest.raises(ModelError, match="cannot be reached"):
        writer(f"http://127.0.0.1:{free_port()}/v1", attempts=2).plan(BRIEF)


def test_slides_with_bad_bullets_are_refused(fake: tuple[FakeModel, str]) -> None:
    model, url = fake
    model.reply(json.dumps({"bullets": "not a list", "speaker_notes": ""}))
    planned = PlannedSection("T", "title_and_body", "model", ("a",))
    with pytest.raises(ModelError, match="no list of bullets"):
        writer(url).write(BRIEF, planned)
