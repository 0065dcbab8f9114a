"""A writer backed by any OpenAI-compatible chat-completions server (Ollama, vLLM,
llama.cpp, hosted APIs): structured JSON answers, validated before use.

Timeouts are per request; connection failures, timeouts, 429 and 5xx are retried
with exponential backoff (tenacity); anything else fails at once. Every failure
surfaces as a ModelError whose message is fit for a job's `error` field. Token
usage is the server's own `usage.total_tokens`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryError,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from chronicle.v1.presentation_pb2 import BulletList, ContentBlock, Heading, Section
from server.generation.writer import Brief, Plan, PlannedSection, Written
from server.vocabulary import Layout

LAYOUTS = tuple(layout.value for layout in Layout)


class ModelError(Exception):
    """The model could not produce a usable answer; the message says why."""


class _Retryable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ModelSettings:
    base_url: str  # e.g. http://127.0.0.1:11434/v1
    model: str
    api_key: str = ""  # from the environment or a file, never a flag
    timeout_seconds: float = 60.0
    attempts: int = 3


class ModelWriter:
    def __init__(self, settings: ModelSettings, client: httpx.Client | None = None) -> None:
        self._settings = settings
        headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._client = client or httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=settings.timeout_seconds,
        )

    def plan(self, brief: Brief) -> Plan:
        count = f"exactly {brief.section_count}" if brief.section_count else "between 4 and 12"
        answer, tokens = self._ask(
            "You plan slide decks. Answer with JSON only: "
            '{"sections": [{"title": str, "layout": one of '
            f"{list(LAYOUTS)}, " + '"points": [str]}]}.',
            f"Plan {count} sections as a {brief.narrative_type} narrative, in the language "
            f"'{brief.language}'. First a title slide, last a closing slide. Material:\n"
            f"{brief.material}",
        )
        sections = answer.get("sections")
        if not isinstance(sections, list) or not sections:
            raise ModelError("The model's plan has no sections")
        if brief.section_count and len(sections) != brief.section_count:
            raise ModelError(
                f"The model planned {len(sections)} sections instead of {brief.section_count}"
            )
        return Plan(tuple(_planned(item) for item in sections), tokens)

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        answer, tokens = self._ask(
            'You write one slide. Answer with JSON only: {"bullets": [str], "speaker_notes": str}.',
            f"Slide title: {planned.title}\nPoints: {json.dumps(list(planned.source))}\n"
            f"Rewrite style: {brief.rewrite_style}. Language: '{brief.language}'.",
        )
        bullets = answer.get("bullets")
        notes = answer.get("speaker_notes", "")
        if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
            raise ModelError("The model's slide has no list of bullets")
        if not isinstance(notes, str):
            raise ModelError("The model's speaker notes are not text")
        section = Section(title=planned.title, layout=planned.layout, speaker_notes=notes)
        section.blocks.append(ContentBlock(heading=Heading(text=planned.title, level=1)))
        if bullets:
            section.blocks.append(ContentBlock(bullet_list=BulletList(items=bullets)))
        return Written(section, tokens)

    def _ask(self, system: str, user: str) -> tuple[dict[str, object], int]:
        """One chat completion whose content is a JSON object, and the tokens it used."""
        body: dict[str, object] = {
            "model": self._settings.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_object"},
            "temperature": 0.2,
        }
        try:
            reply = self._post_with_retries(body)
        except RetryError as exc:
            raise ModelError(str(exc.last_attempt.exception())) from None
        try:
            content = reply["choices"][0]["message"]["content"]
            tokens = int(reply.get("usage", {}).get("total_tokens", 0))
        except (KeyError, IndexError, TypeError, ValueError):
            raise ModelError("The model server's reply is not a chat completion") from None
        try:
            answer = json.loads(content)
        except (TypeError, ValueError):
            raise ModelError("The model's answer is not valid JSON") from None
        if not isinstance(answer, dict):
            raise ModelError("The model's answer is not a JSON object")
        return answer, tokens

    def _post_with_retries(self, body: dict[str, object]) -> dict[str, Any]:
        """The server's reply as parsed JSON: Any, since `_ask` reads it defensively
        (any shape it does not expect is a ModelError)."""

        @retry(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(self._settings.attempts),
            wait=wait_exponential(multiplier=0.2, max=5),
        )
        def post() -> dict[str, Any]:
            try:
                response = self._client.post("chat/completions", json=body)
            except httpx.TimeoutException:
                raise _Retryable("The model did not answer in time") from None
            except httpx.TransportError:
                raise _Retryable("The model server cannot be reached") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(f"The model server answered {response.status_code}")
            if response.status_code != 200:
                raise ModelError(f"The model server refused the request ({response.status_code})")
            try:
                reply: dict[str, Any] = response.json()
            except ValueError:
                raise ModelError("The model server's reply is not JSON") from None
            return reply

        return post()


def _planned(item: object) -> PlannedSection:
    title = item.get("title") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not isinstance(title, str):
        raise ModelError("A section of the model's plan has no title")
    points = item.get("points", [])
    if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
        raise ModelError("A section of the model's plan has points that are not text")
    layout = item.get("layout") if item.get("layout") in LAYOUTS else Layout.TITLE_AND_BODY
    return PlannedSection(title.strip(), str(layout), "model", tuple(points))
