"""Shared fixtures (settings on a temporary SQLite file, servers on port 0, clients) and
the markers every test gets from where it lives."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from chronicle.config import Settings
from server import bootstrap
from server.container import Container
from server.services import keys as key_service
from tests.harness import Databases, EdgeServer, GrpcServerThread, free_port, reachable
from tests.tiers import BACKENDS, Tier, tier_of
from tests.waiting import wait_until

# The scaled-out topology, one per session, shared by tests/e2e and tests/hardening.
pytest_plugins = ["tests.topology"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets exactly one tier marker, from its folder (a test outside the tier
    folders, or marked with a second tier by hand, stops the run), and the `backends`
    marker when it varies with the PostgreSQL + Redis pass."""
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: not under tests/{{{','.join(Tier)}}}/")
        item.add_marker(tier.value)
        tiers = [mark.name for mark in item.iter_markers() if mark.name in set(Tier)]
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: tiers {tiers}, exactly one expected")
        # `postgres` is where both CHRONICLE_TEST_* settings enter (settings, container,
        # database_url all depend on it); a test without it runs alike in both passes.
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(BACKENDS)


# Cheap argon2 for tests; the production defaults are exercised in test_keys.py.
FAST_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}


# The suite runs twice in CI (see .ci/run): on the embedded default (a SQLite file per
# test, limits in process), and on PostgreSQL and Redis when these name them: an admin
# URL (a fresh database is made for each test) and a Redis URL.
TEST_POSTGRES = os.environ.get("CHRONICLE_TEST_POSTGRES", "")
TEST_REDIS = os.environ.get("CHRONICLE_TEST_REDIS", "")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Databases | None]:
    if not TEST_POSTGRES:
        yield None
        return
    databases = Databases(TEST_POSTGRES)
    databases.make_template()
    yield databases
    databases.close()


def _database(tmp_path: Path, postgres: Databases | None, *, migrated: bool) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'chronicle.db'}"
        return
    name = postgres.create(migrated=migrated)
    yield postgres.url(name)
    postgres.drop(name)


@pytest.fixture
def database_url(tmp_path: Path, postgres: Databases | None) -> Iterator[str]:
    """This test's own database (on PostgreSQL: with the schema already in it)."""
    yield from _database(tmp_path, postgres, migrated=True)


@pytest.fixture
def empty_database_url(tmp_path: Path, postgres: Databases | None) -> Iterator[str]:
    """This test's own database, without any schema."""
    yield from _database(tmp_path, postgres, migrated=False)


def on_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.load(
        {},
        database_url=database_url,
        upload_dir=str(tmp_path / "uploads"),
        redis_url=TEST_REDIS or None,
        **FAST_ARGON2,
        last_used_flush_seconds=0.2,
        sqlite_busy_timeout_seconds=1.0,
    )


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    container = Container(settings)
    bootstrap.prepare(container.engine, container.uow())
    yield container
    # Its pooled connections closed now, not whenever the collector gets to them: the
    # PostgreSQL pass otherwise piles up sockets past what select() can watch.
    container.engine.dispose()


@dataclass
class Tenant:
    workspace_id: str
    key: str
    key_id: str

    @property
    def bearer(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.key}")]

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}


def make_tenant(container: Container, name: str = "acme", env: str = "live") -> Tenant:
    with container.uow() as uow:
        workspace = key_service.create_workspace(uow, name)
        issued = key_service.create_api_key(
            uow, container.hasher, workspace_id=workspace.id, environment=env, actor="test"
        )
    return Tenant(workspace.id, issued.raw, issued.record.id)


@pytest.fixture
def tenant(container: Container) -> Tenant:
    return make_tenant(container, "acme")


@pytest.fixture
def other_tenant(container: Container) -> Tenant:
    return make_tenant(container, "globex")


@pytest.fixture
def service_token(container: Container) -> str:
    with container.uow() as uow:
        _, raw = key_service.create_service_token(uow, container.hasher, "settings-page")
    return raw


@pytest.fixture
def grpc_server(container: Container) -> Iterator[GrpcServerThread]:
    server = GrpcServerThread(container, port=0).start()
    yield server
    server.stop(grace=0)


@pytest.fixture
def channel(grpc_server: GrpcServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as channel:
        yield channel


@pytest.fixture
def edge_factory(settings: Settings, grpc_server: GrpcServerThread) -> Iterator[object]:
    started: list[EdgeServer] = []

    def start(**changes: object) -> EdgeServer:
        targets = changes.pop("targets", [f"127.0.0.1:{grpc_server.port}"])
        port = int(changes.pop("port", 0))  # type: ignore[call-overload]
        server = EdgeServer(replace(settings, **changes), list(targets), port)  # type: ignore[arg-type]
        started.append(server.__enter__())
        return server

    yield start
    for server in started:
        server.__exit__()


@pytest.fixture
def edge(edge_factory: object) -> EdgeServer:
    return edge_factory()  # type: ignore[operator, no-any-return]


@pytest.fixture
def http(edge: EdgeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        yield client


SHARED_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def shared_redis() -> str:
    """The machine's Redis, which CI starts (see .ci/run): skipped only where it is absent."""
    if not reachable("127.0.0.1", 6379):
        pytest.skip("no Redis on 127.0.0.1:6379 (CI's machine starts one)")
    return SHARED_REDIS


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of the test's own, on a free port, that the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: reachable("127.0.0.1", port), what="redis-server starting")
    yield process, f"redis://127.0.0.1:{port}/0"
    if process.poll() is None:
        process.kill()
    process.wait()


@dataclass
class S3Bucket:
    """A bucket of its own on the session's S3-compatible server (moto, on loopback)."""

    endpoint_url: str
    name: str
    region: str = "us-east-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket; boto3 finds the (dummy) credentials in the standard variables."""
    import boto3  # type: ignore[import-untyped]

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = S3Bucket(moto_server, f"chronicle-{uuid.uuid4().hex[:12]}")
    boto3.client("s3", endpoint_url=moto_server, region_name=bucket.region).create_bucket(
        Bucket=bucket.name
    )
    return bucket


@pytest.fixture
def start_worker(container: Container) -> Iterator[Any]:
    """Starts generation workers (threads) on the test's database; stopped after it."""
    from server.generation.builtin import BuiltinWriter
    from server.generation.worker import Worker

    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(writer: Any = None, **options: Any) -> Worker:
        worker = Worker(container.uow, writer or BuiltinWriter(), **options)
        stop = threading.Event()
        thread = threading.Thread(target=worker.serve, args=(stop, 0.02), daemon=True)
        thread.start()
        stops.append((stop, thread))
        return worker

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(timeout=10)
