"""Slow-clients benchmark: valid REST traffic with and without slow connections held open.

Run from the repository root:

    .venv/bin/python bench/slow_clients.py [--slow 2000] [--duration 5] [--connections 20]

`chronicle serve-grpc` and `chronicle serve-edge` as separate processes on a fresh SQLite
database. Two rows, each --duration seconds after a warm-up:
1. unloaded: --connections keep-alive clients send `GET /api/v1/caller` with a valid key
   as fast as answers come (asyncio on raw sockets, a process of its own);
2. the same, while another process keeps --slow connections open: half send a request's
   headers a byte a second, half send a POST's headers (with the valid key: without one
   the edge answers 401 at once and closes) and then its body a byte a second.
   A connection the edge cuts off (header or body timeout) is replaced at once, so the
   edge holds about --slow of them all the time. They come from 10 loopback addresses
   (127.0.0.2-11), so that they stay under the per-client cap and are really held.
The ratio is row 2's throughput over row 1's (target >= 0.8). On two or more CPUs the
servers run on CPU 0 and both client processes on CPU 1 (CHRONICLE_BENCH_NO_PIN=1: no
pinning), so that the slow clients' own process takes CPU from the load generator, not
from the servers: the ratio then measures what holding the connections costs the edge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loads import Row
from report import ratio_text, report_failures, table

import harness

TARGET_RATIO = 0.8
SOURCES = [f"127.0.0.{i}" for i in range(2, 12)]
WARMUP_SECONDS = 1.0
SLOW_READY_SECONDS = 60.0


def raise_fd_limit() -> None:
    """The slow process holds --slow sockets; the edge inherits the limit too."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# The valid-traffic client (`--role load`)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))
    return status


async def load(port: int, key: str, connections: int, duration: float) -> dict[str, Any]:
    request = (
        f"GET /api/v1/caller HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {key}\r\n\r\n"
    ).encode()
    start = time.perf_counter()
    measure_from, until = start + WARMUP_SECONDS, start + WARMUP_SECONDS + duration
    latencies: list[float] = []
    failures: dict[str, int] = {}

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (now := time.perf_counter()) < until:
            try:
                writer.write(request)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError) as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if now >= measure_from:
                latencies.append(time.perf_counter() - now)
                if status != 200:
                    failures[f"HTTP {status}"] = failures.get(f"HTTP {status}", 0) + 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return {
        "rps": len(latencies) / duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "calls": len(latencies),
        "failures": failures,
    }


# The slow clients (`--role slow`): run until SIGTERM, print a status line a second


async def slow(port: int, count: int, key: str) -> None:
    state = {"open": 0, "cut": 0, "failed": 0}
    post = (
        "POST /api/v1/presentations HTTP/1.1\r\nhost: bench\r\n"
        f"authorization: Bearer {key}\r\n"
        "content-type: application/json\r\ncontent-length: 100000\r\n\r\n"
    ).encode()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, byte: bytes) -> None:
        """A byte a second until the edge closes the connection."""
        closed = asyncio.ensure_future(reader.read())
        try:
            while not closed.done():
                writer.write(byte)
                await asyncio.wait([closed], timeout=1.0)
        except OSError:
            pass
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await closed
            writer.close()

    async def one(index: int) -> None:
        source = SOURCES[index % len(SOURCES)]
        body_mode = index % 2 == 1
        await asyncio.sleep(random.random() * 5)  # not all at once
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0)
                )
            except OSError:
                state["failed"] += 1
                await asyncio.sleep(1)
                continue
            state["open"] += 1
            writer.write(post if body_mode else b"GET /api/v1/caller HTTP/1.1\r\nhost: bench\r\n")
            await hold(reader, writer, b"a" if body_mode else b"x")
            state["open"] -= 1
            state["cut"] += 1

    async def report() -> None:
        while True:
            print(json.dumps(state), flush=True)
            await asyncio.sleep(1)

    await asyncio.gather(report(), *(one(i) for i in range(count)))


# The benchmark


