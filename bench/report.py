"""How every benchmark reports: the header, verdicts, medians, failures, exit status."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence

from loads import CHANNELS, WARMUP_SECONDS, Row

from harness import BenchError

MAX_ERROR_RATE = 0.01


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_text(ratio: float, target: float) -> str:
    return f"{ratio:.2f} (>= {target:.2f}) {verdict(ratio >= target)}"


def table(
    rows: Sequence[Row | None],
    names: Sequence[str],
    ratios: Sequence[float | None],
    targets: Sequence[float | None],
) -> list[str]:
    """One line a row (None: skipped); the first row is the baseline the ratios are of."""
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


def median_row(rows: Sequence[Row | None]) -> Row | None:
    """The round with the median throughput (its latencies come with it)."""
    measured = sorted((r for r in rows if r is not None), key=lambda r: r.rps)
    return measured[len(measured) // 2] if measured else None


def run_reporting_failure(
    run: Callable[[argparse.Namespace], int], opts: argparse.Namespace
) -> int:
    """A benchmark's exit status: its own, or 1 with the reason when it could not run."""
    try:
        return run(opts)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
