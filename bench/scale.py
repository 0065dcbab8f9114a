"""Chronicle API benchmark: reads on SQLite vs PostgreSQL, one vs two server processes.

Run from the repository root (PostgreSQL on 127.0.0.1:5432 for its rows; skipped without):

    .venv/bin/python bench/scale.py [--duration 5] [--rounds 2] [--decks 100000]

For each database (a fresh SQLite file; a fresh PostgreSQL database, dropped afterwards):
`chronicle migrate`, a workspace, --keys API keys, one deck created over gRPC from the
first template, then --decks copies of it inserted directly (the workspace's list). Then,
with 1 and with 2 `chronicle serve-grpc` processes (two ports; the load generator of
bench/loads.py balances its channels round-robin across them), three gRPC loads:
GetPresentation, ListPresentations page 1 and ListPresentations page --deep-page (20
decks a page, its token made from the row where that page starts). Rows are interleaved
over --rounds rounds; each shows its median round. Ratios, all within this run:
- deep page / page 1 (keyset pagination: target about 1.0),
- PostgreSQL / SQLite, same load and server count,
- 2 servers / 1 server.
Then py-spy profiles of one server process (on PostgreSQL when it is there) under
GetPresentation and under ListPresentations page 1: where its samples fall, by package,
and its own hottest functions.

Nothing is pinned: two servers need both cores, and the load generator shares them, so
"2 / 1" shows what a second process buys on this 2-core machine, not on a bigger one.
Exit status 0 when the run worked; 1 on a failure or > 1 % errors in any row.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import loads
import psycopg
import report
import sqlalchemy as sa
from sqlalchemy.orm import Session

import harness
from chronicle.v1 import presentation_service_pb2 as pb
from server.paging import encode_token
from server.storage import models

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIST = "/chronicle.v1.PresentationService/ListPresentations"
PAGE_SIZE = 20


@contextmanager
def database(kind: str, work: Path, postgres: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{work / 'scale.db'}"
        return
    admin = postgres.replace("postgresql+psycopg://", "postgresql://")
    name = f"chronicle_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable(url: str) -> bool:
    try:
        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2
        ):
            return True
    except psycopg.Error:
        return False


def seed(url: str, deck_id: str, count: int) -> str:
    """`count` copies of the deck in its workspace, a millisecond apart, newest first;
    returns the workspace id."""
    engine = sa.create_engine(url)
    with Session(engine) as session:
        deck = session.get(models.Presentation, deck_id)
        assert deck is not None
        workspace, sections, start = deck.workspace_id, list(deck.sections), deck.created_at
    table = models.Presentation.__table__
    with engine.begin() as connection:
        for first in range(0, count, 5000):
            connection.execute(
                table.insert(),
                [
                    {
                        "id": f"pres_bench{n:07d}",
                        "workspace_id": workspace,
                        "title": f"Deck {n}",
                        "sections": sections,
                        "is_public": False,
                        "revision": 1,
                        "created_at": start - timedelta(milliseconds=n + 1),
                        "updated_at": start,
                    }
                    for n in range(first, min(first + 5000, count))
                ],
            )
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE presentations")
    engine.dispose()
    return workspace


def page_token(url: str, workspace: str, page: int) -> str:
    """The next_page_token a client holds after reading pages 1 … page-1."""
    engine = sa.create_engine(url)
    deck = models.Presentation
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(deck.created_at, deck.id)
            .where(deck.workspace_id == workspace)
            .order_by(deck.created_at.desc(), deck.id.desc())
            .offset((page - 1) * PAGE_SIZE - 1)
            .limit(1)
        ).one()
    engine.dispose()
    return encode_token((row.created_at, row.id))


def start_servers(
    group: harness.Processes, env: dict[str, str], work: Path, n: int
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    """`n` serve-grpc processes on ports of their own: (target, process) each."""
    return [
        harness.start_grpc_server(group, env, work / f"serve-grpc-{n}-{i}.log") for i in range(n)
    ]


def load(
    name: str, targets: list[str], method: str, payload: bytes, *, keys: Path, opts: Any
) -> loads.Row:
    target = targets[0] if len(targets) == 1 else "ipv4:" + ",".join(targets)
    return loads.run_grpc_load(
        name, target, method, payload, keys, connections=opts.connections, duration=opts.duration
    )


def payloads(deck_id: str, deep_token: str) -> dict[str, tuple[str, bytes]]:
    return {
        "GetPresentation": (loads.GET_PRESENTATION, harness.get_presentation_payload(deck_id)),
        "List page 1": (LIST, pb.ListPresentationsRequest(page_size=PAGE_SIZE).SerializeToString()),
        "List deep page": (
            LIST,
            pb.ListPresentationsRequest(
                page_size=PAGE_SIZE, page_token=deep_token
            ).SerializeToString(),
        ),
    }


def profile(
    group: harness.Processes,
    env: dict[str, str],
    work: Path,
    *,
    keys: Path,
    request: Any,
    opts: Any,
) -> Path | None:
    """A py-spy record of one server under one load: `request` is (name, method, payload)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("(py-spy not installed: no profile)")
        return None
    ((target, server),) = start_servers(group, env, work, 1)
    name, method, payload = request
    out = work / f"profile-{name.replace(' ', '-')}.txt"
    seconds = max(3, int(opts.profile))
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    window = argparse.Namespace(connections=opts.connections, duration=seconds)
    load(f"profile: {name}", [target], method, payload, keys=keys, opts=window)
    _, err = recorder.communicate(timeout=seconds + 30)
    if recorder.returncode != 0 or not out.exists():
        print(f"(py-spy failed: {err.strip()[-300:]})")
        return None
    return out


