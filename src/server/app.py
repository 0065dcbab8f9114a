"""The gRPC server and the worker, assembled from a Container."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from chronicle import contract
from chronicle.config import Settings
from chronicle.v1 import (
    api_key_service_pb2_grpc,
    identity_service_pb2_grpc,
    presentation_service_pb2_grpc,
    session_service_pb2_grpc,
    viewer_service_pb2_grpc,
)
from server.container import Container
from server.generation.builtin import BuiltinWriter
from server.generation.model import ModelSettings, ModelWriter
from server.generation.worker import Worker
from server.generation.writer import Writer
from server.idempotency import Idempotency
from server.interceptor import ChronicleInterceptor
from server.servicers.identity import IdentityServicer
from server.servicers.keys import ApiKeyServicer
from server.servicers.presentations import PresentationServicer
from server.servicers.sessions import SessionServicer
from server.servicers.viewer import ViewerServicer

log = logging.getLogger(__name__)


def runs_inline(settings: Settings) -> Callable[[str], bool]:
    """Which RPCs run on the event loop: those the protos declare cheap reads, on the
    embedded database only; on a networked one every RPC runs in the thread pool."""
    if not settings.database_url.startswith("sqlite"):
        return lambda _method: False
    return contract.cheap_reads().__contains__


def make_writer(settings: Settings) -> Writer:
    """The built-in writer, or the model writer when a model server is configured."""
    if settings.model_base_url:
        return ModelWriter(
            ModelSettings(
                base_url=settings.model_base_url,
                model=settings.model_name,
                api_key=settings.model_api_key,
                timeout_seconds=settings.model_timeout_seconds,
            )
        )
    return BuiltinWriter()


def make_worker(container: Container) -> Worker:
    s = container.settings
    return Worker(
        container.uow,
        make_writer(s),
        lease_seconds=s.worker_lease_seconds,
        job_timeout_seconds=s.job_timeout_seconds,
        store=container.store,
    )


def run_worker(
    settings: Settings, stop: threading.Event | None = None, parent: int | None = None
) -> None:
    """A worker loop until `stop` is set (or forever): `chronicle worker`, and the worker
    process that `chronicle serve` starts beside the servers (`parent`: its pid; the
    worker stops when that process is gone, however it ended)."""
    if stop is None:  # a process of its own: stop cleanly on SIGTERM or Ctrl-C
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    if parent is not None:
        threading.Thread(target=_stop_without, args=(parent, stop), daemon=True).start()
    logging.basicConfig(level=settings.log_level)
    container = Container(settings)
    worker = make_worker(container)
    log.info("generation worker %s started", worker.owner)
    worker.serve(stop)


def _stop_without(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:  # re-parented: the process that started us is gone
            log.warning("the serving process is gone; the worker stops")
            stop.set()


# How long a stopping server refuses new calls (UNAVAILABLE, retried elsewhere) before
# it closes its listener: long enough for clients to notice and move on.
DRAIN_SECONDS = 1.0


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int
    container: Container
    executors: tuple[ThreadPoolExecutor, ...]

    health: health.aio.HealthServicer | None = None
    interceptor: ChronicleInterceptor | None = None
    # With `own_port`: a loopback port of this process alone, for the edge beside it.
    own_port: int | None = None

    async def stop(self, grace: float | None = None) -> None:
        """Graceful: health checks answer NOT_SERVING and new calls are refused with
        UNAVAILABLE (clients retry them elsewhere) for DRAIN_SECONDS, while clients move
        away; then the listener closes and calls in flight get `grace` seconds (default
        CHRONICLE_SHUTDOWN_GRACE) to finish. With `grace` 0 (tests), at once."""
        if grace is None:
            grace = self.container.settings.shutdown_grace_seconds
        if self.health is not None:
            await self.health.enter_graceful_shutdown()
        if self.interceptor is not None and grace > 0:
            self.interceptor.drain()
            await asyncio.sleep(min(DRAIN_SECONDS, grace))
        await self.server.stop(grace)
        for executor in self.executors:
            executor.shutdown(wait=False, cancel_futures=True)
        self.container.usage.stop()
        self.container.key_status.stop()
        if "exports" in vars(self.container):  # started only by an export
            self.container.exports.shutdown()


async def start_grpc_server(
    container: Container,
    *,
    port: int | None = None,
    reuse_port: bool = False,
    own_port: bool = False,
) -> GrpcServer:
    """`reuse_port`: the port is shared with the other server processes of
    `--processes N` (SO_REUSEPORT: the kernel spreads connections over them); else a port
    in use is an error. `own_port`: a loopback port too, of this process alone, for the
    edge beside it (the shared port may lead it to another process)."""
    settings = container.settings
    executor = ThreadPoolExecutor(settings.grpc_threads, thread_name_prefix="grpc-blocking")
    # argon2 is CPU-bound: more threads than usable cores would only queue in the kernel.
    # Not at a lower priority: a niced thread preempted holding the GIL stalls the loop.
    verifier = ThreadPoolExecutor(len(os.sched_getaffinity(0)), thread_name_prefix="argon2")
    interceptor = ChronicleInterceptor(
        container.authenticator,
        executor=executor,
        runs_inline=runs_inline(settings),
        verifier=verifier,
        limiter=container.limiter,
        default_rate=settings.rate_limit,
        trusted_proxies=settings.trusted_proxies,
        idempotency=Idempotency(container.uow, executor),
    )
    server = grpc.aio.server(
        interceptors=[interceptor],
        options=[("grpc.so_reuseport", int(reuse_port))],
    )
    presentation_service_pb2_grpc.add_PresentationServiceServicer_to_server(
        PresentationServicer(
            container.uow,
            settings.app_url,
            store=container.store,
            render=container.exports.render,
        ),
        server,
    )
    api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server(
        ApiKeyServicer(container.uow, container.hasher, container.key_changed), server
    )
    identity_service_pb2_grpc.add_IdentityServiceServicer_to_server(
        IdentityServicer(settings.rate_limit, container.uow), server
    )
    viewer_service_pb2_grpc.add_ViewerServiceServicer_to_server(
        ViewerServicer(container.uow, settings.app_url, container.store, container.exports.render),
        server,
    )
    session_service_pb2_grpc.add_SessionServiceServicer_to_server(
        SessionServicer(
            container.uow,
            container.password_hasher,
            container.key_changed,
            idle=timedelta(seconds=settings.session_idle_seconds),
            lifetime=timedelta(seconds=settings.session_max_seconds),
            failures_per_client=settings.failed_verifications,
            trusted_proxies=settings.trusted_proxies,
        ),
        server,
    )

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [s.full_name for s in contract.SERVICES]
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )

    address = f"{settings.bind}:{settings.grpc_port if port is None else port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:  # grpc's way of saying the port is taken or not ours
        raise OSError(f"cannot listen for gRPC on {address}: in use or not allowed") from None
    local = server.add_insecure_port("127.0.0.1:0") if own_port else None
    await server.start()
    container.usage.start()
    container.key_status.listen(container.authenticator)
    log.info("gRPC server listening on %s:%d", settings.bind, bound)
    return GrpcServer(
        server, bound, container, (executor, verifier), health_servicer, interceptor, local
    )


def settle_heap() -> None:
    """Once a server process has started: what is alive now (modules, descriptors, pools)
    lives as long as the process, so collect once and move it out of the collector's
    sight; full collections then scan only what requests allocate."""
    gc.collect()
    gc.freeze()
