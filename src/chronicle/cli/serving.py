"""The serving commands: serve, serve-grpc, serve-edge, worker, migrate."""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING

from chronicle.cli.wiring import container_from, settings_from
from chronicle.config import ConfigError

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from server.container import Container

log = logging.getLogger("chronicle")


def cmd_serve(args: argparse.Namespace) -> None:
    """gRPC server and REST edge on one event loop, the generation worker in a process."""
    import asyncio
    import multiprocessing

    from edge.app import create_app, http_server
    from server import bootstrap
    from server.app import run_worker, settle_heap, start_grpc_server

    container = container_from(args, prepare=False)
    if bootstrap.prepare(container.engine, container.uow()):
        _announce_first_start(container)
    settings = container.settings

    async def run() -> None:
        grpc_server = await start_grpc_server(container)
        try:
            app = create_app(settings, [f"127.0.0.1:{grpc_server.port}"])
            server, sock = http_server(app, settings)
            settle_heap()
            await server.serve(sockets=[sock])  # returns on SIGINT/SIGTERM
        finally:
            await grpc_server.stop()

    # Generation is CPU work: its own process keeps it off the servers' GIL and loop.
    worker = multiprocessing.get_context("spawn").Process(
        target=run_worker,
        args=(settings, None, os.getpid()),
        name="chronicle-worker",
        daemon=True,
    )
    worker.start()
    try:
        asyncio.run(run())
    finally:
        worker.terminate()
        worker.join(timeout=10)


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
    import asyncio
    import signal

    from server import bootstrap
    from server.app import settle_heap, start_grpc_server

    container = container_from(args, prepare=False)
    bootstrap.prepare(container.engine, container.uow())

    async def run() -> None:
        grpc_server = await start_grpc_server(container)
        settle_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping gRPC server")
        await grpc_server.stop()

    asyncio.run(run())


def cmd_serve_edge(args: argparse.Namespace) -> None:

    from edge.app import create_app, http_server
    from server.app import settle_heap

    settings = settings_from(args)
    logging.basicConfig(level=settings.log_level.upper())
    if not settings.grpc_targets:
        raise ConfigError("serve-edge needs --grpc-target HOST:PORT[,HOST:PORT…]")
    app = create_app(settings, settings.grpc_targets)
    server, sock = http_server(app, settings)
    settle_heap()
    server.run(sockets=[sock])


def cmd_worker(args: argparse.Namespace) -> None:
    from server.app import run_worker

    run_worker(container_from(args).settings)


def cmd_migrate(args: argparse.Namespace) -> None:
    from server import bootstrap

    container = container_from(args, prepare=False)
    bootstrap.prepare(container.engine, container.uow())
