"""The scaled-out topology on loopback: 2 gRPC servers, 2 edges, 2 workers, one PostgreSQL,
one Redis — each a real `chronicle` process, configured by environment only.

Runs in the PostgreSQL + Redis pass of the suite (CHRONICLE_TEST_POSTGRES and
CHRONICLE_TEST_REDIS, which CI sets); the embedded pass has neither.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest

from chronicle.config import Settings
from chronicle.v1 import api_key_service_pb2, presentation_service_pb2
from server import bootstrap
from server.container import Container
from server.services import keys as key_service
from tests.conftest import FAST_ARGON2, TEST_REDIS
from tests.e2e.test_auth import call
from tests.fake_model import planning, serve_fake_model
from tests.harness import Databases, free_port
from tests.processes import GrpcServerProcess, Process, grpc_server_process, wait_healthz
from tests.waiting import wait_until

GET = "/chronicle.v1.PresentationService/GetPresentation"
LEASE_SECONDS = 2
# What a careful gRPC client configures: both servers, round robin, and retries of
# UNAVAILABLE (a server going away) as gRPC's retry policy allows.
CLIENT_SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
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


@pytest.fixture(scope="module")
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


def test_created_through_one_edge_is_read_through_the_other(topology: Topology) -> None:
    templates = topology.rest(0, "GET", "/api/v1/templates", topology.key).json()["templates"]
    created = topology.rest(
        0, "POST", "/api/v1/presentations", topology.key, json={"template_id": templates[0]["id"]}
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/presentations/{created.json()['id']}"
    for _ in range(4):  # each edge balances over both servers
        read = topology.rest(1, "GET", path, topology.key)
        assert read.status_code == 200 and read.json() == created.json()


def test_the_rate_limit_holds_across_both_edges(topology: Topology) -> None:
    key, _ = topology.new_key("10/minute")
    codes = [topology.rest(n % 2, "GET", "/api/v1/templates", key).status_code for n in range(24)]
    assert codes.count(200) == 10, codes
    assert set(codes) == {200, 429}


def test_a_revoke_through_one_server_is_refused_through_both_edges_within_1s(
    topology: Topology,
) -> None:
    key, key_id = topology.new_key()
    for edge in (0, 1):
        for _ in range(2):  # both servers have the status cached
            assert topology.rest(edge, "GET", "/api/v1/templates", key).status_code == 200
    with grpc.insecure_channel(topology.servers[0].target) as channel:
        revoked = call(
            channel,
            "/chronicle.v1.ApiKeyService/RevokeApiKey",
            api_key_service_pb2.RevokeApiKeyRequest(id=key_id),
            [("authorization", f"Bearer {topology.service_token}")],
        )
    assert not isinstance(revoked, grpc.RpcError), revoked
    started = time.monotonic()
    pending = {(edge, attempt) for edge in (0, 1) for attempt in (0, 1)}
    while pending and time.monotonic() - started < 3:
        for edge, attempt in sorted(pending):
            answer = topology.rest(edge, "GET", "/api/v1/templates", key)
            if answer.status_code == 401:
                assert answer.json()["error"]["code"] == "API_KEY_REVOKED"
                pending.discard((edge, attempt))
    assert not pending and time.monotonic() - started < 1.0


def test_a_killed_worker_s_job_is_finished_by_the_other(topology: Topology) -> None:
    prompt = "Quarterly review: revenue, churn, hiring and the launch in Spain next quarter."
    body = {"prompt": prompt, "non_interactive": True, "section_count": 6}
    gid = topology.rest(
        0, "POST", "/api/v1/presentations/generate", topology.key, json=body
    ).json()["generation_id"]
    holder = _holder(topology, gid)
    owners = {w.name: _owner(w) for w in topology.workers}
    victim = next(w for w in topology.workers if owners[w.name] == holder)
    victim.signal(signal.SIGKILL)
    statuses: list[dict[str, Any]] = []

    def finished() -> bool:
        statuses.append(
            topology.rest(
                1, "GET", f"/api/v1/presentations/generate/{gid}/status", topology.key
            ).json()
        )
        return statuses[-1]["status"] in ("completed", "failed")

    wait_until(finished, 30, what=lambda: f"the job finishing: {statuses[-1]}", interval=0.1)
    status = statuses[-1]
    assert status["status"] == "completed", status
    with topology.container.uow() as uow:
        job = uow.generation_jobs.get(gid)
        assert job is not None and job.attempts == 2  # the victim's, then the survivor's
    # The survivor is the other worker; restart the victim for the tests that follow.
    victim.start()
    victim.wait_for_log(r"generation worker wrk_\w+ started")


def _holder(topology: Topology, gid: str) -> str:
    owners: list[str] = []

    def taken() -> bool:
        with topology.container.uow() as uow:
            job = uow.generation_jobs.get(gid)
            if job is not None and job.lease_owner and job.slides_completed >= 1:
                owners.append(job.lease_owner)
        return bool(owners)

    wait_until(taken, 20, what="a worker taking the job", interval=0.05)
    return owners[0]


def _owner(worker: Process) -> str:
    found = re.findall(r"generation worker (wrk_\w+) started", worker.output())
    assert found, worker.output()
    return str(found[-1])


def test_sigterm_of_a_server_under_load_fails_no_request(topology: Topology) -> None:
    """Clients with gRPC's retry policy, and REST clients through the edges, while one
    server drains and exits: every request answered, none failed."""
    created = topology.rest(
        0,
        "POST",
        "/api/v1/presentations",
        topology.key,
        json={
            "template_id": topology.rest(0, "GET", "/api/v1/templates", topology.key).json()[
                "templates"
            ][0]["id"]
        },
    ).json()
    key, _ = topology.new_key("1000000/minute")
    request = presentation_service_pb2.GetPresentationRequest(id=created["id"])
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(CLIENT_SERVICE_CONFIG)),
    ]
    target = "ipv4:" + ",".join(s.target for s in topology.servers)
    failures: list[str] = []
    counts = {"grpc": 0, "rest": 0}
    stop = threading.Event()

    def grpc_client() -> None:
        with grpc.insecure_channel(target, options=options) as channel:
            get = channel.unary_unary(
                GET,
                request_serializer=type(request).SerializeToString,
                response_deserializer=lambda b: b,
            )
            while not stop.is_set():
                try:
                    get(request, metadata=[("x-api-key", key)], timeout=10)
                    counts["grpc"] += 1
                except grpc.RpcError as exc:
                    failures.append(f"gRPC {exc.code().name}: {exc.details()}")

    def rest_client(edge: int) -> None:
        while not stop.is_set():
            answer = topology.rest(edge, "GET", f"/api/v1/presentations/{created['id']}", key)
            counts["rest"] += 1
            if answer.status_code != 200:
                failures.append(f"REST {answer.status_code}: {answer.text}")

    threads = [threading.Thread(target=grpc_client) for _ in range(4)]
    threads += [threading.Thread(target=rest_client, args=(n % 2,)) for n in range(4)]

    def served_at_least(n: int) -> bool:
        return counts["grpc"] >= n and counts["rest"] >= n

    # Waits for load, not for a fixed time: on a busy machine a second may hold few calls.
    for thread in threads:
        thread.start()
    wait_until(lambda: served_at_least(30), 30, what=lambda: f"load before SIGTERM: {counts}")
    stopping = topology.servers[0]
    stopping.signal(signal.SIGTERM)
    exit_status = stopping.stop(timeout=15)
    after_exit = min(counts.values())
    wait_until(  # load on the survivor alone
        lambda: served_at_least(after_exit + 25), 30, what=lambda: f"load after exit: {counts}"
    )
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert exit_status == 0, stopping.output()
    assert failures == [], failures[:5]
    assert counts["grpc"] > 50 and counts["rest"] > 50, counts
