"""`--processes 2`: one parent, two server processes sharing each port (SO_REUSEPORT), on
the embedded default (a SQLite file, no Redis). Which process answered a connection is
read from /proc: the process that holds the server's end of it.

One `chronicle serve --processes 2` on an empty database serves the module (first start,
both ports, exact limits, revocation); the drain and the crash get processes of their own.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chronicle.cli.supervisor import Child, Role, Supervisor
from chronicle.config import RateLimit, Settings
from chronicle.v1 import api_key_service_pb2, identity_service_pb2
from server.container import Container
from server.services import keys as key_service
from server.shared_limits import WAYS, SharedTable
from tests.conftest import FAST_ARGON2
from tests.e2e.test_auth import GET_CALLER, call, reason_of
from tests.harness import free_port
from tests.processes import Process
from tests.waiting import wait_until

SERVING = r"\d+ processes serving"
KEY = re.compile(r"chr_test_[0-9A-Za-z]+_[0-9A-Za-z]+")
PASSWORD = re.compile(r"^\s*([0-9a-z]{4}(?:-[0-9a-z]{4}){6})\s*$", re.MULTILINE)
LISTEN, ESTABLISHED = "0A", "01"
# A new TCP connection reaches one of two listeners with even odds: this many find both.
CONNECTIONS = 40


# Who holds which socket, from /proc


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    state: str
    inode: int


def tcp_sockets() -> list[TcpSocket]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
            found.append(TcpSocket(local, remote, fields[3], int(fields[9])))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def listening_children(parent: int, port: int) -> list[int]:
    """The parent's children with a listener on `port`, each once."""
    listeners = {s.inode for s in tcp_sockets() if s.local_port == port and s.state == LISTEN}
    owners = []
    for pid in children(parent):
        try:
            if socket_inodes(pid) & listeners:
                owners.append(pid)
        except FileNotFoundError:  # exited meanwhile
            continue
    return owners


def own_connections(port: int) -> set[int]:
    """The local ports of this process's connections to `port`."""
    mine = socket_inodes(os.getpid())
    return {
        s.local_port
        for s in tcp_sockets()
        if s.remote_port == port and s.state == ESTABLISHED and s.inode in mine
    }


def server_of(client_port: int, port: int, pids: list[int]) -> int:
    """Which of `pids` holds the server's end of the connection from `client_port`."""
    ends = {
        s.inode
        for s in tcp_sockets()
        if s.local_port == port and s.remote_port == client_port and s.state == ESTABLISHED
    }
    owners = [pid for pid in pids if socket_inodes(pid) & ends]
    assert len(owners) == 1, (client_port, owners)
    return owners[0]


# The processes


@dataclass
class Cluster:
    """A `chronicle serve … --processes 2` (or serve-grpc) subprocess and its ports."""

    process: Process
    grpc_port: int
    http_port: int
    database_url: str

    @property
    def pid(self) -> int:
        assert self.process.process is not None
        return self.process.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def servers(self) -> list[int]:
        return listening_children(self.pid, self.grpc_port)

    def container(self) -> Container:
        return Container(Settings.load({}, database_url=self.database_url, **FAST_ARGON2))  # type: ignore[arg-type]

    def stdout(self) -> str:
        return self.process.out.read_text("utf-8")

    def stderr(self) -> str:
        return self.process.err.read_text("utf-8")


def start_cluster(directory: Path, command_name: str = "serve", **env: str) -> Cluster:
    database_url = f"sqlite:///{directory / 'chronicle.db'}"
    grpc_port, http_port = free_port(), free_port()
    while http_port == grpc_port:
        http_port = free_port()
    args = ["--database-url", database_url, command_name, "--bind", "127.0.0.1"]
    args += ["--grpc-port", str(grpc_port), "--processes", "2"]
    if command_name == "serve":
        args += ["--http-port", str(http_port)]
    process = Process(command_name, args, directory, env).start()
    try:
        process.wait_for_log(SERVING, timeout=90)
    except BaseException:
        process.stop(timeout=30)
        raise
    return Cluster(process, grpc_port, http_port, database_url)


