"""Chronicle API benchmark: `chronicle serve --processes N`, N=1 vs N=2, and the rate
limiter that the processes share.

Run from the repository root (needs `wrk` for the REST rows: `apt-get install -y wrk`):

    .venv/bin/python bench/processes.py [--duration 8] [--rounds 3] [--connections 50]

1. A fresh SQLite database: `chronicle migrate`, a workspace, --keys API keys, with the
   production argon2 settings; one deck.
2. For each of --rounds rounds, for N in 1, 2: `chronicle serve --processes N` (each
   process a gRPC server and an edge calling it; one generation worker beside them) on
   free ports, then two loads, each after a warm-up of its own:
   (a) REST: GET /api/v1/presentations/{id} through the edges, `wrk -t2 -c{connections}`;
   (b) gRPC: GetPresentation from bench/loads.py's load generator, with 16 channels
       (SO_REUSEPORT spreads connections, not calls: with its usual 4, two processes
       would often get 3 and 1, or all 4 one).
   Per row: requests/s and latency; the load generator's own CPU (cores: CPU seconds per
   second of the run); the servers' CPU (every process of the command, parent and worker
   included) per request, and in cores; how the load's connections fell on the server
   processes. Each row is its median round; the ratios N=2 / N=1 are medians of the
   per-round ratios.
3. The limiter without Redis: microseconds per hit of the in-process GCRA, of the table
   the processes share (server.shared_limits, the one used with N > 1) and of the
   alternative not taken, a SQLite table updated with one upsert … RETURNING a hit; in one
   process, and in two processes at once on the same keys (where the table must stay
   exact: the allowed hits of a limited key are counted).

Nothing is pinned: the load generator shares the two cores with the servers, so N=2 vs
N=1 is what a second process buys on this 2-core machine with the client on it, not on a
bigger one. Exit status 0 when the run worked; 1 on a failure or > 1 % errors in a row.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import loads
import report

import harness
from chronicle.config import RateLimit
from chronicle.gcra import InProcessLimiter
from server.shared_limits import SharedTable

COUNTS = (1, 2)
GRPC_CHANNELS = 16
WARMUP_SECONDS = 2.0
LIMITER_HITS = 50_000
# The limited key of the exactness check: a period so long it grows by nothing meanwhile.
LIMITED = RateLimit(1000, 10**8)


# The servers


@dataclass
class Serving:
    """One `chronicle serve --processes N`: its process, ports and server processes."""

    proc: subprocess.Popen[bytes]
    count: int
    grpc_port: int
    http_port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def pids(self) -> list[int]:
        """The command's processes: the one started and all its descendants."""
        found, queue = [], [self.proc.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            try:
                queue += [
                    int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                ]
            except FileNotFoundError:
                continue
        return found

    def servers(self, port: int, state: str = "0A") -> dict[int, int]:
        """Server processes by the sockets they hold on `port` in `state` (0A: listening,
        01: connected)."""
        inodes = {inode for p, st, inode in _tcp() if p == port and st == state}
        held = {pid: len(_socket_inodes(pid) & inodes) for pid in self.pids()}
        return {pid: n for pid, n in held.items() if n}

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                total += harness.cpu_seconds(pid)
            except FileNotFoundError:
                continue
        return total


def _tcp() -> Iterator[tuple[int, str, int]]:
    """(local port, state, inode) of every TCP socket of the machine."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            yield int(fields[1].rsplit(":", 1)[1], 16), fields[3], int(fields[9])


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except FileNotFoundError:
        pass
    return inodes


@contextmanager
def serving(env: dict[str, str], work: Path, count: int) -> Iterator[Serving]:
    grpc_port, http_port = harness.free_port(), harness.free_port()
    log = work / f"serve-{count}.log"
    cmd = [*harness.chronicle_command(), "serve", "--processes", str(count)]
    cmd += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    env = {**env, "CHRONICLE_PUBLIC_URL": f"http://127.0.0.1:{http_port}"}
    with harness.processes() as group:
        served = Serving(group.start(cmd, env, log), count, grpc_port, http_port)

        def ready() -> bool:  # every process listens on both ports
            return all(len(served.servers(port)) == count for port in (grpc_port, http_port))

        harness.wait_until(ready, served.proc, f"chronicle serve --processes {count}", log)
        yield served


# The loads


@dataclass(frozen=True)
class Measured:
    row: loads.Row
    server_ms_per_request: float
    server_cores: float
    client_cores: float
    spread: str  # connections per server process, e.g. "26/24"


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the load generators)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(served: Serving, port: int, run: Callable[[], loads.Row], duration: float) -> Measured:
    """`run` (one load of `duration` seconds, its generator a child of this process) with
    the CPU it cost the servers and the generator, and the spread of its connections,
    seen half way."""
    spread: list[str] = []

    def look() -> None:
        time.sleep(duration / 2)
        counts = sorted(served.servers(port, "01").values(), reverse=True)
        spread.append("/".join(map(str, counts)) or "-")

    looker = threading.Thread(target=look)
    server_before, client_before, began = served.cpu(), children_cpu(), time.monotonic()
    looker.start()
    row = run()
    wall = time.monotonic() - began
    server_used, client_used = served.cpu() - server_before, children_cpu() - client_before
    looker.join()
    return Measured(
        row,
        server_used / max(row.calls, 1) * 1000,
        server_used / wall,
        client_used / wall,
        spread[0],
    )


def rest(served: Serving, script: Path, deck: str, opts: argparse.Namespace) -> loads.Row:
    url = f"{served.base}/api/v1/presentations/{deck}"
    return loads.parse_wrk(
        f"REST, N={served.count}", loads.run_wrk(url, script, opts.connections, opts.duration)
    )


def grpc(
    served: Serving, keys: Path, deck: str, opts: argparse.Namespace, seconds: float
) -> loads.Row:
    """bench/loads.py's generator (this file run with --load, which gives it GRPC_CHANNELS
    channels); no warm-up inside: the CPU counted is that of the calls counted."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--load", "--target", served.target]
    cmd += ["--method", loads.GET_PRESENTATION, "--keys-file", str(keys)]
    cmd += ["--request-hex", harness.get_presentation_payload(deck).hex()]
    cmd += ["--connections", str(opts.connections), "--duration", str(seconds), "--warmup", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise harness.BenchError(f"gRPC load generator exited {done.returncode}:\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    name = f"gRPC, N={served.count}"
    return loads.Row(
        name, data["rps"], data["p50_ms"], data["p99_ms"], data["calls"], data["failures"]
    )


def run_loads(
    served: Serving, keys: Path, script: Path, deck: str, opts: argparse.Namespace
) -> dict[str, Measured]:
    rows = {}
    loads.run_wrk(
        f"{served.base}/api/v1/presentations/{deck}", script, opts.connections, WARMUP_SECONDS
    )
    rows["REST"] = measure(
        served, served.http_port, lambda: rest(served, script, deck, opts), opts.duration
    )
    grpc(served, keys, deck, opts, WARMUP_SECONDS)
    rows["gRPC"] = measure(
        served,
        served.grpc_port,
        lambda: grpc(served, keys, deck, opts, opts.duration),
        opts.duration,
    )
    return rows


# The limiter


class SqliteGcra:
    """The alternative not taken: GCRA state in a SQLite table, one upsert a hit (the
    UPDATE applies only when the hit is allowed; RETURNING says whether it did)."""

    UPSERT = (
        "INSERT INTO limits (key, tat) VALUES (:key, :now + :interval) "
        "ON CONFLICT (key) DO UPDATE SET tat = max(tat, :now) + :interval "
        "WHERE max(tat, :now) + :interval - :period <= :now RETURNING tat"
    )

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS limits (key TEXT PRIMARY KEY, tat REAL)")

    def hit(self, key: str, rate: RateLimit) -> bool:
        values = {
            "key": key,
            "now": time.monotonic(),
            "interval": rate.per_seconds / rate.count,
            "period": rate.per_seconds,
        }
        return bool(self._db.execute(self.UPSERT, values).fetchall())


def _hits(limiter: Any, count: int, limited: str) -> tuple[float, int]:
    """`count` hits over four unlimited keys, then a tenth as many on the key `limited`
    (LIMITED): the seconds the first took, and how many of the second were allowed."""
    unlimited = RateLimit(10**9, 1)
    keys = [f"key_{n:020d}" for n in range(4)]
    began = time.perf_counter()
    for n in range(count):
        limiter.hit(keys[n % 4], unlimited)
    seconds = time.perf_counter() - began
    allowed = 0
    for _ in range(count // 10):
        decision = limiter.hit(limited, LIMITED)
        allowed += bool(decision if isinstance(decision, bool) else decision.allowed)
    return seconds, allowed


def _hits_in_child(make: Callable[[], Any], count: int, results: Any) -> None:
    results.put(_hits(make(), count, "key_limited_together"))


def _shared(table: SharedTable) -> SharedTable:
    return table


def _sqlite(path: str) -> SqliteGcra:
    return SqliteGcra(path)


def limiter_lines(work: Path) -> list[str]:
    from functools import partial

    table = SharedTable.create()
    made: dict[str, Callable[[], Any]] = {
        "in-process (N=1)": InProcessLimiter,
        "shared table (N>1, no Redis)": partial(_shared, table),
        "SQLite upsert (not taken)": partial(_sqlite, str(work / "limits.db")),
    }
    header = f"{'limiter':32}{'µs/hit, 1 process':>19}{'µs/hit, 2 at once':>19}{'allowed':>14}"
    lines = [header, "-" * len(header)]
    spawn = multiprocessing.get_context("spawn")
    for name, make in made.items():
        alone, _ = _hits(make(), LIMITER_HITS, "key_limited_alone")
        together, allowed = "-", "-"
        if "in-process" not in name:  # nothing to share: each process has its own
            results = spawn.Queue()
            workers = [
                spawn.Process(target=_hits_in_child, args=(make, LIMITER_HITS, results))
                for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            outcomes = [results.get(timeout=600) for _ in workers]
            for worker in workers:
                worker.join()
            together = f"{max(s for s, _ in outcomes) / (2 * LIMITER_HITS) * 1e6:.2f}"
            allowed = f"{sum(a for _, a in outcomes)} of {LIMITED.count}"
        lines.append(f"{name:32}{alone / LIMITER_HITS * 1e6:>19.2f}{together:>19}{allowed:>14}")
    lines.append(
        f"({LIMITER_HITS:,} hits over 4 keys each; 2 at once: both processes' hits over the "
        f"wall time of the slower; allowed: of {2 * LIMITER_HITS // 10:,} hits on a key "
        f"allowed {LIMITED.count:,} in all)"
    )
    return lines


# The report


def ratio(rows: dict[str, list[Measured]], load: str, pick: Callable[[Measured], float]) -> str:
    """The median of the per-round ratios N=2 / N=1, and each round's."""
    ones, twos = rows.get(f"{load}, N=1", []), rows.get(f"{load}, N=2", [])
    if not ones or not twos:
        return "-"
    per_round = [pick(b) / pick(a) for a, b in zip(ones, twos, strict=True)]
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    return f"{statistics.median(per_round):.2f} (rounds: {rounds})"


def print_table(rows: dict[str, list[Measured]], opts: argparse.Namespace) -> None:
    header = (
        f"{'':13}{'requests/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'server ms/req':>15}"
        f"{'server cores':>14}{'loadgen cores':>15}{'connections':>13}{'errors':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, runs in rows.items():
        middle = report.median_row([m.row for m in runs])
        assert middle is not None
        m = next(m for m in runs if m.row is middle)
        print(
            f"{name:13}{m.row.rps:>11,.0f}{m.row.p50_ms:>8.2f}{m.row.p99_ms:>8.2f}"
            f"{statistics.median(x.server_ms_per_request for x in runs):>15.3f}"
            f"{m.server_cores:>14.2f}{m.client_cores:>15.2f}{m.spread:>13}"
            f"{f'{m.row.errors}/{m.row.calls}':>12}"
        )
    print(
        f"(each row: the round with the median throughput of {opts.rounds}; server ms/req: "
        "the median of the rounds)"
    )
    for load in ("REST", "gRPC"):
        print(f"{load}: N=2 / N=1 throughput {ratio(rows, load, lambda m: m.row.rps)}")
        cpu = ratio(rows, load, lambda m: m.server_ms_per_request)
        print(f"{' ' * len(load)}  server CPU per request {cpu} (target: not above 1 ± noise)")
    print()


def print_header(opts: argparse.Namespace) -> None:
    cpus = len(os.sched_getaffinity(0))
    print(f"machine: nproc={cpus}, {platform.machine()}, Python {platform.python_version()}")
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(
        f"load: {opts.connections} connections, {opts.duration:g} s measured per row, after "
        f"a {WARMUP_SECONDS:g} s warm-up run of its own; {opts.keys} keys round-robin;\n"
        f"      REST: wrk -t2; gRPC: bench/loads.py with {GRPC_CHANNELS} grpc.aio channels; "
        "each load generator a process of its own, on the same cores as the servers\n",
        flush=True,
    )


def run(opts: argparse.Namespace) -> int:
    print_header(opts)
    rows: dict[str, list[Measured]] = {}
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-processes-") as tmp:
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        keys = harness.provision(env, opts.keys)
        keys_file = harness.write_keys(work, keys)
        script = loads.write_wrk_script(work, keys)
        deck = ""
        for n in range(opts.rounds):
            for count in COUNTS:
                print(f"round {n + 1}/{opts.rounds}, N={count}…", file=sys.stderr, flush=True)
                with serving(env, work, count) as served:
                    deck = deck or harness.create_presentation(served.target, keys[0])
                    for load, measured in run_loads(served, keys_file, script, deck, opts).items():
                        rows.setdefault(f"{load}, N={count}", []).append(measured)
        print_table(rows, opts)
        print("\n".join(limiter_lines(work)))
    return report.report_failures(
        [m.row for runs in rows.values() for m in runs], "the calls of a row"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per row")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent callers")
    parser.add_argument("--keys", type=int, default=4, help="distinct API keys")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--load"]:  # the load generator, with more channels than its default
        loads.CHANNELS = GRPC_CHANNELS
        return loads.main(argv[1:])
    return report.run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
