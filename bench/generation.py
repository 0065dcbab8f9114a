"""Generation benchmark: the built-in writer's speed, and whether jobs starve reads.

Run from the repository root:

    .venv/bin/python bench/generation.py [--duration 8] [--jobs 50]

1. Writer: a 2,000-word prompt (headings and paragraphs, fixed seed) into a 10-slide deck
   with the built-in writer, 30 times in this process: median and p90 (target: median
   <= 200 ms).
2. Starvation: `chronicle serve-grpc` and one `chronicle worker` as separate processes on
   a fresh SQLite database. GetPresentation load (50 callers, the gRPC load generator of
   bench/run.py) first idle, then while a backlog of generation jobs of that prompt is
   being worked through (sized so that at least --jobs remain when the window ends).
   Prints both p99s and their ratio (target: busy <= 2x idle) and the jobs' states.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import loads
import report

import harness
from chronicle.v1 import presentation_service_pb2 as pres_pb
from chronicle.v1 import presentation_service_pb2_grpc as pres_grpc
from server.generation.builtin import BuiltinWriter
from server.generation.writer import Brief

GET_PRESENTATION = "/chronicle.v1.PresentationService/GetPresentation"
TOPICS = ("market", "customers", "pricing", "team", "roadmap", "risks", "budget", "results")
VOCABULARY = [
    "growth",
    "revenue",
    "customers",
    "onboarding",
    "churn",
    "retention",
    "pipeline",
    "partners",
    "launch",
    "region",
    "engineers",
    "quality",
    "release",
    "feedback",
    "survey",
    "pricing",
    "margin",
    "budget",
    "hiring",
    "roadmap",
    "risk",
    "delivery",
    "support",
    "platform",
    "adoption",
    "conversion",
    "forecast",
    "quarter",
    "target",
    "milestone",
]


def prompt_of(words: int, seed: int = 7) -> str:
    """Markdown-ish notes: a heading per topic, paragraphs of plausible sentences."""
    rng = random.Random(seed)
    parts, count = [], 0
    while count < words:
        parts.append(f"## {rng.choice(TOPICS).title()}")
        for _ in range(3):
            sentence_words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 16))]
            sentence = " ".join(sentence_words).capitalize() + "."
            parts.append(sentence)
            count += len(sentence_words)
    return "\n\n".join(parts)


def time_writer(prompt: str, runs: int = 30) -> tuple[float, float]:
    writer = BuiltinWriter()
    brief = Brief(prompt, prompt, "Auto", "Subtle", 10, "us")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        sections = [writer.write(brief, p).section for p in writer.plan(brief).sections]
        timings.append((time.perf_counter() - started) * 1000)
        assert len(sections) == 10
    timings.sort()
    return statistics.median(timings), timings[int(0.9 * (len(timings) - 1))]


def submit_jobs(target: str, key: str, prompt: str, count: int) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        stub = pres_grpc.PresentationServiceStub(channel)
        metadata = [("authorization", f"Bearer {key}")]
        request = pres_pb.GeneratePresentationRequest(prompt=prompt, non_interactive=True)
        request.section_count.number_value = 10
        return [
            stub.GeneratePresentation(request, metadata=metadata).generation_id
            for _ in range(count)
        ]


def job_states(target: str, key: str, ids: list[str]) -> dict[str, int]:
    with grpc.insecure_channel(target) as channel:
        stub = pres_grpc.PresentationServiceStub(channel)
        metadata = [("authorization", f"Bearer {key}")]
        states: dict[str, int] = {}
        for gid in ids:
            status = stub.GetGenerationStatus(
                pres_pb.GetGenerationStatusRequest(generation_id=gid), metadata=metadata
            ).status
            states[status] = states.get(status, 0) + 1
        return states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--jobs", type=int, default=50)
    opts = parser.parse_args()
    prompt = prompt_of(2000)
    median, p90 = time_writer(prompt)
    print(
        f"command: .venv/bin/python bench/generation.py --duration {opts.duration:g} "
        f"--jobs {opts.jobs}"
    )
    print(
        f"built-in writer, 2,000-word prompt -> 10 slides: median {median:.1f} ms, "
        f"p90 {p90:.1f} ms (target median <= 200 ms: {report.verdict(median <= 200)})"
    )

    with (
        tempfile.TemporaryDirectory(prefix="chronicle-genbench-") as tmp,
        harness.processes() as group,
    ):
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        keys = harness.provision(env, 1)
        keys_file = harness.write_keys(work, keys)
        endpoints = harness.start_servers(group, env, work)
        payload = harness.get_presentation_payload(
            harness.create_presentation(endpoints.grpc_target, keys[0])
        )
        load = {"connections": 50, "duration": opts.duration}
        idle = loads.run_grpc_load(
            "GetPresentation, idle",
            endpoints.grpc_target,
            GET_PRESENTATION,
            payload,
            keys_file,
            **load,
        )
        # Enough jobs that, one worker taking them in turn, at least --jobs are still in
        # the system when the measured window ends.
        backlog = opts.jobs + int((opts.duration + loads.WARMUP_SECONDS) * 1000 / median * 2)
        ids = submit_jobs(endpoints.grpc_target, keys[0], prompt, backlog)
        group.start([*harness.chronicle_command(), "worker"], env, work / "worker.log")
        busy = loads.run_grpc_load(
            f"GetPresentation, {opts.jobs} jobs",
            endpoints.grpc_target,
            GET_PRESENTATION,
            payload,
            keys_file,
            **load,
        )
        states = job_states(endpoints.grpc_target, keys[0], ids)

    print()
    rows = [idle, busy, None]
    for line in report.table(rows, [idle.name, busy.name, "-"], [None, None], [None] * 3)[:-1]:
        print(line)
    ratio = busy.p99_ms / idle.p99_ms
    print(
        f"\np99 with jobs / idle: {ratio:.2f} (target <= 2.00: {report.verdict(ratio <= 2)}); "
        f"jobs at the end of the window: {states}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
