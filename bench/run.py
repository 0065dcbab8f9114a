"""Chronicle API benchmark: gRPC no-op baseline vs gRPC GetPresentation vs REST GetPresentation.

Run from the repository root (needs `wrk` for the REST row: `apt-get install -y wrk`):

    .venv/bin/python bench/run.py [--duration 8] [--rounds 3] [--connections 50] [--keys 4]

Everything happens in one run, on loopback, in a fresh temporary directory:

1. A new SQLite database: `chronicle migrate`, `chronicle workspace create bench` and
   `chronicle key create --json` N times (N = --keys), with the production argon2 settings
   (every CHRONICLE_ARGON2_* variable is removed from the environment).
2. `chronicle serve-grpc` and `chronicle serve-edge` start as subprocesses (logs go to files in
   the temp dir) and are waited on until the gRPC health check and GET /healthz both answer.
   One presentation is created over gRPC from the first template of ListTemplates.
3. gRPC load comes from a separate process (this file, re-invoked with `--_grpc-load`), so its
   CPU is not the server's: `grpc.aio`, a few channels, --connections concurrent callers, the N
   keys round-robin in `authorization: Bearer` metadata, per-call latency from
   `time.perf_counter`. Each row gets a ~1 s warm-up, then a measured window of --duration:
   (a) IdentityService/GetCaller, a no-op behind the same interceptor (the baseline);
   (b) PresentationService/GetPresentation.
4. REST load: `wrk -t2 -c{connections} -d{duration}s --latency` on GET /api/v1/presentations/{id}
   through the edge, with a Lua script that rotates the same N keys (after a 1 s warm-up run).
5. argon2: the server is another process, so a short extra phase (3 s of GetCaller load) runs
   against a gRPC server built in this process; its `authenticator.argon2_verifications` is then
   read and compared with the number of distinct keys (target: equal).

The three loads run --rounds times, interleaved; each row reports the round with the median
throughput, and the per-round ratios are printed beneath the table to show the spread.

Output: the machine, the settings, the exact command, then one table (requests/s, p50, p99, the
ratios GetPresentation / no-op (target >= 0.80) and REST / gRPC GetPresentation (>= 0.70) with
PASS/MISS) and the argon2 line. Exit status 0 whenever the run worked, targets met or not; 1 when
a server did not start, a tool failed, or more than 1 % of the calls of any phase were errors.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

GET_CALLER = "/chronicle.v1.IdentityService/GetCaller"
GET_PRESENTATION = "/chronicle.v1.PresentationService/GetPresentation"
WARMUP_SECONDS = 1.0
ARGON2_PHASE_SECONDS = 3.0
CHANNELS = 4
CALL_TIMEOUT_SECONDS = 10.0
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
MAX_ERROR_RATE = 0.01
GRPC_RATIO_TARGET = 0.80
REST_RATIO_TARGET = 0.70
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


class BenchError(Exception):
    """A real failure: the run cannot produce honest numbers."""


@dataclass(frozen=True)
class Row:
    """One measured load: throughput, latency and the non-OK answers by status."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    calls: int
    failures: dict[str, int]

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 1.0


# gRPC load generator (runs in its own process: `run.py --_grpc-load ...`)


@dataclass
class _Tally:
    measure_from: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    last_done: float = 0.0

    def record(self, started: float, finished: float, status: str) -> None:
        if started < self.measure_from:
            return  # warm-up
        self.latencies.append(finished - started)
        self.statuses[status] += 1
        self.last_done = max(self.last_done, finished)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        seconds = max(self.last_done - self.measure_from, 1e-9)
        return {
            "calls": len(ordered),
            "rps": len(ordered) / seconds if ordered else 0.0,
            "p50_ms": _percentile(ordered, 50) * 1000,
            "p99_ms": _percentile(ordered, 99) * 1000,
            "failures": {k: v for k, v in self.statuses.items() if k != "OK"},
        }


def _percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


