"""Exports beside reads: do PPTX/PDF exports slow down the GetPresentation calls served
at the same time? (Issue 15, point 5: p99 at most 2x.)

Run from the repository root:

    .venv/bin/python bench/export_load.py [--duration 10] [--connections 8] [--exporters 1]

One `chronicle serve-grpc` process on a fresh SQLite database. A 10-slide deck is made
through the API. Then, in one run:
1. GetPresentation load alone (the gRPC load generator, in its own process);
2. the same load while --exporters threads here export the deck to PDF and PPTX, one
   after the other, as fast as the server answers.
Prints throughput and p50/p99 of both loads, the ratio of the p99s (<= 2.0 is the
target), and the exports' own median latency and count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from loads import Row, run_grpc_load
from report import table

import harness
from chronicle.v1 import presentation_pb2
from chronicle.v1 import presentation_service_pb2 as pb
from chronicle.v1 import presentation_service_pb2_grpc as pb_grpc

GET = "/chronicle.v1.PresentationService/GetPresentation"
P99_TARGET = 2.0


def ten_slides() -> list[presentation_pb2.Section]:
    bullets = ["Revenue grew 18 percent", "Churn fell to 2 percent", "Six engineers hired"]
    return [
        presentation_pb2.Section(
            title=f"Slide {n}: where we stand",
            layout="title_and_body",
            blocks=[
                presentation_pb2.ContentBlock(paragraph=presentation_pb2.Paragraph(text="Q3.")),
                presentation_pb2.ContentBlock(
                    bullet_list=presentation_pb2.BulletList(items=bullets)
                ),
            ],
            speaker_notes="Pause for questions.",
        )
        for n in range(1, 11)
    ]


def fill_deck(target: str, key: str, deck_id: str) -> None:
    metadata = (("authorization", f"Bearer {key}"),)
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.PresentationServiceStub(channel)
        request = pb.UpdatePresentationRequest(id=deck_id, sections=ten_slides())
        request.update_mask.paths.append("sections")
        stub.UpdatePresentation(request, metadata=metadata, timeout=30)


class Exporters:
    """Threads exporting the deck back to back until stopped; their latencies."""

    def __init__(self, target: str, key: str, deck_id: str, count: int) -> None:
        self._metadata = (("authorization", f"Bearer {key}"),)
        self._target, self._deck_id = target, deck_id
        self._stop = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        with grpc.insecure_channel(self._target) as channel:
            stub = pb_grpc.PresentationServiceStub(channel)
            formats = ["pdf", "pptx"]
            n = 0
            while not self._stop.is_set():
                request = pb.ExportPresentationRequest(id=self._deck_id, format=formats[n % 2])
                started = time.perf_counter()
                try:
                    stub.ExportPresentation(request, metadata=self._metadata, timeout=60)
                    self.latencies.append(time.perf_counter() - started)
                except grpc.RpcError:
                    self.failures += 1
                n += 1

    def __enter__(self) -> Exporters:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--exporters", type=int, default=1)
    opts = parser.parse_args(argv)
    with harness.processes() as group, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        keys = harness.provision(env, 1)
        keys_file = harness.write_keys(work, keys)
        target, _ = harness.start_grpc_server(group, env, work / "serve-grpc.log")
        deck_id = harness.create_presentation(target, keys[0])
        fill_deck(target, keys[0], deck_id)
        payload = harness.get_presentation_payload(deck_id)

        def load(name: str) -> Row:
            return run_grpc_load(
                name,
                target,
                GET,
                payload,
                keys_file,
                connections=opts.connections,
                duration=opts.duration,
            )

        alone = load("GetPresentation alone")
        with Exporters(target, keys[0], deck_id, opts.exporters) as exports:
            beside = load(f"GetPresentation beside {opts.exporters} exporter(s)")
    ratio = beside.p99_ms / alone.p99_ms if alone.p99_ms else float("inf")
    print(f"# {time.strftime('%Y-%m-%d')} bench/export_load.py {' '.join(sys.argv[1:])}")
    for line in table([alone, beside], [alone.name, beside.name], [None], [None, None]):
        print(line)
    verdict = "PASS" if ratio <= P99_TARGET else "MISS"
    print(f"p99 beside exports / alone: {ratio:.2f} (<= {P99_TARGET:.1f}) {verdict}")
    if exports.latencies:
        median_ms = statistics.median(exports.latencies) * 1000
        print(
            f"exports during the load: {len(exports.latencies)} done, {exports.failures} failed,"
            f" median {median_ms:.0f} ms (PDF and PPTX alternating, 10 slides)"
        )
    return 0 if exports.latencies and not exports.failures else 1


if __name__ == "__main__":
    sys.exit(main())
