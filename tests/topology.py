"""The scaled-out topology on loopback: 2 gRPC servers, 2 edges, 2 workers, one PostgreSQL,
one Redis — each a real `chronicle` process, configured by environment only.

One per session (tests/conftest.py registers the fixture): the e2e tests use it first,
then tests/hardening/test_process_faults.py kills parts of it. It exists only in the
PostgreSQL + Redis pass (CHRONICLE_TEST_POSTGRES and CHRONICLE_TEST_REDIS, which CI sets).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chronicle.config import Settings
from server import bootstrap
from server.container import Container
from server.services import keys as key_service
from tests.conftest import FAST_ARGON2, TEST_REDIS
from tests.fake_model import planning, serve_fake_model
from tests.harness import Databases, free_port
from tests.processes import GrpcServerProcess, Process, grpc_server_process, wait_healthz

GET = "/chronicle.v1.PresentationService/GetPresentation"
LEASE_SECONDS = 2
# What a careful gRPC client configures: both servers, round robin, client-side health
# checking (a draining server answers NOT_SERVING: no new call is sent to it, so none is
# left unaccepted when it stops, which gRPC ends as CANCELLED), and retries of
# UNAVAILABLE (a server going away) as gRPC's retry policy allows.
CLIENT_SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [
        {
            "name": [{"service": "chronicle.v1.PresentationService"}],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}


@dataclass
class Topology:
    database_url: str
    servers: list[GrpcServerProcess]
    edges: list[Process]
    edge_urls: list[str]
    workers: list[Process]
    workspace_id: str
    key: str
    service_token: str
    container: Container
    model: Any
    env: dict[str, str] = field(default_factory=dict)

    def new_key(self, rate_limit: str | None = None) -> tuple[str, str]:
        with self.container.uow() as uow:
            issued = key_service.create_api_key(
                uow,
                self.container.hasher,
                workspace_id=self.workspace_id,
                rate_limit=rate_limit,
                actor="test",
            )
        return issued.raw, issued.record.id

    def rest(self, edge: int, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            self.edge_urls[edge] + path,
            timeout=30,
            headers={"authorization": f"Bearer {key}"},
            **kwargs,
        )


@pytest.fixture(scope="session")
def topology(
    postgres: Databases | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    if postgres is None or not TEST_REDIS:
        pytest.skip("runs in the PostgreSQL + Redis pass (CHRONICLE_TEST_POSTGRES/_REDIS)")
    directory = tmp_path_factory.mktemp("scale-out")
    name = postgres.create(migrated=True)
    url = postgres.url(name)
    container = Container(Settings.load({}, database_url=url, **FAST_ARGON2))  # type: ignore[arg-type]
    bootstrap.prepare(container.engine, container.uow())
    with container.uow() as uow:
        workspace = key_service.create_workspace(uow, "scale")
        key = key_service.create_api_key(
            uow, container.hasher, workspace_id=workspace.id, actor="test"
        ).raw
        _, token = key_service.create_service_token(uow, container.hasher, "ops")
    with serve_fake_model() as (model, model_url):
        model.fallback, model.delay = planning(6), 0.3
        env = {
            "CHRONICLE_DATABASE_URL": url,
            "CHRONICLE_REDIS_URL": TEST_REDIS,
            "CHRONICLE_REDIS_TIMEOUT": "1",
            "CHRONICLE_LOG_LEVEL": "INFO",
            "CHRONICLE_SHUTDOWN_GRACE": "5",
        }
        servers = [
            grpc_server_process(f"server{n}", directory, url, free_port(), **env) for n in range(2)
        ]
        for server in servers:
            server.wait_serving()
        targets = ",".join(s.target for s in servers)
        ports = [free_port() for _ in range(2)]
        edges = [
            Process(
                f"edge{n}",
                ["serve-edge", "--grpc-target", targets, "--http-port", str(port)],
                directory,
                env,
            ).start()
            for n, port in enumerate(ports)
        ]
        worker_env = {
            **env,
            "CHRONICLE_MODEL_BASE_URL": model_url,
            "CHRONICLE_MODEL_NAME": "m",
            "CHRONICLE_WORKER_LEASE": str(LEASE_SECONDS),
        }
        workers = [
            Process(f"worker{n}", ["worker"], directory, worker_env).start() for n in range(2)
        ]
        edge_urls = [f"http://127.0.0.1:{port}" for port in ports]
        for edge, edge_url in zip(edges, edge_urls, strict=True):
            wait_healthz(edge_url, edge.check_alive, edge.output)
        for worker in workers:
            worker.wait_for_log(r"generation worker wrk_\w+ started")
        yield Topology(
            url, servers, edges, edge_urls, workers, workspace.id, key, token, container, model, env
        )
        for process in [*edges, *servers, *workers]:
            process.stop()
    container.engine.dispose()
    postgres.drop(name)