class SlowClients:
    """The slow process, and the last status line it printed."""

    def __init__(self, port: int, count: int, key: str, log: Path) -> None:
        cmd = [*harness.on_cpus(CLIENT_CPUS), sys.executable, __file__, "--role", "slow"]
        cmd += ["--port", str(port), "--key", key]
        with log.open("wb") as errors:
            self.proc = subprocess.Popen(
                [*cmd, "--slow", str(count)], stdout=subprocess.PIPE, stderr=errors, text=True
            )
        self.status: dict[str, int] = {"open": 0, "cut": 0, "failed": 0}
        self.lowest_open: int | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.status = json.loads(line)
            if self.lowest_open is not None:
                self.lowest_open = min(self.lowest_open, self.status["open"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


CLIENT_CPUS = "" if os.environ.get("CHRONICLE_BENCH_NO_PIN") or (os.cpu_count() or 1) < 2 else "1"


def measure(
    port: int, key: str, opts: argparse.Namespace, name: str, pids: dict[str, int]
) -> tuple[Row, dict[str, float]]:
    """The row, and each process's CPU use over it (CPU seconds per second: on this
    machine's 2 cores, what the slow clients' own process takes is the others' loss)."""
    cmd = [*harness.on_cpus(CLIENT_CPUS), sys.executable, __file__, "--role", "load"]
    cmd += ["--port", str(port), "--key", key]
    cmd += ["--connections", str(opts.connections), "--duration", str(opts.duration)]
    before = {role: harness.cpu_seconds(pid) for role, pid in pids.items()}
    started = time.monotonic()
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=opts.duration + 60, check=False
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise harness.BenchError(f"load generator failed:\n{done.stderr}")
    cpu = {role: (harness.cpu_seconds(pid) - before[role]) / elapsed for role, pid in pids.items()}
    result = json.loads(done.stdout)
    row = Row(
        name, result["rps"], result["p50_ms"], result["p99_ms"], result["calls"], result["failures"]
    )
    return row, cpu


def run(opts: argparse.Namespace) -> int:
    raise_fd_limit()
    print(
        f"machine: nproc={os.cpu_count()}, client and servers on loopback; edge defaults "
        "(header timeout 10 s, body 30 s, 256 connections per client)"
    )
    print(
        f"load: {opts.connections} keep-alive connections, GET /api/v1/caller, "
        f"{opts.duration:g} s per row after {WARMUP_SECONDS:g} s; slow: {opts.slow} "
        f"connections from {len(SOURCES)} addresses\n",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="chronicle-slowbench-") as tmp,
        harness.processes() as group,
    ):
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        env["CHRONICLE_ACCESS_LOG"] = "false"
        key = harness.provision(env, 1)[0]
        servers = harness.start_servers(group, env, work)
        port = int(servers.http_base.rsplit(":", 1)[1])
        pids = {"edge": servers.edge_pid, "serve-grpc": servers.grpc_pid}
        if CLIENT_CPUS:  # the servers on CPU 0, every client on CPU 1: see the docstring
            for pid in pids.values():
                pin = ["taskset", "-a", "-pc", "0", str(pid)]
                subprocess.run(pin, check=True, capture_output=True)
        unloaded, unloaded_cpu = measure(port, key, opts, "unloaded", pids)
        slow_clients = SlowClients(port, opts.slow, key, work / "slow.log")
        try:
            deadline = time.monotonic() + SLOW_READY_SECONDS
            while slow_clients.status["open"] < opts.slow * 0.95:
                if time.monotonic() > deadline:
                    raise harness.BenchError(f"slow clients never all open: {slow_clients.status}")
                time.sleep(0.2)
            slow_clients.lowest_open = slow_clients.status["open"]
            pids["slow clients"] = slow_clients.proc.pid
            name = f"with {opts.slow} slow connections"
            loaded, loaded_cpu = measure(port, key, opts, name, pids)
            held, status = slow_clients.lowest_open, dict(slow_clients.status)
        finally:
            slow_clients.stop()
        edge_log = (work / "serve-edge.log").read_text(errors="replace")
    ratio = loaded.rps / unloaded.rps
    for line in table(
        [unloaded, loaded], [unloaded.name, loaded.name], [ratio], [None, TARGET_RATIO]
    ):
        print(line)
    print(f"\nthroughput ratio: {ratio_text(ratio, TARGET_RATIO)}")
    print(
        f"slow connections open during the loaded row: at least {held}; cut off by the "
        f"edge's timeouts so far: {status['cut']}; failed to connect: {status['failed']}"
    )
    print(f"edge log: {len(edge_log.splitlines())} lines")
    for row, cpu in ((unloaded, unloaded_cpu), (loaded, loaded_cpu)):
        shares = ", ".join(f"{role} {used:.2f}" for role, used in cpu.items())
        # serve-grpc does nothing for slow connections: its growth per request is what
        # sharing 2 cores with more processes costs everyone, the edge's beyond it is its own.
        per_request = ", ".join(
            f"{role} {cpu[role] / row.rps * 1000:.3f} ms" for role in ("edge", "serve-grpc")
        )
        print(f"CPU (cores) {row.name}: {shares}; per valid request: {per_request}")
    return report_failures([unloaded, loaded], "valid requests") or int(ratio < TARGET_RATIO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "load", "slow"], default="bench")
    parser.add_argument("--slow", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="")
    opts = parser.parse_args()
    if opts.role == "load":
        result = asyncio.run(load(opts.port, opts.key, opts.connections, opts.duration))
        print(json.dumps(result))
        return 0
    if opts.role == "slow":
        raise_fd_limit()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(slow(opts.port, opts.slow, opts.key))
        return 0
    try:
        return run(opts)
    except harness.BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
