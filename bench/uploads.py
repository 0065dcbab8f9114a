"""Uploads benchmark: the local backend's upload throughput, and PDF text extraction.

Run from the repository root:

    .venv/bin/python bench/uploads.py [--size-mb 50] [--rounds 5] [--pages 100]

1. Throughput: `chronicle serve-grpc` and `chronicle serve-edge` as separate processes on
   a fresh SQLite database and upload directory. Each round asks for an upload target over
   REST, then posts a --size-mb file (from a file on disk, in the page cache) as multipart
   to the edge over loopback, timed from the first byte sent to the 204. The same round
   also copies the same file to the same file system directly, in 64 KiB writes (what the
   edge does, minus HTTP and multipart parsing). Reports the medians and their ratio.
2. Extraction: a --pages page PDF made with fpdf2 (about 1,500 characters a page), its text
   read by the worker's extractor (pypdf), --rounds times in this process: the median.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fpdf import FPDF

import harness
from chronicle import upload_policy
from server.files import extract

CHUNK = 64 * 1024
LINE = b"Uploads stream through the edge to disk, chunk by chunk, never whole in memory.\n"


def start(group: harness.Processes, env: dict[str, str], work: Path) -> str:
    """serve-grpc and serve-edge; the edge's base URL (also the server's public URL)."""
    return harness.start_servers(group, {**env, "CHRONICLE_ACCESS_LOG": "false"}, work).http_base


def upload_once(client: httpx.Client, key: str, source: Path) -> float:
    """Seconds to post `source` to a fresh target (the target request not counted)."""
    size = source.stat().st_size
    body = {"file_name": "bench.txt", "content_type": "text/plain", "declared_file_size": size}
    answer = client.post(
        "/api/v1/uploads/create-target", json=body, headers={"authorization": f"Bearer {key}"}
    )
    answer.raise_for_status()
    target = answer.json()
    fields = {f["name"]: f["value"] for f in target["fields"]}
    with source.open("rb") as f:
        started = time.perf_counter()
        posted = client.post(target["url"], data=fields, files={"file": ("bench.txt", f)})
        elapsed = time.perf_counter() - started
    if posted.status_code != 204:
        raise harness.BenchError(f"upload answered {posted.status_code}: {posted.text[:200]}")
    return elapsed


def copy_once(source: Path, directory: Path) -> float:
    """Seconds to write `source`'s bytes to a new file in `directory`, 64 KiB at a time."""
    destination = directory / f"direct-{time.monotonic_ns()}"
    started = time.perf_counter()
    with source.open("rb") as src, destination.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    elapsed = time.perf_counter() - started
    destination.unlink()
    return elapsed


def pdf_of(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    sentence = "Quarterly figures show steady growth across every region we serve. "
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page + 1}. " + sentence * 22, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def time_extraction(pdf: bytes, rounds: int) -> tuple[float, int]:
    timings, chars = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        text = extract.text_of(io.BytesIO(pdf), upload_policy.PDF) or ""
        timings.append(time.perf_counter() - started)
        chars = len(text)
    return statistics.median(timings), chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=100)
    opts = parser.parse_args()
    size = min(opts.size_mb * 1024 * 1024, upload_policy.MAX_FILE_BYTES)
    print(
        f"machine: nproc={os.cpu_count()}, {platform.machine()}, Python "
        f"{platform.python_version()}, client and servers on loopback"
    )
    print(
        f"command: .venv/bin/python bench/uploads.py --size-mb {opts.size_mb} "
        f"--rounds {opts.rounds} --pages {opts.pages}"
    )

    with (
        tempfile.TemporaryDirectory(prefix="chronicle-upbench-") as tmp,
        harness.processes() as group,
    ):
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        env["CHRONICLE_UPLOAD_DIR"] = str(work / "uploads")
        key = harness.provision(env, 1)[0]
        public = start(group, env, work)
        source = work / "source.txt"
        source.write_bytes((LINE * (size // len(LINE) + 1))[:size])
        edge, direct = [], []
        with httpx.Client(base_url=public, timeout=300) as client:
            upload_once(client, key, source)  # warm-up
            for round_ in range(opts.rounds):
                # Interleaved, in alternating order, each after a sync: neither pays for
                # writing back the other's dirty pages.
                for which in ("edge", "direct") if round_ % 2 == 0 else ("direct", "edge"):
                    os.sync()
                    if which == "edge":
                        edge.append(upload_once(client, key, source))
                    else:
                        direct.append(copy_once(source, work))
    mb = size / 1e6
    edge_rate = [mb / s for s in edge]
    direct_rate = [mb / s for s in direct]
    ratios = [e / d for e, d in zip(edge_rate, direct_rate, strict=True)]
    median_s, chars = time_extraction(pdf_of(opts.pages), opts.rounds)

    def row(name: str, rates: list[float], seconds: list[float]) -> str:
        runs = ", ".join(f"{r:.0f}" for r in rates)
        return (
            f"{name:44}{statistics.median(rates):>14,.1f}{statistics.median(seconds):>10.3f}"
            f"  {runs}"
        )

    print()
    print(f"{'':44}{'MB/s (median)':>14}{'seconds':>10}  runs (MB/s)")
    print("-" * 90)
    print(row("upload through the edge (local backend)", edge_rate, edge))
    print(row("same bytes written to disk directly", direct_rate, direct))
    per_run = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"({size:,} bytes per run; edge / direct: median of the per-run ratios "
        f"{statistics.median(ratios):.2f}; per run: {per_run})"
    )
    print(
        f"\nPDF extraction, {opts.pages} pages ({chars:,} characters of text): "
        f"median {median_s * 1000:.0f} ms over {opts.rounds} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
