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
3. gRPC load comes from a separate process (bench/loads.py), so its CPU is not the
   server's: `grpc.aio`, a few channels, --connections concurrent callers, the N
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
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from loads import (
    GET_PRESENTATION,
    WARMUP_SECONDS,
    Row,
    parse_wrk,
    run_grpc_load,
    run_wrk,
    write_wrk_script,
)
from report import (
    median_row,
    print_header,
    report_failures,
    run_reporting_failure,
    table,
    verdict,
)

from harness import (
    GET_CALLER,
    Endpoints,
    InProcessServer,
    bench_env,
    create_presentation,
    get_presentation_payload,
    processes,
    provision,
    start_servers,
    write_keys,
)

ARGON2_PHASE_SECONDS = 3.0
GRPC_RATIO_TARGET = 0.80
REST_RATIO_TARGET = 0.70


# REST load (wrk)


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
    from server.container import Container

    container = Container(Settings.load(env))
    server = InProcessServer(container).start()
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


def run(opts: argparse.Namespace) -> int:
    print_header(opts)
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-") as tmp:
        rounds, verifications, argon2_row = measure(opts, Path(tmp))
    rows = [median_row([r[i] for r in rounds]) for i in range(3)]
    # Each round pairs its rows in time, so the ratio is taken per round, then the median.
    grpc_ratios = [get.rps / noop.rps for noop, get, _ in rounds]
    rest_ratios = [rest.rps / get.rps for _, get, rest in rounds if rest is not None]
    targets = [None, GRPC_RATIO_TARGET, REST_RATIO_TARGET]
    for line in table(rows, ROW_NAMES, [median(grpc_ratios), median(rest_ratios)], targets):
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
    opts = parser.parse_args(argv)
    if min(opts.duration, opts.connections, opts.keys, opts.rounds) <= 0:
        parser.error("--duration, --connections, --keys and --rounds must be positive")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
