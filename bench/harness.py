"""What every benchmark sets up: `chronicle` processes on free ports, a provisioned
SQLite or PostgreSQL database, an in-process gRPC server, CPU pinning."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

if TYPE_CHECKING:  # the load generator's process imports this module without the server
    from server.app import GrpcServer
    from server.container import Container


STARTUP_TIMEOUT_SECONDS = 30.0
# The no-op behind the interceptor: the benches' baseline call.
GET_CALLER = "/chronicle.v1.IdentityService/GetCaller"
STOP_TIMEOUT_SECONDS = 10.0


class BenchError(Exception):
    """A real failure: the run cannot produce honest numbers."""


# Processes


class Processes:
    """Child servers; `stop_all` sends SIGTERM, then SIGKILL to what is still running."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        self._running.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self._running):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._running):
            try:
                proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._running.clear()


@contextmanager
def processes() -> Iterator[Processes]:
    group = Processes()
    try:
        yield group
    finally:
        group.stop_all()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}:\n{log_tail(log)}")
        if ready():
            return
        time.sleep(0.2)
    raise BenchError(f"{what} not ready after {STARTUP_TIMEOUT_SECONDS:.0f} s:\n{log_tail(log)}")


def grpc_serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1.0
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


# Setup


def chronicle_command() -> list[str]:
    script = Path(sys.executable).with_name("chronicle")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chronicle.cli"]


def bench_env(database_url: str) -> dict[str, str]:
    """The caller's environment with production argon2 settings, the bench database and a
    rate limit no load here reaches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_ARGON2_")}
    env["CHRONICLE_DATABASE_URL"] = database_url
    env["CHRONICLE_LOG_LEVEL"] = "WARNING"
    # The limiter runs on every request (its cost is measured) but never refuses one.
    env["CHRONICLE_RATE_LIMIT"] = "1000000000/second"
    # One process per command, so each bench's pids and CPU are the servers'
    # (bench/processes.py sets --processes itself).
    env["CHRONICLE_PROCESSES"] = "1"
    return env


def chronicle(env: dict[str, str], *args: str) -> str:
    """Run one `chronicle` CLI command; return its last line of output."""
    done = subprocess.run(
        [*chronicle_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"chronicle {' '.join(args)} failed:\n{done.stderr.strip()}")
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def provision(env: dict[str, str], count: int) -> list[str]:
    """Migrate, create the `bench` workspace and `count` API keys; return the raw keys."""
    chronicle(env, "migrate")
    workspace = chronicle(env, "workspace", "create", "bench")
    return [
        json.loads(chronicle(env, "key", "create", "--workspace", workspace, "--json"))["key"]
        for _ in range(count)
    ]


def write_keys(directory: Path, keys: list[str]) -> Path:
    path = directory / "keys.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(keys))
    return path


@dataclass(frozen=True)
class Endpoints:
    grpc_target: str
    http_base: str
    grpc_pid: int = 0
    edge_pid: int = 0


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (Linux /proc/PID/stat, fields 14-15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_grpc_server(
    group: Processes, env: dict[str, str], log: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    """`chronicle serve-grpc` on a free port, once it answers health checks: its target
    and process."""
    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = group.start(
        [*chronicle_command(), "serve-grpc"], {**env, "CHRONICLE_GRPC_PORT": str(port)}, log
    )
    wait_until(lambda: grpc_serving(target), proc, "chronicle serve-grpc", log)
    return target, proc


def start_servers(group: Processes, env: dict[str, str], work: Path) -> Endpoints:
    """serve-grpc and serve-edge; the edge's base URL is also the decks' public URL."""
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    env = {**env, "CHRONICLE_PUBLIC_URL": base}
    target, grpc_proc = start_grpc_server(group, env, work / "serve-grpc.log")
    log = work / "serve-edge.log"
    cmd = [
        *chronicle_command(),
        "serve-edge",
        "--grpc-target",
        target,
        "--http-port",
        str(http_port),
    ]
    proc = group.start(cmd, env, log)
    wait_until(lambda: http_ok(f"{base}/healthz"), proc, "chronicle serve-edge", log)
    return Endpoints(target, base, grpc_proc.pid, proc.pid)


def create_presentation(target: str, key: str) -> str:
    """One presentation in the keys' workspace, from the first template; returns its id."""
    from chronicle.v1 import presentation_service_pb2 as pb
    from chronicle.v1 import presentation_service_pb2_grpc as pb_grpc

    metadata = (("authorization", f"Bearer {key}"),)
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.PresentationServiceStub(channel)
        templates = stub.ListTemplates(pb.ListTemplatesRequest(), metadata=metadata, timeout=30)
        if not templates.templates:
            raise BenchError("ListTemplates returned no templates")
        request = pb.CreatePresentationRequest(template_id=templates.templates[0].id)
        created = stub.CreatePresentation(request, metadata=metadata, timeout=30)
    return str(created.id)


def get_presentation_payload(presentation_id: str) -> bytes:
    from chronicle.v1 import presentation_service_pb2 as pb

    return bytes(pb.GetPresentationRequest(id=presentation_id).SerializeToString())


class InProcessServer:
    """The aio gRPC server on an event loop of its own, in a thread of this process, so
    the benchmark can read its counters while its main thread drives the loads."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="grpc-loop", daemon=True
        )
        self._server: GrpcServer | None = None

    def start(self) -> InProcessServer:
        from server.app import settle_heap
        from server.app import start_grpc_server as start_aio_server

        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_aio_server(self.container, port=0), self._loop
        )
        self._server = future.result(timeout=STARTUP_TIMEOUT_SECONDS)
        settle_heap()  # as `chronicle serve-grpc` does once it has started
        return self

    def warm(self, keys: Sequence[str]) -> None:
        """One GetCaller per key, so each is verified (argon2) and limited once before a
        measured load."""
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            call = channel.unary_unary(GET_CALLER)
            for key in keys:
                call(b"", metadata=[("x-api-key", key)], timeout=30)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    def stop(self, grace: float | None = 5.0) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)


def redis_answers(url: str) -> bool:
    """Whether a Redis answers PING at `url` within half a second."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


# CPUs


def on_cpus(cpus: str) -> list[str]:
    """A command prefix running a program on the given CPUs (no-op when empty). Not
    preexec_fn: Python code between fork and exec in a process with gRPC's threads can
    crash the child (seen: wrk killed by SIGSEGV and SIGABRT)."""
    return ["taskset", "-c", cpus] if cpus else []


def pin(cpus: str) -> None:
    """Run this process on the given CPUs ("0", "1", "0,1"); no-op when empty."""
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
