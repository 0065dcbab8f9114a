"""Faults the scaled-out topology (tests/topology.py) survives: a worker killed mid-job,
a server SIGTERMed under load. Both held when tested from outside; kept so they hold."""

from __future__ import annotations

import json
import re
import signal
import threading
from typing import Any

import grpc

from chronicle.v1 import presentation_service_pb2
from tests.processes import Process
from tests.topology import CLIENT_SERVICE_CONFIG, GET, Topology
from tests.waiting import wait_until


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
