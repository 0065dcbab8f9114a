"""Where handlers run: each step of a stream, sync or async, runs in the caller's scope."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue

from server.dispatch import Dispatcher

caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller")


def streamed(handler: object) -> list[str]:
    async def run() -> list[str]:
        scope = contextvars.copy_context()
        scope.run(caller.set, "key_a")
        with ThreadPoolExecutor(2) as pool:
            replies = Dispatcher(pool).stream(scope, handler, StringValue(), None)  # type: ignore[arg-type]
            return [reply.value async for reply in replies]  # type: ignore[attr-defined]

    return asyncio.run(run())


def test_each_step_of_an_async_stream_sees_the_caller() -> None:
    async def replies() -> AsyncIterator[Message]:
        for n in range(3):
            await asyncio.sleep(0)
            yield StringValue(value=f"{n}:{caller.get('nobody')}")

    assert streamed(lambda _request, _context: replies()) == ["0:key_a", "1:key_a", "2:key_a"]


def test_each_step_of_a_sync_stream_sees_the_caller_in_the_pool() -> None:
    def replies() -> Iterator[Message]:
        for n in range(3):
            yield StringValue(value=f"{n}:{caller.get('nobody')}")

    assert streamed(lambda _request, _context: replies()) == ["0:key_a", "1:key_a", "2:key_a"]