@pytest.fixture
def cluster_in(tmp_path: Path) -> Iterator[Callable[[str], Cluster]]:
    """Starts a cluster in this test's directory; stops it after the test, whatever
    became of it."""
    started: list[Cluster] = []

    def start(command_name: str) -> Cluster:
        started.append(start_cluster(tmp_path, command_name))
        return started[-1]

    yield start
    for cluster in started:
        cluster.process.stop(timeout=30)


def pinned_channels(cluster: Cluster) -> dict[int, grpc.Channel]:
    """A gRPC channel to each server process (a connection of its own each, kept only
    when it reached a process not met yet)."""
    servers = cluster.servers()
    pinned: dict[int, grpc.Channel] = {}
    for _ in range(CONNECTIONS):
        before = own_connections(cluster.grpc_port)
        channel = grpc.insecure_channel(
            f"127.0.0.1:{cluster.grpc_port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        (client_port,) = own_connections(cluster.grpc_port) - before
        pid = server_of(client_port, cluster.grpc_port, servers)
        if pid in pinned:
            channel.close()
        else:
            pinned[pid] = channel
        if len(pinned) == len(servers):
            return pinned
    pytest.fail(f"{CONNECTIONS} connections did not reach every one of {servers}")


def get_caller(channel: grpc.Channel, key: str) -> Any:
    return call(channel, GET_CALLER, identity_service_pb2.GetCallerRequest(), [("x-api-key", key)])


@dataclass
class Served:
    cluster: Cluster
    workspace_id: str
    key: str  # the first start's


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cluster = start_cluster(tmp_path_factory.mktemp("serve-2"))
    try:
        key = KEY.search(cluster.stdout())
        workspace = re.search(r"\b(ws_[0-9A-Za-z]{20})\b", cluster.stdout())
        assert key and workspace, cluster.stdout()
        yield Served(cluster, workspace.group(1), key.group(0))
    finally:
        cluster.process.stop(timeout=30)


def new_key(served: Served, rate_limit: str | None = None) -> tuple[str, str]:
    container = served.cluster.container()
    with container.uow() as uow:
        issued = key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=served.workspace_id,
            rate_limit=rate_limit,
            actor="test",
        )
    container.engine.dispose()
    return issued.raw, issued.record.id


# Start


def test_first_start_prints_its_key_and_password_once_and_migrates_once(served: Served) -> None:
    stdout, stderr = served.cluster.stdout(), served.cluster.stderr()
    assert [line.strip() for line in stdout.splitlines()].count(served.key) == 1, stdout
    assert len(PASSWORD.findall(stdout)) == 1, stdout
    assert served.key not in stderr
    upgrades = re.findall(r"Running upgrade (\S* -> \S+)", stderr)
    assert upgrades and len(upgrades) == len(set(upgrades)), upgrades
    assert len(re.findall(SERVING, stderr)) == 1


def test_both_ports_answer_from_two_server_processes(served: Served) -> None:
    cluster = served.cluster
    servers = cluster.servers()
    assert len(servers) == 2 and cluster.pid not in servers, servers
    assert sorted(listening_children(cluster.pid, cluster.http_port)) == sorted(servers)

    pinned = pinned_channels(cluster)
    assert sorted(pinned) == sorted(servers)
    for channel in pinned.values():
        answer = get_caller(channel, served.key)
        assert not isinstance(answer, grpc.RpcError), answer
        assert answer.workspace_id == served.workspace_id
        channel.close()

    answered_by = set()
    for _ in range(CONNECTIONS):
        with httpx.Client(base_url=cluster.url, timeout=10) as client:
            response = client.get("/api/v1/templates", headers={"x-api-key": served.key})
            assert response.status_code == 200, response.text
            client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            answered_by.add(server_of(client_port, cluster.http_port, servers))
        if len(answered_by) == 2:
            break
    assert answered_by == set(servers)


# Promises across processes