async def _caller(
    call: Any, payload: bytes, metadata: Iterator[Any], end: float, tally: _Tally
) -> None:
    while (started := time.perf_counter()) < end:
        status = "OK"
        try:
            await call(payload, metadata=next(metadata), timeout=CALL_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            status = exc.code().name
        tally.record(started, time.perf_counter(), status)


async def grpc_load(opts: argparse.Namespace) -> dict[str, Any]:
    """Drive one method with `opts.connections` callers; return the measured window's summary."""
    keys: list[str] = json.loads(Path(opts.keys_file).read_text())
    metadata = itertools.cycle([(("authorization", f"Bearer {key}"),) for key in keys])
    payload = bytes.fromhex(opts.request_hex)
    options: list[tuple[str, Any]] = [("grpc.use_local_subchannel_pool", 1)]  # own TCP each
    if "," in opts.target:  # "ipv4:host:port,host:port": spread calls over every server
        options.append(("grpc.lb_policy_name", "round_robin"))
    channels = [
        grpc.aio.insecure_channel(opts.target, options=options)
        for _ in range(min(CHANNELS, opts.connections))
    ]
    try:
        ready = (c.channel_ready() for c in channels)
        await asyncio.wait_for(asyncio.gather(*ready), STARTUP_TIMEOUT_SECONDS)
        calls = [c.unary_unary(opts.method) for c in channels]  # raw bytes both ways
        tally = _Tally(measure_from=time.perf_counter() + opts.warmup)
        end = tally.measure_from + opts.duration
        await asyncio.gather(
            *(
                _caller(calls[i % len(calls)], payload, metadata, end, tally)
                for i in range(opts.connections)
            )
        )
    finally:
        for channel in channels:
            await channel.close()
    return tally.summary()


def run_grpc_load(
    name: str,
    target: str,
    method: str,
    payload: bytes,
    keys_file: Path,
    *,
    connections: int,
    duration: float,
    warmup: float = WARMUP_SECONDS,
    cpus: str = "",
) -> Row:
    """Run the load generator in a child process (on `cpus`, e.g. "1", when given) and turn
    its JSON into a Row."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_grpc-load",
        "--target",
        target,
        "--method",
        method,
        "--request-hex",
        payload.hex(),
        "--keys-file",
        str(keys_file),
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--cpus",
        cpus,
    ]
    timeout = duration + warmup + STARTUP_TIMEOUT_SECONDS + CALL_TIMEOUT_SECONDS
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"{name}: the gRPC load generator did not finish in {timeout:.0f} s"
        ) from None
    if done.returncode != 0:
        raise BenchError(f"{name}: gRPC load generator exited {done.returncode}:\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(name, data["rps"], data["p50_ms"], data["p99_ms"], data["calls"], data["failures"])


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
    target, _ = start_grpc_server(group, env, work / "serve-grpc.log")
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
    return Endpoints(target, base)


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


# REST load (wrk)

WRK_SCRIPT = """\
local keys = {%s}
local threads = {}
local started = 0

function setup(thread)
  started = started + 1
  thread:set("offset", started)
  table.insert(threads, thread)
end

function init(args)
  prepared = {}
  for i, key in ipairs(keys) do
    prepared[i] = wrk.format("GET", nil, {["Authorization"] = "Bearer " .. key})
  end
  index = offset
  statuses = {}
end

function request()
  index = index %% #prepared + 1
  return prepared[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %%d %%d\\n", status, count))
    end
  end
end
"""


def write_wrk_script(directory: Path, keys: list[str]) -> Path:
    path = directory / "keys.lua"
    path.touch(mode=0o600)
    path.write_text(WRK_SCRIPT % ", ".join(json.dumps(k) for k in keys))
    return path


def run_wrk(url: str, script: Path, connections: int, duration: float, cpus: str = "") -> str:
    """wrk's report; on `cpus` (e.g. "1") when given."""
    seconds = max(1, round(duration))
    cmd = [
        *on_cpus(cpus),
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 30} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}:\n{done.stderr or done.stdout}")
    return done.stdout


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(name: str, text: str) -> Row:
    """Requests/sec, the 50 % and 99 % latency lines, and every failure wrk reports."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    calls = re.search(r"^\s*(\d+) requests in", text, re.M)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", text, re.M))
    if not rps or not calls or set(latency) != {"50", "99"}:
        raise BenchError(f"cannot parse wrk output:\n{text}")
    p50, p99 = (re.fullmatch(r"([\d.]+)(us|ms|s|m)", latency[k]) for k in ("50", "99"))
    assert p50 is not None and p99 is not None
    return Row(
        name,
        float(rps.group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(calls.group(1)),
        wrk_failures(text),
    )


def wrk_failures(text: str) -> dict[str, int]:
    failures: Counter[str] = Counter()
    for code, count in re.findall(r"^STATUS (\d+) (\d+)$", text, re.M):  # one line per thread
        if int(code) >= 400:
            failures[f"HTTP {code}"] += int(count)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx and not failures:
        failures["HTTP non-2xx"] = int(non_2xx.group(1))
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sockets:
        for kind, count in zip(
            ("connect", "read", "write", "timeout"), sockets.groups(), strict=True
        ):
            if int(count):
                failures[f"socket {kind}"] = int(count)
    return dict(failures)


def rest_row(
    endpoints: Endpoints,
    presentation_id: str,
    keys: list[str],
    work: Path,
    opts: argparse.Namespace,
) -> Row | None:
    if shutil.which("wrk") is None:
        print("wrk is not on PATH: skipping the REST row (install: apt-get install -y wrk)")
        return None
    script = write_wrk_script(work, keys)
    url = f"{endpoints.http_base}/api/v1/presentations/{presentation_id}"
    run_wrk(url, script, opts.connections, WARMUP_SECONDS)  # warm-up, discarded
    return parse_wrk(
        "REST GetPresentation (wrk)", run_wrk(url, script, opts.connections, opts.duration)
    )


# argon2 count (in-process server)


def count_argon2(env: dict[str, str], keys_file: Path, connections: int) -> tuple[int, Row]:
    """GetCaller load against a server in this process; its argon2 count afterwards."""
    from chronicle.config import Settings
    from server.app import GrpcServerThread
    from server.container import Container

    container = Container(Settings.load(env))
    server = GrpcServerThread(container, port=0).start()
    try:
        row = run_grpc_load(
            "argon2 phase (in-process GetCaller)",
            f"127.0.0.1:{server.port}",
            GET_CALLER,
            b"",
            keys_file,
            connections=connections,
            duration=ARGON2_PHASE_SECONDS,
            warmup=0.0,
        )
    finally:
        server.stop()
    return container.authenticator.argon2_verifications, row


# Report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_text(ratio: float, target: float) -> str:
    return f"{ratio:.2f} (>= {target:.2f}) {verdict(ratio >= target)}"


def table(
    rows: Sequence[Row | None], names: Sequence[str], ratios: Sequence[float | None]
) -> list[str]:
    """Rows in order: no-op, gRPC GetPresentation, REST (None when skipped)."""
    targets = [None, GRPC_RATIO_TARGET, REST_RATIO_TARGET]
    header = f"{'':34}{'requests/s':>11}{'p50 ms':>9}{'p99 ms':>9}  {'ratio':<22}{'errors':>12}"
    lines = [header, "-" * len(header)]
    for name, row, ratio, target in zip(names, rows, [None, *ratios], targets, strict=True):
        if row is None:
            lines.append(f"{name:34}{'skipped (wrk not installed)':>29}")
            continue
        shown = ratio_text(ratio, target) if ratio is not None and target else "-"
        errors = f"{row.errors}/{row.calls}"
        lines.append(
            f"{name:34}{row.rps:>11,.0f}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}  {shown:<22}"
            f"{errors:>12}"
        )
    return lines


def report_failures(rows: Sequence[Row], calls: str) -> int:
    """Prints every row's non-OK answers; the exit status: 1 when more than
    MAX_ERROR_RATE of some row's calls (`calls` names them) were errors, else 0."""
    for row in rows:
        if row.failures:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(row.failures.items()))
            print(f"  non-OK in {row.name}: {detail} ({row.error_rate:.2%} of calls)")
    if any(row.error_rate > MAX_ERROR_RATE for row in rows):
        print(f"FAILED: more than {MAX_ERROR_RATE:.0%} of {calls} were errors")
        return 1
    return 0


