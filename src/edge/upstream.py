"""gRPC channels from the edge to one or more servers, used round-robin."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chronicle import contract
from edge.transcode import Route

Metadata = tuple[tuple[str, str | bytes], ...]


# A read may be tried again whenever the transport, not our service, ended the call: a
# connection closing under it can end as any of these.
_LOST = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }
)


# Client-side health checking: a server draining for shutdown answers NOT_SERVING, and
# its channel then fails calls at once with UNAVAILABLE, which `call` sends to the next
# server, writes included. Without it a call could reach the server as it stops and be
# ended CANCELLED unaccepted (grpc/grpc#41785). Health checking needs round_robin.
_CHANNEL_OPTIONS = (
    (
        "grpc.service_config",
        json.dumps(
            {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
        ),
    ),
)


def _not_served(exc: grpc.aio.AioRpcError, read: bool) -> bool:
    """Whether another server may take the call: UNAVAILABLE from the transport or a
    server refusing calls (for a read, any way a closing connection ends a call), never
    our service's own answers (a busy database's 503, say), which carry status details."""
    details = any(key == "grpc-status-details-bin" for key, _ in exc.trailing_metadata() or ())
    codes = _LOST if read else {grpc.StatusCode.UNAVAILABLE}
    return exc.code() in codes and not details


def rpc(module: Any, service: str, name: str) -> descriptor.MethodDescriptor:
    """An RPC's descriptor, from its generated module."""
    method: descriptor.MethodDescriptor = module.DESCRIPTOR.services_by_name[
        service
    ].methods_by_name[name]
    return method


def reads_only(method: descriptor.MethodDescriptor) -> bool:
    """Whether `method` changes nothing (by its standard name), so a call a closing
    connection ended may be tried again on another server."""
    return method.name.startswith(("Get", "List", "Export"))


class Upstream:
    def __init__(self, targets: Sequence[str], timeout: float) -> None:
        if not targets:
            raise ValueError("at least one gRPC target is required")
        self._targets = tuple(targets)
        self._timeout = timeout
        self._channels: list[grpc.aio.Channel] = []
        self._next: itertools.cycle[int] | None = None
        self._calls: dict[tuple[int, str], grpc.aio.UnaryUnaryMultiCallable] = {}

    async def open(self) -> None:
        # Channels belong to the event loop they are made on: make them at start-up.
        self._channels = [
            grpc.aio.insecure_channel(t, options=_CHANNEL_OPTIONS) for t in self._targets
        ]
        self._next = itertools.cycle(range(len(self._channels)))

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        self._channels = []
        self._calls.clear()

    def _pick(self) -> int:
        assert self._next is not None, "Upstream.open() was not awaited"
        return next(self._next)

    async def call(
        self, route: Route, request: Message, metadata: Sequence[tuple[str, str]]
    ) -> tuple[Message, Metadata]:
        """The reply and the server's trailing metadata (RateLimit-* travel there)."""
        read = route.binding.verb == "GET"
        return await self.unary(route.binding.method, request, metadata, read=read)

    async def unary(
        self,
        method: descriptor.MethodDescriptor,
        request: Message,
        metadata: Sequence[tuple[str, str]],
        *,
        read: bool,
    ) -> tuple[Message, Metadata]:
        """`method` called with `request`: its reply and the server's trailing metadata.

        A call no server took (UNAVAILABLE: a server stopping, restarting or gone) is
        tried on the next target, each at most once: a server shutting down refuses new
        calls before doing anything, so a retry cannot apply a write twice. `read`: the
        call changes nothing, so any way a closing connection ends it may be retried."""
        first = self._pick()
        for attempt in range(len(self._channels)):
            index = (first + attempt) % len(self._channels)
            try:
                return await self._call_one(index, method, request, metadata)
            except grpc.aio.AioRpcError as exc:
                if not _not_served(exc, read) or attempt + 1 == len(self._channels):
                    raise
        raise AssertionError("unreachable")

    async def _call_one(
        self,
        index: int,
        method: descriptor.MethodDescriptor,
        request: Message,
        metadata: Sequence[tuple[str, str]],
    ) -> tuple[Message, Metadata]:
        name = contract.full_method_name(method)
        call = self._calls.get((index, name))
        if call is None:
            call = self._channels[index].unary_unary(
                name,
                request_serializer=type(request).SerializeToString,
                response_deserializer=message_factory.GetMessageClass(
                    method.output_type
                ).FromString,
            )
            self._calls[(index, name)] = call
        pending = call(request, metadata=tuple(metadata), timeout=self._timeout)
        response: Message = await pending
        return response, tuple(await pending.trailing_metadata() or ())

    def stream(
        self,
        method: descriptor.MethodDescriptor,
        request: Message,
        metadata: Sequence[tuple[str, str]],
        timeout: float,
    ) -> grpc.aio.UnaryStreamCall:
        """A server-streaming call of `method` (not retried: a watch the caller re-opens)."""
        index = self._pick()
        call = self._channels[index].unary_stream(
            contract.full_method_name(method),
            request_serializer=type(request).SerializeToString,
            response_deserializer=message_factory.GetMessageClass(method.output_type).FromString,
        )
        return call(request, metadata=tuple(metadata), timeout=timeout)

    async def healthy(self) -> bool:
        """True when at least one server answers the standard health check with SERVING."""
        for channel in self._channels:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1.0
                )
            except grpc.aio.AioRpcError:
                continue
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return True
        return False
