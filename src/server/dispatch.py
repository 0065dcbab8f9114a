"""Where a handler runs: on the event loop, for RPCs declared cheap reads on the
embedded database, else in the thread pool, so the loop never waits on a lock or
the network. Every request is checked for NUL in its strings first (server.nul_strings)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor

import grpc
from google.protobuf.message import Message

from server.nul_strings import refuse_nul

UnaryHandler = Callable[[Message, grpc.aio.ServicerContext], Message | Awaitable[Message]]
StreamHandler = Callable[
    [Message, grpc.aio.ServicerContext], Iterator[Message] | AsyncIterator[Message]
]

_DONE = object()  # the end of a streamed reply (never a Message)


class Dispatcher:
    """Runs handlers in a given `contextvars.Context` (which holds the caller)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    async def unary(
        self,
        scope: contextvars.Context,
        inline: bool,
        handler: UnaryHandler,
        request: Message,
        context: grpc.aio.ServicerContext,
    ) -> Message:
        refuse_nul(request)
        if not inline:
            loop = asyncio.get_running_loop()
            reply = await loop.run_in_executor(self._executor, scope.run, handler, request, context)
        else:
            reply = scope.run(handler, request, context)
        if inspect.isawaitable(reply):  # an async servicer: run it in the same context
            return await asyncio.get_running_loop().create_task(_awaited(reply), context=scope)
        return reply

    async def stream(
        self,
        scope: contextvars.Context,
        handler: StreamHandler,
        request: Message,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[Message]:
        """A sync generator may wait between replies: each step runs in the pool. A
        servicer that returns an async iterator waits without a thread: each step runs on
        the loop, in `scope` too."""
        refuse_nul(request)
        replies = scope.run(handler, request, context)
        if isinstance(replies, AsyncIterator):
            loop = asyncio.get_running_loop()
            while True:
                try:
                    message = await loop.create_task(_anext(replies), context=scope)
                except StopAsyncIteration:
                    return
                yield message
        loop = asyncio.get_running_loop()
        while (
            reply := await loop.run_in_executor(self._executor, scope.run, _next, replies)
        ) is not _DONE:
            assert isinstance(reply, Message)
            yield reply


async def _anext(replies: AsyncIterator[Message]) -> Message:
    return await anext(replies)


async def _awaited(reply: Awaitable[Message]) -> Message:
    return await reply


def _next(replies: Iterator[Message]) -> Message | object:
    return next(replies, _DONE)