def print_header(opts: argparse.Namespace) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: nproc={cpus}, {platform.machine()}, Python {platform.python_version()}, "
        "client and servers on loopback"
    )
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(
        f"load: {opts.connections} connections, {opts.duration:g} s measured per row after "
        f"a {WARMUP_SECONDS:g} s warm-up; {opts.keys} distinct keys round-robin;\n"
        f"      gRPC client: {min(CHANNELS, opts.connections)} grpc.aio channels "
        "in a separate process"
    )
    print(flush=True)


ROW_NAMES = (
    "gRPC GetCaller (no-op baseline)",
    "gRPC GetPresentation",
    "REST GetPresentation (wrk)",
)


def measure(
    opts: argparse.Namespace, work: Path
) -> tuple[list[tuple[Row, Row, Row | None]], int, Row]:
    """Provision, start the servers, run every load; stop the servers whatever happens."""
    env = bench_env(f"sqlite:///{work / 'bench.db'}")
    keys = provision(env, opts.keys)
    keys_file = write_keys(work, keys)
    with processes() as group:
        endpoints = start_servers(group, env, work)
        presentation_id = create_presentation(endpoints.grpc_target, keys[0])
        load = {"connections": opts.connections, "duration": opts.duration}
        payload = get_presentation_payload(presentation_id)
        rounds: list[tuple[Row, Row, Row | None]] = []
        for _ in range(opts.rounds):  # interleaved, so drift on a shared box hits every row
            noop = run_grpc_load(
                ROW_NAMES[0], endpoints.grpc_target, GET_CALLER, b"", keys_file, **load
            )
            get = run_grpc_load(
                ROW_NAMES[1], endpoints.grpc_target, GET_PRESENTATION, payload, keys_file, **load
            )
            rounds.append((noop, get, rest_row(endpoints, presentation_id, keys, work, opts)))
    verifications, argon2_row = count_argon2(env, keys_file, opts.connections)
    return rounds, verifications, argon2_row


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def median_row(rows: Sequence[Row | None]) -> Row | None:
    """The round with the median throughput (its latencies come with it)."""
    measured = sorted((r for r in rows if r is not None), key=lambda r: r.rps)
    return measured[len(measured) // 2] if measured else None


def run(opts: argparse.Namespace) -> int:
    print_header(opts)
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-") as tmp:
        rounds, verifications, argon2_row = measure(opts, Path(tmp))
    rows = [median_row([r[i] for r in rounds]) for i in range(3)]
    # Each round pairs its rows in time, so the ratio is taken per round, then the median.
    grpc_ratios = [get.rps / noop.rps for noop, get, _ in rounds]
    rest_ratios = [rest.rps / get.rps for _, get, rest in rounds if rest is not None]
    for line in table(rows, ROW_NAMES, [median(grpc_ratios), median(rest_ratios)]):
        print(line)
    print(
        f"(rows: the median of {opts.rounds} interleaved rounds; ratios: the median of the "
        "per-round ratios, GetPresentation / no-op: "
        + ", ".join(f"{r:.2f}" for r in grpc_ratios)
        + "; REST / gRPC: "
        + (", ".join(f"{r:.2f}" for r in rest_ratios) or "-")
        + ")"
    )
    print()
    print(
        f"argon2 verifications: {verifications} over {ARGON2_PHASE_SECONDS:g} s of GetCaller "
        f"load ({argon2_row.calls} calls, in-process server); distinct keys used: {opts.keys}; "
        f"target = distinct keys: {verdict(verifications == opts.keys)}"
    )
    measured = [row for r in rounds for row in r if row is not None] + [argon2_row]
    return report_failures(measured, "the calls of a phase")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per row")
    parser.add_argument("--connections", type=int, default=50, help="concurrent callers")
    parser.add_argument("--keys", type=int, default=4, help="distinct API keys")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    hidden = argparse.SUPPRESS
    parser.add_argument("--_grpc-load", dest="grpc_load", action="store_true", help=hidden)
    for flag in ("--target", "--method", "--keys-file"):
        parser.add_argument(flag, help=hidden)
    parser.add_argument("--request-hex", default="", help=hidden)
    parser.add_argument("--warmup", type=float, default=WARMUP_SECONDS, help=hidden)
    parser.add_argument("--cpus", default="", help=hidden)
    opts = parser.parse_args(argv)
    if min(opts.duration, opts.connections, opts.keys, opts.rounds) <= 0:
        parser.error("--duration, --connections, --keys and --rounds must be positive")
    return opts


def on_cpus(cpus: str) -> list[str]:
    """A command prefix running a program on the given CPUs (no-op when empty). Not
    preexec_fn: Python code between fork and exec in a process with gRPC's threads can
    crash the child (seen: wrk killed by SIGSEGV and SIGABRT)."""
    return ["taskset", "-c", cpus] if cpus else []


def pin(cpus: str) -> None:
    """Run this process on the given CPUs ("0", "1", "0,1"); no-op when empty."""
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    if opts.grpc_load:
        pin(opts.cpus)
        print(json.dumps(asyncio.run(grpc_load(opts))))
        return 0
    return run_reporting_failure(run, opts)


def run_reporting_failure(run: Callable[[argparse.Namespace], int], opts: Any) -> int:
    """A benchmark's exit status: its own, or 1 with the reason when it could not run."""
    try:
        return run(opts)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
