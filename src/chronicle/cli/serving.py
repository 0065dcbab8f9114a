"""The serving commands: serve, serve-grpc, serve-edge, worker, migrate.

With `--processes N` above 1, this process becomes the parent of N children that share
its ports (chronicle.cli.supervisor): it migrates and prints the first start's secrets
before any child exists, then only supervises. `serve`'s children each run a gRPC server
and an edge that calls it, beside one generation worker; rate limits without Redis are
kept in a table the children share (server.shared_limits)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from chronicle.cli.wiring import container_from, settings_from
from chronicle.config import ConfigError, Settings

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from chronicle.cli.supervisor import Child, Role
    from server.container import Container
    from server.shared_limits import SharedTable

log = logging.getLogger("chronicle")


def _settings(args: argparse.Namespace) -> Settings:
    """Flags over environment, `--processes` included (parsed, and refused, as the
    setting's own parser does for CHRONICLE_PROCESSES)."""
    settings = settings_from(args)
    if getattr(args, "processes", None) is None:
        return settings
    return replace(settings, processes=Settings.load({}, processes=args.processes).processes)


def _log_to_stderr(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _prepared(settings: Settings, *, first_start: bool) -> None:
    """Migrations and built-in templates, once, by this process; with `first_start`, the
    first start's key and password printed when the database was empty."""
    from server import bootstrap
    from server.container import Container

    container = Container(settings)
    if bootstrap.prepare(container.engine, container.uow()) and first_start:
        _announce_first_start(container)
    container.engine.dispose()


def cmd_serve(args: argparse.Namespace) -> None:
    """gRPC server and REST edge on one event loop, the generation worker in a process;
    with `--processes N`, N such servers and one worker."""
    import multiprocessing

    settings = _settings(args)
    _log_to_stderr(settings)
    _prepared(settings, first_start=True)
    if settings.processes > 1:
        from chronicle.cli.supervisor import Role

        with _ports_held(settings, grpc=True, http=True) as settings:
            limits = _shared_limits(settings)
            roles = [
                Role(f"server {n}", _both_process, (settings, limits)) for n in _count(settings)
            ]
            _supervise(settings, [*roles, Role("worker", _worker_process, (settings,))])
        return
    from server.app import run_worker

    # Generation is CPU work: its own process keeps it off the servers' GIL and loop.
    worker = multiprocessing.get_context("spawn").Process(
        target=run_worker,
        args=(settings, None, os.getpid()),
        name="chronicle-worker",
        daemon=True,
    )
    worker.start()
    try:
        _both_process(settings, None, None)
    finally:
        worker.terminate()
        worker.join(timeout=10)


def _both_process(settings: Settings, limits: SharedTable | None, child: Child | None) -> None:
    """One process of `serve`: its gRPC server, and an edge calling that server alone
    (through a loopback port of its own: the shared one may lead to another process)."""
    import asyncio

    from uvicorn.loops.auto import auto_loop_factory

    from edge.app import create_app, http_server
    from server.app import settle_heap, start_grpc_server
    from server.container import Container

    _log_to_stderr(settings)
    container = Container(settings, shared_limits=limits)

    async def run() -> None:
        shared = child is not None
        grpc_server = await start_grpc_server(container, reuse_port=shared, own_port=True)
        try:
            app = create_app(settings, [f"127.0.0.1:{grpc_server.own_port}"])
            server, sock = http_server(
                app, settings, reuse_port=shared, on_started=child.ready if child else None
            )
            if child is not None:
                child.watch_parent(lambda: setattr(server, "should_exit", True))
            settle_heap()
            _after_uvicorn_stops()
            await server.serve(sockets=[sock])  # returns on SIGINT/SIGTERM, requests done
        finally:
            await grpc_server.stop()

    # The loop uvicorn runs `serve-edge` on (uvloop, installed with uvicorn[standard]): on
    # asyncio's own, this process answered no REST request in less than ~44 ms.
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(run())


def _announce_first_start(container: Container) -> None:
    from server import bootstrap

    first = bootstrap.first_start(container.uow(), container.hasher, container.password_hasher)
    base = container.settings.public_url
    # stdout, never a log line: the raw key and the password appear exactly once.
    print(
        "\n"
        "  First start: created workspace 'default' "
        f"({first.workspace_id}) and a test API key.\n"
        "  This key is shown ONCE and cannot be retrieved again. Store it now:\n\n"
        f"    {first.key.raw}\n\n"
        f"  Try it:  curl -H 'Authorization: Bearer {first.key.raw}' {base}/api/v1/templates\n\n"
        f"  Sign in at {base}/login (Settings → API makes and revokes keys) as\n"
        f"  {first.admin.record.email}, an admin. Its password is shown ONCE; store it now:\n\n"
        f"    {first.admin.generated_password}\n",
        flush=True,
    )


def cmd_serve_grpc(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _log_to_stderr(settings)
    _prepared(settings, first_start=False)
    if settings.processes == 1:
        _grpc_process(settings, None, None)
        return
    from chronicle.cli.supervisor import Role

    with _ports_held(settings, grpc=True, http=False) as settings:
        limits = _shared_limits(settings)
        _supervise(
            settings,
            [Role(f"gRPC server {n}", _grpc_process, (settings, limits)) for n in _count(settings)],
        )


def _grpc_process(settings: Settings, limits: SharedTable | None, child: Child | None) -> None:
    import asyncio

    from server.app import settle_heap, start_grpc_server
    from server.container import Container

    _log_to_stderr(settings)
    container = Container(settings, shared_limits=limits)

    async def run() -> None:
        grpc_server = await start_grpc_server(container, reuse_port=child is not None)
        settle_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if child is not None:
            child.watch_parent(lambda: loop.call_soon_threadsafe(stop.set))
            child.ready()
        await stop.wait()
        log.info("stopping gRPC server")
        await grpc_server.stop()

    asyncio.run(run())


def cmd_serve_edge(args: argparse.Namespace) -> None:
    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper())
    if not settings.grpc_targets:
        raise ConfigError("serve-edge needs --grpc-target HOST:PORT[,HOST:PORT…]")
    if settings.processes == 1:
        _edge_process(settings, None)
        return
    from chronicle.cli.supervisor import Role

    with _ports_held(settings, grpc=False, http=True) as settings:
        _supervise(
            settings, [Role(f"edge {n}", _edge_process, (settings,)) for n in _count(settings)]
        )


def _edge_process(settings: Settings, child: Child | None) -> None:
    from edge.app import create_app, http_server
    from server.app import settle_heap

    logging.basicConfig(level=settings.log_level.upper())
    app = create_app(settings, settings.grpc_targets)
    server, sock = http_server(
        app, settings, reuse_port=child is not None, on_started=child.ready if child else None
    )
    if child is not None:
        child.watch_parent(lambda: setattr(server, "should_exit", True))
    settle_heap()
    _after_uvicorn_stops()
    server.run(sockets=[sock])


def _after_uvicorn_stops() -> None:
    """uvicorn raises the signal that stopped it again once it has finished its requests:
    with the default handler, that would end the process there, killed by its SIGTERM
    (exit status 143) before the rest of it stops. Handled, the process ends normally."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)


def _worker_process(settings: Settings, child: Child) -> None:
    from server.app import run_worker

    child.ready()
    run_worker(settings, None, child.parent)


def _count(settings: Settings) -> range:
    return range(1, settings.processes + 1)


def _shared_limits(settings: Settings) -> SharedTable | None:
    """Without Redis, the table the children keep rate limits in: made by the parent, once
    for all of them and their restarts."""
    if settings.redis_url:
        return None
    from server.shared_limits import SharedTable

    return SharedTable.create()


@contextmanager
def _ports_held(settings: Settings, *, grpc: bool, http: bool) -> Iterator[Settings]:
    """The settings with the ports the children will share, held by this process until
    they have stopped (chronicle.cli.supervisor.reserve_port)."""
    from chronicle.cli.supervisor import reserve_port

    with ExitStack() as holds:
        if grpc:
            hold, port = reserve_port(settings.bind, settings.grpc_port, "gRPC")
            holds.enter_context(hold)
            settings = replace(settings, grpc_port=port)
        if http:
            hold, port = reserve_port(settings.bind, settings.http_port, "HTTP")
            holds.enter_context(hold)
            settings = replace(settings, http_port=port)
        yield settings


def _supervise(settings: Settings, roles: list[Role]) -> None:
    """Runs the children until SIGTERM or Ctrl-C; exits non-zero when they could not
    start or did not stop by themselves."""
    from chronicle.cli.supervisor import Supervisor

    # SIGTERM: an edge's requests (grace), then its gRPC server's calls (1 s + grace).
    status = Supervisor(roles, stop_seconds=2 * settings.shutdown_grace_seconds + 5).run()
    if status:
        raise SystemExit(status)


def cmd_worker(args: argparse.Namespace) -> None:
    from server.app import run_worker

    run_worker(container_from(args).settings)


def cmd_migrate(args: argparse.Namespace) -> None:
    from server import bootstrap

    container = container_from(args, prepare=False)
    bootstrap.prepare(container.engine, container.uow())