def test_a_key_s_rate_limit_is_exact_across_processes_without_redis(served: Served) -> None:
    key, _ = new_key(served, "10/minute")
    pinned = pinned_channels(served.cluster)
    allowed: dict[int, int] = dict.fromkeys(pinned, 0)
    refusals = []
    for n in range(30):
        pid = list(pinned)[n % 2]
        answer = get_caller(pinned[pid], key)
        if isinstance(answer, grpc.RpcError):
            refusals.append(answer)
        else:
            allowed[pid] += 1
    for channel in pinned.values():
        channel.close()
    assert sum(allowed.values()) == 10, allowed
    assert all(allowed.values()), f"both processes spent the one allowance: {allowed}"
    assert {reason_of(r) for r in refusals} == {"API_KEY_RATE_LIMITED"}


def test_a_revoke_through_one_process_is_refused_by_the_other_within_1s(served: Served) -> None:
    key, key_id = new_key(served)
    container = served.cluster.container()
    with container.uow() as uow:
        _, token = key_service.create_service_token(uow, container.hasher, "ops")
    container.engine.dispose()
    pinned = pinned_channels(served.cluster)
    first, second = pinned.values()
    for channel in (first, second):  # each process has the key's status cached
        assert not isinstance(get_caller(channel, key), grpc.RpcError)

    revoke = api_key_service_pb2.RevokeApiKeyRequest(id=key_id, reason="leak")
    revoked = call(
        first,
        "/chronicle.v1.ApiKeyService/RevokeApiKey",
        revoke,
        [("authorization", f"Bearer {token}")],
    )
    assert not isinstance(revoked, grpc.RpcError), revoked
    start = time.monotonic()
    refusals: list[grpc.RpcError] = []

    def refused() -> bool:
        answer = get_caller(second, key)
        if isinstance(answer, grpc.RpcError):
            refusals.append(answer)
        return bool(refusals)

    wait_until(refused, 3, what="the other process refusing the key", interval=0.02)
    assert time.monotonic() - start < 1.0
    assert reason_of(refusals[0]) == "API_KEY_REVOKED"
    assert reason_of(get_caller(first, key)) == "API_KEY_REVOKED"
    for channel in (first, second):
        channel.close()


# Stopping, crashing, failing to start


def test_sigterm_lets_a_request_in_flight_finish_even_when_repeated_then_exits_0(
    cluster_in: Callable[[str], Cluster],
) -> None:
    cluster = cluster_in("serve")
    key = KEY.search(cluster.stdout())
    assert key
    headers = {"x-api-key": key.group(0), "content-type": "application/json"}
    templates = httpx.get(f"{cluster.url}/api/v1/templates", headers=headers, timeout=10)
    template_id = templates.json()["templates"][0]["id"]
    body_started, go_on = threading.Event(), threading.Event()
    answers: list[httpx.Response] = []

    def body() -> Iterator[bytes]:
        yield b'{"template_id": '
        body_started.set()
        go_on.wait(20)
        yield json.dumps(template_id).encode() + b"}"

    def post() -> None:
        url = f"{cluster.url}/api/v1/presentations"
        answers.append(httpx.post(url, content=body(), headers=headers, timeout=30))

    poster = threading.Thread(target=post)
    poster.start()
    assert body_started.wait(10)
    time.sleep(0.5)  # the request's headers are in: it is in flight
    cluster.process.signal(signal.SIGTERM)

    def draining() -> bool:  # the listeners are closed: a new connection is refused
        try:
            httpx.get(f"{cluster.url}/healthz", timeout=1)
        except httpx.TransportError:
            return True
        return False

    wait_until(draining, 10, what="the edges closing their listeners", interval=0.05)
    cluster.process.signal(signal.SIGTERM)  # a second one (say, from a process manager) is no kill
    go_on.set()
    poster.join(30)
    assert answers and answers[0].status_code == 201, answers
    assert cluster.process.process is not None
    assert cluster.process.process.wait(30) == 0, cluster.stderr()