# py-spy names files by module path: "(server/auth.py:12)". gRPC's Cython code is not
# visible to it: its time shows as the asyncio frame that called it, or a bare thread.
PACKAGES = (
    ("(server/", "Chronicle server code"),
    ("(chronicle/", "Chronicle server code"),
    ("(sqlalchemy/", "SQLAlchemy"),
    ("(psycopg", "psycopg (with its waits on PostgreSQL)"),
    ("(sqlite3/", "sqlite3"),
    ("(google/protobuf", "protobuf"),
    ("(grpc", "gRPC (Python)"),
    ("(asyncio/events.py", "gRPC's Cython code, called from the event loop"),
    ("(asyncio/", "asyncio event loop"),
    ("(threading.py", "threads in C code (gRPC's poller; waits)"),
    ("(concurrent/futures", "thread pool"),
)


def where_time_goes(raw: Path, top: int = 12) -> list[str]:
    """Samples by the package of the innermost frame, and the server's own functions by
    inclusive share."""
    by_package: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf = frames[-1]
        by_package[next((name for key, name in PACKAGES if key in leaf), "other")] += n
        for frame in {f.split(" (")[0] for f in frames if "(server/" in f}:
            ours[frame] += n
    if not total:
        return ["(no samples)"]
    lines = ["samples by the innermost frame's package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_package.most_common()]
    lines.append("Chronicle functions on the stack (inclusive):")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in ours.most_common(top)]
    return lines


