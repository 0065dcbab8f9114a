"""Real `chronicle` processes for tests: servers, edges and workers as subprocesses.

Each writes its output to files in the test's directory; `wait_for_log` reads them, and a
process that dies early fails the test with its stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.waiting import wait_until

# Cheap argon2 (see FAST_ARGON2 in conftest), unbuffered and UTF-8 output.
FAST_ENV = {
    "CHRONICLE_ARGON2_MEMORY_KIB": "1024",
    "CHRONICLE_ARGON2_TIME_COST": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    # One process unless a test asks for more (tests/e2e/test_processes.py does).
    "CHRONICLE_PROCESSES": "1",
}


def cli_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any CHRONICLE_* setting, plus fast argon2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    return {**env, **FAST_ENV, **extra}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chronicle.cli", *args]


@dataclass
class Process:
    """One `chronicle …` subprocess; stdout and stderr go to files under `directory`."""

    name: str
    args: list[str]
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def out(self) -> Path:
        return self.directory / f"{self.name}.stdout"

    @property
    def err(self) -> Path:
        return self.directory / f"{self.name}.stderr"

    def start(self) -> Process:
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                command(*self.args),
                stdout=out,
                stderr=err,
                cwd=self.directory,
                env=cli_env(**self.env),
            )
        return self

    def output(self) -> str:
        return self.out.read_text("utf-8") + self.err.read_text("utf-8")

    def check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")

    def wait_for_log(self, pattern: str, timeout: float = 20) -> None:
        def logged() -> bool:
            if re.search(pattern, self.output()):
                return True
            self.check_alive()
            return False

        wait_until(logged, timeout, what=lambda: f"{self.name}: {pattern!r}\n{self.output()}")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then SIGKILL after `timeout`; the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


@dataclass
class GrpcServerProcess(Process):
    port: int = 0

    def wait_serving(self, timeout: float = 20) -> GrpcServerProcess:
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)

            def serving() -> bool:
                self.check_alive()
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                except grpc.RpcError:
                    return False
                return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

            wait_until(
                serving, timeout, what=lambda: f"{self.name} serving\n{self.output()}", interval=0.1
            )
        return self

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def grpc_server_process(
    name: str, directory: Path, database_url: str, port: int, **env: str
) -> GrpcServerProcess:
    args = [
        "serve-grpc",
        "--database-url",
        database_url,
        "--bind",
        "127.0.0.1",
        "--grpc-port",
        str(port),
    ]
    server = GrpcServerProcess(name, args, directory, env, port=port)
    server.start()
    return server


def run_cli(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """One CLI command to completion; fails the test when it fails."""
    done = subprocess.run(
        command("--database-url", database_url, *args),
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def wait_healthz(
    base_url: str, check_alive: Callable[[], None], output: Callable[[], str], timeout: float = 20
) -> None:
    """Until GET {base_url}/healthz answers 200; fails the test with `output()` when the
    process dies first or it never does."""

    def healthy() -> bool:
        check_alive()
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(
        healthy, timeout, what=lambda: f"{base_url}/healthz answering 200\n{output()}", interval=0.1
    )