def test_a_killed_server_process_is_started_again_and_serves(
    cluster_in: Callable[[str], Cluster],
) -> None:
    cluster = cluster_in("serve-grpc")
    victim, survivor = cluster.servers()
    os.kill(victim, signal.SIGKILL)
    with grpc.insecure_channel(f"127.0.0.1:{cluster.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(), timeout=10, wait_for_ready=True)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING  # the survivor

    def replaced() -> bool:
        cluster.process.check_alive()
        servers = cluster.servers()
        return len(servers) == 2 and victim not in servers

    wait_until(replaced, 60, what=lambda: f"a new server process\n{cluster.stderr()}", interval=0.2)
    assert survivor in cluster.servers()
    assert re.search(r"gRPC server \d was killed by SIGKILL; starting it again", cluster.stderr())
    newcomer = next(pid for pid in cluster.servers() if pid != survivor)
    wait_until(  # ready once the supervisor says all serve again
        lambda: len(re.findall(SERVING, cluster.stderr())) == 2, 60, what="serving again"
    )
    pinned = pinned_channels(cluster)
    assert newcomer in pinned
    check = health_pb2_grpc.HealthStub(pinned[newcomer]).Check(health_pb2.HealthCheckRequest())
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    for channel in pinned.values():
        channel.close()
    assert cluster.process.stop(timeout=30) == 0, cluster.stderr()


def test_a_port_in_use_fails_before_any_child_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database_url = f"sqlite:///{tmp_path / 'chronicle.db'}"
        args = ["--database-url", database_url, "serve-grpc", "--grpc-port", str(port)]
        process = Process("taken", [*args, "--processes", "2"], tmp_path).start()
        assert process.process is not None
        assert process.process.wait(60) == 1
    lines = process.err.read_text("utf-8").splitlines()
    assert lines[-1] == f"chronicle: error: cannot listen for gRPC on 127.0.0.1:{port}: " + (
        "Address already in use"
    ), lines
    assert " started (pid " not in process.output()


# The table the server processes share (server.shared_limits)

# Spent over ~0.1 s, both processes at it together; a period so long that the allowance
# grows by nothing meanwhile.
LIMITED = RateLimit(20_000, 10**8)


def _spend(table: SharedTable, start: Any, results: Any) -> None:
    start.wait()
    results.put(sum(table.hit("key_shared", LIMITED).allowed for _ in range(LIMITED.count)))


def test_two_processes_hitting_one_key_at_once_get_exactly_its_allowance() -> None:
    table = SharedTable.create()
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(2), spawn.SimpleQueue()
    spenders = [spawn.Process(target=_spend, args=(table, start, results)) for _ in range(2)]
    for spender in spenders:
        spender.start()
    for spender in spenders:
        spender.join(60)
        assert spender.exitcode == 0
    allowed = [results.get(), results.get()]
    assert sum(allowed) == LIMITED.count and all(allowed), allowed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_reuses_slots_whose_keys_are_whole_again_and_only_then_forgets_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    table = SharedTable.create(buckets=1, clock=clock)  # one bucket: every key meets there
    rate = RateLimit(1, 60)

    def allowed(keys: list[str]) -> list[str]:
        return [key for key in keys if table.hit(key, rate).allowed]

    first = [f"key_first_{n}" for n in range(WAYS)]
    assert allowed(first) == first and allowed(first) == []
    clock.now += 61  # the first keys are whole again: their slots are free to take
    then = [f"key_then_{n}" for n in range(WAYS)]
    assert allowed(then) == then and allowed(then) == []
    assert "forgot" not in caplog.text
    # Every slot spending: a newcomer makes the bucket forget one key (nearest to whole).
    assert allowed(["key_over"]) == ["key_over"]
    assert len(allowed(then)) == 1
    assert "a full bucket forgot a key" in caplog.text


def _cannot_start(_child: Child) -> None:
    raise SystemExit(3)


def test_children_that_cannot_start_make_the_parent_exit_non_zero() -> None:
    began = time.monotonic()
    roles = [Role("broken", _cannot_start), Role("broken too", _cannot_start)]
    assert Supervisor(roles, stop_seconds=10).run() == 1
    assert time.monotonic() - began < 30


def test_processes_must_be_positive(tmp_path: Path) -> None:
    done = Process("zero", ["serve-grpc", "--processes", "0"], tmp_path).start()
    assert done.process is not None and done.process.wait(60) == 1
    assert done.err.read_text("utf-8").splitlines() == [
        "chronicle: error: --processes: must be positive, got '0'"
    ]
