"""In-process servers and fresh databases for tests: the gRPC server and the edge on
port 0 in threads of their own, PostgreSQL databases cloned from a migrated template."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from dataclasses import replace

import sqlalchemy

from chronicle.config import Settings
from edge.app import create_app, http_server
from server import bootstrap
from server.app import GrpcServer, start_grpc_server
from server.container import Container
from tests.waiting import wait_until


class GrpcServerThread:
    """The aio server on an event loop of its own, in a thread, so the test's thread
    stays free to call it."""

    def __init__(self, container: Container, *, port: int | None = None) -> None:
        self._container = container
        self._requested_port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="grpc-loop", daemon=True
        )
        self._server: GrpcServer | None = None

    def start(self) -> GrpcServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_grpc_server(self._container, port=self._requested_port), self._loop
        )
        self._server = future.result(timeout=30)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    @property
    def container(self) -> Container:
        return self._container

    def stop(self, grace: float | None = 5.0) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class EdgeServer:
    """The edge's HTTP server (edge.app.http_server) on a free port, in a thread with its
    own event loop."""

    def __init__(self, settings: Settings, targets: list[str], port: int = 0) -> None:
        # uvicorn's own logs at WARNING: a test that reads the access log raises the level.
        local = replace(settings, bind="127.0.0.1", http_port=port, log_level="WARNING")
        self.server, sock = http_server(create_app(local, targets), local)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True
        )

    def __enter__(self) -> EdgeServer:
        self.thread.start()
        wait_until(lambda: self.server.started, what="the edge starting")
        self.port = int(self.server.servers[0].sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Databases:
    """Fresh PostgreSQL databases, cloned from a migrated template (a clone takes ~0.1 s,
    a migration ~1 s), dropped after each test."""

    def __init__(self, admin_url: str) -> None:
        # One template per test session: two sessions on one server keep apart.
        self.TEMPLATE = f"chronicle_test_template_{uuid.uuid4().hex[:8]}"
        self._admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._base = sqlalchemy.make_url(admin_url)

    def url(self, name: str) -> str:
        return self._base.set(database=name).render_as_string(hide_password=False)

    def _run(self, sql: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(sqlalchemy.text(sql))

    def make_template(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.TEMPLATE}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{self.TEMPLATE}"')
        container = Container(Settings.load({}, database_url=self.url(self.TEMPLATE)))
        bootstrap.prepare(container.engine, container.uow())
        container.engine.dispose()

    def create(self, *, migrated: bool) -> str:
        name = f"chronicle_test_{uuid.uuid4().hex[:16]}"
        template = self.TEMPLATE if migrated else "template0"
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop(self.TEMPLATE)
        self._admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
