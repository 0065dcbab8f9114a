"""Chronicle API benchmark: what the rate limiter costs, and valid traffic under a key flood.

Run from the repository root (Redis on 127.0.0.1:6379 for the Redis row, skipped without
one; `wrk` for the REST rows; Node with @grpc/grpc-js, from `make setup`, for the flood):

    .venv/bin/python bench/keys.py [--duration 5] [--rounds 3] [--connections 50]
        [--flood 1000] [--parts cost,rest,grpc]

Everything runs on loopback against a fresh SQLite database with production argon2. On two
or more CPUs, this process and the servers get CPU 0, every load generator CPU 1.

1. Limiter cost (cost). A gRPC server in this process (bench/harness.py), GetCaller (a no-op
   behind the interceptor) driven by the load generator of bench/loads.py in a separate
   process, with three limiters in turn: none (every request allowed without bookkeeping),
   the in-process GCRA, and the Redis GCRA (one Lua call per loop tick's requests).
   Ratio: limited / none.
2. Flood, the way public traffic comes (rest): `chronicle serve-edge` in front of the same
   server; valid GET /api/v1/caller from wrk alone (the baseline), then the same load while
   another process (bench/flood.mjs, Node: a Python sender would spend the load's CPU)
   sends --flood invalid-key requests per second to the edge, paced, one kind per row:
   - malformed: keys with a bad checksum;
   - unknown ids, one client: well-formed keys whose ids do not exist, from one address;
   - unknown ids, many clients: the same, each request from another address
     (X-Forwarded-For, which the edge's uvicorn believes from loopback);
   - wrong secrets, many clients: the real key ids with wrong secrets, many addresses.
3. Flood straight to the gRPC server (grpc): the same, valid GetCaller from the Python
   load generator, the flood over gRPC (many clients claim addresses in
   chronicle-client-address, which the server believes from loopback).
Ratio: valid throughput with the flood / without (target >= 0.70). The flood's achieved rate,
its own CPU, the server's argon2 runs and the answers are printed beneath each table.

Rows are interleaved over --rounds rounds; each row reports its median round, each ratio the
median of its per-round ratios. Exit status 0 when the run worked, targets met or not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import loads
import report

import harness
from chronicle import credentials
from chronicle.config import Settings
from chronicle.gcra import Decision, InProcessLimiter
from server import key_material
from server.container import Container
from server.ratelimit import LocalLimiter, RedisLimiter

FLOOD_TARGET = 0.70
REST_PATH = "/api/v1/caller"  # GetCaller: a no-op behind the key check
REDIS_URL = "redis://127.0.0.1:6379/0"
FLOOD_KINDS = (
    "malformed",
    "unknown ids, one client",
    "unknown ids, many clients",
    "wrong secrets, many clients",
)


class NoLimiter:
    """The baseline: no bookkeeping at all."""

    async def hit(self, key: str, rate: Any) -> Decision:
        return Decision(True, rate.count, rate.count, 0.0, 0.0)


def make_limiter(kind: str) -> Any:
    if kind == "none":
        return NoLimiter()
    if kind == "in-process":
        return LocalLimiter(InProcessLimiter())
    return RedisLimiter(REDIS_URL, timeout=1.0)


def redis_available() -> bool:
    return harness.redis_answers(REDIS_URL)


def serve(settings: Settings, limiter: str = "in-process") -> harness.InProcessServer:
    container = Container(settings)
    container.limiter = make_limiter(limiter)  # type: ignore[misc]  # a cached_property
    return harness.InProcessServer(container).start()


def valid_load(name: str, server: harness.InProcessServer, keys_file: Path, opts: Any) -> loads.Row:
    return loads.run_grpc_load(
        name,
        f"127.0.0.1:{server.port}",
        harness.GET_CALLER,
        b"",
        keys_file,
        connections=opts.connections,
        duration=opts.duration,
        cpus=opts.client_cpus,
    )


# The flood: a paced sender in a process of its own (Node: see bench/flood.mjs)

FLOOD_SCRIPT = Path(__file__).resolve().parent / "flood.mjs"
FLOOD_KEYS = 20_000  # distinct keys a flood cycles through


def flood_keys(kind: str, real_keys: list[str]) -> list[str]:
    def malformed() -> str:
        raw = key_material.generate("live").raw
        return raw[:-1] + ("A" if raw[-1] != "A" else "B")

    def unknown() -> str:
        return key_material.generate("live").raw

    def wrong_secret() -> str:
        real = credentials.parse(random.choice(real_keys))
        assert real is not None
        body = f"chr_live_{real.key_id.removeprefix('key_')}_{secrets.token_hex(16)}"
        return body + credentials.checksum(body)

    make = {"malformed": malformed, "wrong": wrong_secret}.get(kind.split(maxsplit=1)[0], unknown)
    return [make() for _ in range(FLOOD_KEYS)]


def start_flood(
    kind: str, endpoint: dict[str, str], real_keys: list[str], opts: Any, work: Path
) -> subprocess.Popen[str]:
    """`endpoint`: {"target", "method"} for gRPC, {"url"} for REST (see bench/flood.mjs)."""
    node = shutil.which("node")
    if node is None or not (Path("node_modules") / "@grpc" / "grpc-js").is_dir():
        raise harness.BenchError("the flood needs node and @grpc/grpc-js: run `make setup`")
    config = {
        **endpoint,
        "rate": opts.flood,
        "duration": opts.duration + loads.WARMUP_SECONDS + 2,  # covers the valid load
        "keys": flood_keys(kind, real_keys),
        "many_clients": "many clients" in kind,
    }
    settings = work / "flood.json"
    settings.write_text(json.dumps(config))
    return subprocess.Popen(
        [*harness.on_cpus(opts.client_cpus), node, str(FLOOD_SCRIPT), str(settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_flood(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=60)
    if process.returncode != 0:
        raise harness.BenchError(f"the flood sender exited {process.returncode}:\n{err}")
    return dict(json.loads(out.strip().splitlines()[-1]))


# Through the edge: `chronicle serve-edge` in front of the same server


def start_edge(
    group: harness.Processes, env: dict[str, str], server: harness.InProcessServer, work: Path
) -> str:
    """The edge's base URL. A child of this process, so on the server's CPU too."""
    port = harness.free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "serve-edge.log"
    cmd = [
        *harness.chronicle_command(),
        "serve-edge",
        "--grpc-target",
        f"127.0.0.1:{server.port}",
        "--http-port",
        str(port),
    ]
    proc = group.start(cmd, env, log)
    harness.wait_until(lambda: harness.http_ok(f"{url}/healthz"), proc, "chronicle serve-edge", log)
    return url


def warm_edge(url: str, real_keys: list[str]) -> None:
    """One request per valid key, so the edge and the server know them before a flood."""
    for key in real_keys:
        request = urllib.request.Request(url + REST_PATH, headers={"x-api-key": key})  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            answer.read()


def valid_rest_load(name: str, url: str, script: Path, opts: Any) -> loads.Row:
    target = url + REST_PATH
    loads.run_wrk(target, script, opts.connections, loads.WARMUP_SECONDS, opts.client_cpus)
    return loads.parse_wrk(
        name, loads.run_wrk(target, script, opts.connections, opts.duration, opts.client_cpus)
    )


# The run


def measure(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
    real_keys = harness.provision(env, opts.keys)
    keys_file = harness.write_keys(work, real_keys)
    wrk_script = loads.write_wrk_script(work, real_keys)
    settings = Settings.load(env)
    limiters = ["none", "in-process"] + (["redis"] if redis_available() else [])
    limiters = limiters if "cost" in opts.parts else []
    ways = [way for way in ("rest", "grpc") if way in opts.parts]
    results: dict[str, Any] = {
        "cost": {k: [] for k in limiters},
        "rest": {k: [] for k in ("none", *FLOOD_KINDS)},
        "grpc": {k: [] for k in ("none", *FLOOD_KINDS)},
        "answers": {(way, k): [] for way in ("rest", "grpc") for k in FLOOD_KINDS},
    }
    for n in range(opts.rounds):
        print(f"round {n + 1}/{opts.rounds}…", file=sys.stderr, flush=True)
        for limiter in limiters:
            server = serve(settings, limiter)
            try:
                results["cost"][limiter].append(
                    valid_load(f"limiter: {limiter}", server, keys_file, opts)
                )
            finally:
                server.stop(grace=0)
        for way, kind in itertools.product(ways, ("none", *FLOOD_KINDS)):
            server = serve(settings)
            try:
                with harness.processes() as group:
                    if way == "rest":
                        url = start_edge(group, env, server, work)
                        warm_edge(url, real_keys)
                        endpoint = {"url": url + REST_PATH}
                    else:
                        server.warm(real_keys)
                        endpoint = {
                            "target": f"127.0.0.1:{server.port}",
                            "method": harness.GET_CALLER,
                        }
                    sender = (
                        None
                        if kind == "none"
                        else start_flood(kind, endpoint, real_keys, opts, work)
                    )
                    name = f"{way}: {kind}"
                    results[way][kind].append(
                        valid_rest_load(name, url, wrk_script, opts)
                        if way == "rest"
                        else valid_load(name, server, keys_file, opts)
                    )
                    if sender is not None:
                        answers = finish_flood(sender)
                        answers["argon2"] = server.container.authenticator.argon2_verifications
                        results["answers"][(way, kind)].append(answers)
            finally:
                server.stop(grace=0)
    return results


def ratios(rows: Sequence[loads.Row], baseline: Sequence[loads.Row]) -> list[float]:
    return [r.rps / b.rps for r, b in zip(rows, baseline, strict=True)]


def print_table(title: str, groups: dict[str, list[loads.Row]], target: float | None) -> None:
    header = f"{title:40}{'requests/s':>11}{'p50 ms':>9}{'p99 ms':>9}  {'ratio':<24}{'errors':>12}"
    print(header)
    print("-" * len(header))
    baseline = next(iter(groups.values()))
    for name, rows in groups.items():
        row = report.median_row(rows)
        assert row is not None
        per_round = ratios(rows, baseline)
        ratio = statistics.median(per_round)
        shown = "baseline" if rows is baseline else f"{ratio:.2f}"
        if target is not None and rows is not baseline:
            shown += f" (>= {target:.2f}) {report.verdict(ratio >= target)}"
        print(
            f"{name:40}{row.rps:>11,.0f}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}  {shown:<24}"
            f"{row.errors}/{row.calls:>11}"
        )
    spread = "; ".join(
        f"{name}: " + ", ".join(f"{r:.2f}" for r in ratios(rows, baseline))
        for name, rows in list(groups.items())[1:]
    )
    print(f"(per-round ratios: {spread})")
    print()


def run(opts: argparse.Namespace) -> int:
    report.print_header(opts)
    if opts.server_cpus:
        print(
            f"pinned: this process, its gRPC server and the edge on CPU {opts.server_cpus}; "
            f"the valid load and the flood on CPU {opts.client_cpus} (--no-pin: share both)\n"
        )
    harness.pin(opts.server_cpus)
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-keys-") as tmp:
        results = measure(opts, Path(tmp))
    if "cost" in opts.parts:
        print_table("limiter cost (GetCaller)", results["cost"], None)
        if "redis" not in results["cost"]:
            print("(no Redis on 127.0.0.1:6379: the Redis row was skipped)\n")
    for way, title in (
        ("rest", "REST GET /api/v1/caller, through the edge"),
        ("grpc", "gRPC GetCaller, straight to the server"),
    ):
        if way not in opts.parts:
            continue
        print(f"{title}, while {opts.flood:g} invalid requests/s arrive the same way:")
        print_table("valid load", results[way], FLOOD_TARGET)
        for kind in FLOOD_KINDS:
            runs = results["answers"][(way, kind)]
            answers: Counter[str] = Counter()
            for r in runs:
                answers.update(r["answers"])
            rate = statistics.median(r["rate"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            argon2 = statistics.median(r["argon2"] for r in runs)
            print(
                f"  flood '{kind}': {rate:,.0f} req/s sent (median), using {cpu:.0%} of a core "
                f"itself; {argon2:g} argon2 runs in the server; answers: "
                + ", ".join(f"{k} {v}" for k, v in answers.most_common())
            )
        print()
    valid_rows = [
        row
        for group in ("cost", "rest", "grpc")
        for rows in results[group].values()
        for row in rows
    ]
    return report.report_failures(valid_rows, "the valid calls of a row")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--connections", type=int, default=50, help="valid concurrent callers")
    parser.add_argument("--keys", type=int, default=4, help="distinct valid API keys")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--flood", type=float, default=1000, help="invalid requests a second")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and clients")
    parser.add_argument(
        "--parts",
        default="cost,rest,grpc",
        help="cost (the limiter), rest and grpc (the flood): what to measure",
    )
    opts = parser.parse_args(argv)
    opts.parts = set(opts.parts.split(","))
    if not opts.parts or not opts.parts <= {"cost", "rest", "grpc"}:
        parser.error("--parts takes cost, rest and grpc, separated by commas")
    # On two or more CPUs the server gets CPU 0 and both load generators CPU 1, so the
    # rows measure what the server does rather than how the clients share the machine.
    pinned = len(os.sched_getaffinity(0)) >= 2 and not opts.no_pin
    opts.server_cpus, opts.client_cpus = ("0", "1") if pinned else ("", "")
    if min(opts.duration, opts.connections, opts.keys, opts.rounds, opts.flood) <= 0:
        parser.error("--duration, --connections, --keys, --rounds and --flood must be positive")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return report.run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
