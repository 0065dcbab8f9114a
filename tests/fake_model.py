"""A small OpenAI-compatible chat-completions server for tests, over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeModel:
    """Answers from a script: each entry is (status, payload), status 0 meaning "sleep
    payload seconds, then answer 200 with nothing". With the script empty, `fallback`
    (when set) builds the answer from the request."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.fallback: Callable[[dict[str, Any]], tuple[int, Any]] | None = None
        self.delay = 0.0

    def reply(self, content: Any, tokens: int = 42) -> None:
        self.script.append((200, completion(content, tokens)))


def completion(content: Any, tokens: int = 42) -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"total_tokens": tokens},
    }


def planning(
    sections: int, plan_tokens: int = 42, slide_tokens: int = 42
) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """A `fallback` that plans `sections` slides, then writes each with one bullet; each
    answer reports the given token usage."""

    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        if "You plan" in request["messages"][0]["content"]:
            planned = [
                {"title": f"Part {i}", "layout": "title_and_body", "points": ["p"]}
                for i in range(sections)
            ]
            return 200, completion(json.dumps({"sections": planned}), plan_tokens)
        slide = {"bullets": ["b"], "speaker_notes": "n"}
        return 200, completion(json.dumps(slide), slide_tokens)

    return answer


@contextmanager
def serve_fake_model() -> Iterator[tuple[FakeModel, str]]:
    model = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            request = json.loads(self.rfile.read(length))
            model.requests.append(request)
            model.auth.append(self.headers.get("authorization"))
            time.sleep(model.delay)
            if model.script:
                status, payload = model.script.pop(0)
            elif model.fallback is not None:
                status, payload = model.fallback(request)
            else:
                status, payload = 500, {}
            if status == 0:  # a slow answer
                time.sleep(payload)
                status, payload = 200, {}
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield model, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