def measure(
    opts: argparse.Namespace, work: Path
) -> tuple[dict[str, list[loads.Row]], dict[str, Path]]:
    kinds = ["sqlite"] + (["postgresql"] if postgres_reachable(opts.postgres) else [])
    if "postgresql" not in kinds:
        print(f"(no PostgreSQL at {opts.postgres}: its rows are skipped)\n")
    rows: dict[str, list[loads.Row]] = {}
    profiles: dict[str, Path] = {}
    for kind in kinds:
        with database(kind, work, opts.postgres) as url:
            env = harness.bench_env(url)
            keys = harness.provision(env, opts.keys)
            keys_file = harness.write_keys(work, keys)
            with harness.processes() as group:
                ((target, _),) = start_servers(group, env, work, 1)
                deck_id = harness.create_presentation(target, keys[0])
            workspace = seed(url, deck_id, opts.decks)
            requests = payloads(deck_id, page_token(url, workspace, opts.deep_page))
            for n in range(opts.rounds):
                print(f"{kind}: round {n + 1}/{opts.rounds}…", file=sys.stderr, flush=True)
                for servers in (1, 2):
                    with harness.processes() as group:
                        targets = [t for t, _ in start_servers(group, env, work, servers)]
                        for name, (method, payload) in requests.items():
                            label = f"{kind}, {servers} server{'s' * (servers > 1)}: {name}"
                            row = load(label, targets, method, payload, keys=keys_file, opts=opts)
                            rows.setdefault(label, []).append(row)
            if kind != kinds[-1] or opts.profile <= 0:
                continue
            for name in ("GetPresentation", "List page 1"):
                with harness.processes() as group:
                    request = (name, *requests[name])
                    raw = profile(group, env, work, keys=keys_file, request=request, opts=opts)
                    if raw is not None:
                        profiles[f"{name}, one server on {kind}"] = raw
    return rows, profiles


def ratio(rows: dict[str, list[loads.Row]], top: str, bottom: str) -> str:
    if top not in rows or bottom not in rows:
        return "-"
    per_round = [a.rps / b.rps for a, b in zip(rows[top], rows[bottom], strict=True)]
    return f"{statistics.median(per_round):.2f}"


def print_report(rows: dict[str, list[loads.Row]], opts: argparse.Namespace) -> None:
    header = (
        f"{'':40}{'requests/s':>11}{'p50 ms':>9}{'p99 ms':>9}  {'deep/p1':>8}"
        f"{'PG/SQLite':>10}{'2/1 srv':>9}{'errors':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, runs in rows.items():
        row = report.median_row(runs)
        assert row is not None
        kind, rest = label.split(", ", 1)
        servers, load_name = rest.split(": ")
        one = f"{kind}, 1 server: {load_name}"
        deep = (
            ratio(rows, label, f"{kind}, {servers}: List page 1")
            if load_name == "List deep page"
            else ""
        )
        pg = ratio(rows, label, label.replace("postgresql", "sqlite")) if kind != "sqlite" else ""
        two = ratio(rows, label, one) if servers != "1 server" else ""
        print(
            f"{label:40}{row.rps:>11,.0f}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}  {deep:>8}"
            f"{pg:>10}{two:>9}{f'{row.errors}/{row.calls}':>13}"
        )
    print(
        f"(median of {opts.rounds} rounds; deep page = page {opts.deep_page:,} of a "
        f"{opts.decks:,}-deck workspace, {PAGE_SIZE} a page)\n"
    )


def run(opts: argparse.Namespace) -> int:
    report.print_header(opts)
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-scale-") as tmp:
        rows, profiles = measure(opts, Path(tmp))
        print_report(rows, opts)
        for name, raw in profiles.items():
            print(f"profile (py-spy, {max(3, int(opts.profile))} s): {name}")
            print("\n".join(where_time_goes(raw)))
            print()
    all_rows = [r for runs in rows.values() for r in runs]
    return report.report_failures(all_rows, "the calls of a row")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent callers")
    parser.add_argument("--keys", type=int, default=4, help="distinct API keys")
    parser.add_argument("--decks", type=int, default=100_000, help="decks in the workspace")
    parser.add_argument("--deep-page", type=int, default=1000, help="the deep page's number")
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL to create a db in")
    parser.add_argument("--profile", type=float, default=5.0, help="profile seconds (0: none)")
    opts = parser.parse_args(argv)
    if opts.deep_page * PAGE_SIZE > opts.decks:
        parser.error("--deep-page must fall inside --decks")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return report.run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
