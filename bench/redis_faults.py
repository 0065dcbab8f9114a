"""Chronicle API benchmark: what the Redis rate limiter costs, with Redis up and hung.

Run from the repository root (needs /usr/bin/redis-server, or `redis-server` on PATH):

    .venv/bin/python bench/redis_faults.py [--duration 5] [--rounds 3] [--connections 50]
        [--keys 4] [--redis-cpus CPUS]

A redis-server of the run's own (a free port, no persistence) so it can be paused
without touching any other. A gRPC server in this process (bench/harness.py),
IdentityService/GetCaller (a no-op behind the interceptor, so the limiter is most of the
work) driven by the load generator of bench/loads.py in a separate process, three rows:

1. in-process: no Redis at all; the in-process GCRA (the baseline).
2. Redis up: CHRONICLE_REDIS_URL set (rate limits and the key-status push in Redis).
3. Redis hung: the same server, its redis-server paused with SIGSTOP after the server
   started and subscribed; every limited request meets the circuit breaker, and key
   statuses fall back to short re-reads.

Targets: Redis up / in-process >= 0.90; Redis hung / Redis up >= 0.80. Rows are
interleaved over --rounds rounds; each row reports its median round, each ratio the
median of its per-round ratios. On two or more CPUs, this process (with its server)
gets CPU 0, the load generator CPU 1; redis-server is not pinned (--redis-cpus). Exit
status 0 when the run worked, targets met or not; 1 when it could not run or more than
1 % of some row's calls failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import loads
import report

import harness
from chronicle.config import Settings
from server.container import Container

UP_TARGET = 0.90  # Redis up / in-process
HUNG_TARGET = 0.80  # Redis hung / Redis up
ROWS = ("in-process", "Redis up", "Redis hung")


@contextmanager
def redis_server(cpus: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise harness.BenchError("redis-server is not installed (apt-get install redis-server)")
    port = harness.free_port()
    process = subprocess.Popen(
        [
            *harness.on_cpus(cpus),
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT_SECONDS
        while not harness.redis_answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise harness.BenchError("redis-server did not start")
            time.sleep(0.05)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
        process.wait()


def serve(settings: Settings) -> harness.InProcessServer:
    return harness.InProcessServer(Container(settings)).start()


def wait_subscribed(server: harness.InProcessServer) -> None:
    """Until the server's key-status push is confirmed (so 'hung' starts from 'pushed')."""
    statuses = server.container.authenticator._statuses
    deadline = time.monotonic() + harness.STARTUP_TIMEOUT_SECONDS
    while not statuses.pushed:
        if time.monotonic() > deadline:
            raise harness.BenchError("the key-status push never came up")
        time.sleep(0.02)


def measure(opts: argparse.Namespace, work: Path) -> dict[str, list[loads.Row]]:
    env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
    keys = harness.provision(env, opts.keys)
    keys_file = harness.write_keys(work, keys)
    settings = Settings.load(env)
    results: dict[str, list[loads.Row]] = {row: [] for row in ROWS}
    with redis_server(opts.redis_cpus) as (redis_process, url):
        for n in range(opts.rounds):
            print(f"round {n + 1}/{opts.rounds}…", file=sys.stderr, flush=True)
            for row in ROWS:
                server = serve(replace(settings, redis_url=None if row == "in-process" else url))
                try:
                    server.warm(keys)
                    if row != "in-process":
                        wait_subscribed(server)
                    if row == "Redis hung":
                        redis_process.send_signal(signal.SIGSTOP)
                    results[row].append(
                        loads.run_grpc_load(
                            row,
                            f"127.0.0.1:{server.port}",
                            harness.GET_CALLER,
                            b"",
                            keys_file,
                            connections=opts.connections,
                            duration=opts.duration,
                            cpus=opts.client_cpus,
                        )
                    )
                    limiter = server.container.limiter
                    if row == "Redis up":
                        trips = getattr(limiter, "round_trips", 0)
                        print(
                            f"  Redis up: {results[row][-1].calls / max(trips, 1):.1f} "
                            "requests per round trip (measured window and warm-up)",
                            file=sys.stderr,
                        )
                finally:
                    redis_process.send_signal(signal.SIGCONT)
                    server.stop(grace=0)
    return results


def ratios(rows: Sequence[loads.Row], baseline: Sequence[loads.Row]) -> list[float]:
    return [r.rps / b.rps for r, b in zip(rows, baseline, strict=True)]


def run(opts: argparse.Namespace) -> int:
    report.print_header(opts)
    if opts.server_cpus:
        print(
            f"pinned: this process and its gRPC server on CPU {opts.server_cpus}, the load "
            f"generator on CPU {opts.client_cpus}, redis-server on "
            f"{opts.redis_cpus or 'any CPU'} (--no-pin: share both)\n"
        )
    harness.pin(opts.server_cpus)
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-redis-") as tmp:
        results = measure(opts, Path(tmp))
    base, up, hung = (results[row] for row in ROWS)
    up_ratio = statistics.median(ratios(up, base))
    hung_ratio = statistics.median(ratios(hung, base))
    hung_vs_up = statistics.median(ratios(hung, up))
    rows = [report.median_row(results[row]) for row in ROWS]
    names = ["limiter: in-process (baseline)", "limiter: Redis up", "limiter: Redis hung"]
    print("rate limiter cost, gRPC GetCaller; ratios vs in-process")
    for line in report.table(rows, names, [up_ratio, hung_ratio], [None, UP_TARGET, None]):
        print(line)
    print(f"Redis hung / Redis up: {report.ratio_text(hung_vs_up, HUNG_TARGET)}")
    print(
        "(per-round ratios vs in-process: up "
        + ", ".join(f"{r:.2f}" for r in ratios(up, base))
        + "; hung "
        + ", ".join(f"{r:.2f}" for r in ratios(hung, base))
        + ")\n"
    )
    return report.report_failures([r for row in ROWS for r in results[row]], "a row's calls")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--connections", type=int, default=50, help="concurrent callers")
    parser.add_argument("--keys", type=int, default=4, help="distinct valid API keys")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and clients")
    parser.add_argument(
        "--redis-cpus",
        default="",
        help="CPUs for redis-server (default: unpinned, as a Redis on its own host would "
        "not take the server's CPU)",
    )
    opts = parser.parse_args(argv)
    if min(opts.duration, opts.connections, opts.keys, opts.rounds) <= 0:
        parser.error("--duration, --connections, --keys and --rounds must be positive")
    pinned = len(os.sched_getaffinity(0)) >= 2 and not opts.no_pin
    opts.server_cpus, opts.client_cpus = ("0", "1") if pinned else ("", "")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return report.run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
