"""MCP's cost (issue 17, point 5): a get_presentation tool call against a REST GET of the
same deck, and 100 get_generation_status calls waiting beside GetPresentation traffic.

Run from the repository root:

    .venv/bin/python bench/mcp.py [--duration 8] [--rounds 3] [--connections 16] [--waiting 100]

`chronicle serve-grpc`, `serve-edge` and `worker`, each its own process, on a fresh
SQLite database (production argon2; a rate limit no load here reaches).
1. Tool vs REST, interleaved --rounds times with `wrk`: GET /api/v1/presentations/{id} and
   POST /mcp `tools/call get_presentation` (stateless JSON-RPC, as an agent sends it), the
   same key and deck. Prints each row and the median ratio of the tool's throughput to
   REST's (the tool costs <= 1.5x: ratio >= 0.67).
2. Waiting calls: a generation is left awaiting input; --waiting concurrent MCP
   get_generation_status calls wait on it (CHRONICLE_MCP_WAIT=30). Meanwhile the gRPC load
   generator measures GetPresentation; the same load runs once with nothing waiting. Prints
   both rows, the p99 ratio (<= 2.0), and the gRPC server's thread count before and while
   the calls wait (no thread per waiting call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from export_load import fill_deck
from loads import Row, parse_wrk, run_grpc_load, run_wrk
from report import table

import harness

GET = "/chronicle.v1.PresentationService/GetPresentation"
WAIT_SECONDS = 30
TOOL_RATIO_TARGET = 1 / 1.5
P99_TARGET = 2.0

_STATUSES = """
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function init(args) statuses = {} end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
end
threads = {}
function setup(thread) table.insert(threads, thread) end
"""


MODERN = "2026-07-28"  # the protocol without a handshake: each request says what it is


def wrk_script(
    directory: Path, name: str, method: str, key: str, body: str = "", **extra: str
) -> Path:
    headers = {"Authorization": f"Bearer {key}", **extra}
    if body:
        headers |= {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
    lua_headers = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
    script = directory / f"{name}.lua"
    script.write_text(
        f'wrk.method = "{method}"\n'
        f"wrk.headers = {{{lua_headers}}}\n"
        + (f"wrk.body = {json.dumps(body)}\n" if body else "")
        + _STATUSES
    )
    return script


def tool_call(deck_id: str, modern: bool = False) -> str:
    params: dict[str, object] = {
        "name": "get_presentation",
        "arguments": {"presentation_id": deck_id},
    }
    if modern:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def awaiting_generation(base: str, key: str) -> str:
    """A generation left awaiting input (a thin prompt asks a question)."""
    headers = {"authorization": f"Bearer {key}"}
    started = httpx.post(
        f"{base}/api/v1/presentations/generate", json={"prompt": "Otters"}, headers=headers
    )
    generation = str(started.json()["generation_id"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx.get(
            f"{base}/api/v1/presentations/generate/{generation}/status", headers=headers
        ).json()
        if status["status"] == "awaiting_input":
            return generation
        time.sleep(0.2)
    raise harness.BenchError("the generation never asked its question")


class Waiters:
    """`count` concurrent get_generation_status calls, each waiting its full time."""

    def __init__(self, base: str, key: str, generation: str, count: int) -> None:
        self._args = (base, key, generation, count)
        self.answered = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        base, key, generation, count = self._args
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "get_generation_status", "arguments": {"generation_id": generation}},
        }
        headers = {
            "authorization": f"Bearer {key}",
            "accept": "application/json, text/event-stream",
        }
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(timeout=WAIT_SECONDS + 30, limits=limits) as client:
            answers = await asyncio.gather(
                *(client.post(f"{base}/mcp", json=body, headers=headers) for _ in range(count))
            )
        self.answered = sum(1 for a in answers if a.status_code == 200)

    def __enter__(self) -> Waiters:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join(timeout=WAIT_SECONDS + 60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--waiting", type=int, default=100)
    opts = parser.parse_args(argv)
    with harness.processes() as group, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        env |= {"CHRONICLE_MCP_WAIT": str(WAIT_SECONDS), "CHRONICLE_ACCESS_LOG": "false"}
        keys = harness.provision(env, 1)
        key = keys[0]
        keys_file = harness.write_keys(work, keys)
        servers = harness.start_servers(group, env, work)
        group.start([*harness.chronicle_command(), "worker"], env, work / "worker.log")
        deck_id = harness.create_presentation(servers.grpc_target, key)
        fill_deck(servers.grpc_target, key, deck_id)
        rest = wrk_script(work, "rest", "GET", key)
        mcp = wrk_script(work, "mcp", "POST", key, tool_call(deck_id))

        modern = wrk_script(
            work,
            "modern",
            "POST",
            key,
            tool_call(deck_id, modern=True),
            **{"mcp-protocol-version": MODERN, "mcp-method": "tools/call"},
            **{"mcp-name": "get_presentation"},
        )
        targets = [
            ("REST GET", f"{servers.http_base}/api/v1/presentations/{deck_id}", rest),
            ("MCP get_presentation 2025-06", f"{servers.http_base}/mcp", mcp),
            (f"MCP get_presentation {MODERN}", f"{servers.http_base}/mcp", modern),
        ]
        rounds: list[list[Row]] = [[], [], []]
        for n in range(1, opts.rounds + 1):
            for rows, (name, url, script) in zip(rounds, targets, strict=True):
                text = run_wrk(url, script, opts.connections, opts.duration)
                rows.append(parse_wrk(f"{name} (round {n})", text))

        def grpc_load(name: str) -> Row:
            return run_grpc_load(
                name,
                servers.grpc_target,
                GET,
                harness.get_presentation_payload(deck_id),
                keys_file,
                connections=opts.connections,
                duration=opts.duration,
            )

        generation = awaiting_generation(servers.http_base, key)
        idle = grpc_load("GetPresentation, nothing waiting")
        threads_before = threads_of(servers.grpc_pid)
        with Waiters(servers.http_base, key, generation, opts.waiting) as waiters:
            time.sleep(2)  # every call has reached the server and waits
            threads_waiting = threads_of(servers.grpc_pid)
            beside = grpc_load(f"GetPresentation, {opts.waiting} waiting")
    print(f"# {time.strftime('%Y-%m-%d')} bench/mcp.py {' '.join(sys.argv[1:])}")
    rows = [row for era in rounds for row in era]
    names = [row.name for row in rows]
    for line in table(rows, names, [None] * (len(names) - 1), [None] * len(names)):
        print(line)
    for (name, _, _), era in zip(targets[1:], rounds[1:], strict=True):
        ratio = statistics.median(t.rps / r.rps for t, r in zip(era, rounds[0], strict=True))
        verdict = "PASS" if ratio >= TOOL_RATIO_TARGET else "MISS"
        print(
            f"{name} / REST GET throughput, median of {opts.rounds}: {ratio:.2f} "
            f"(>= {TOOL_RATIO_TARGET:.2f}, i.e. <= 1.5x the cost) {verdict}"
        )
    for line in table([idle, beside], [idle.name, beside.name], [None], [None, None]):
        print(line)
    p99 = beside.p99_ms / idle.p99_ms if idle.p99_ms else float("inf")
    print(
        f"p99 with {opts.waiting} waiting / idle: {p99:.2f} (<= {P99_TARGET:.1f}) "
        f"{'PASS' if p99 <= P99_TARGET else 'MISS'}"
    )
    print(
        f"gRPC server threads: {threads_before} before, {threads_waiting} while "
        f"{opts.waiting} calls wait; {waiters.answered}/{opts.waiting} answered after the wait"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
