"""Valid traffic while unauthenticated 1 MB requests arrive (issue 13, item 3).

    .venv/bin/python bench/unauthenticated.py [--duration 5] [--connections 8] [--flood-rate 100]

`chronicle serve-grpc` and `chronicle serve-edge` start on a fresh SQLite database. A
valid key's GET /api/v1/caller is measured from --connections concurrent clients for
--duration seconds, unloaded; then again while another process sends --flood-rate POST
/api/v1/presentations a second, each with a 1 MB body and no valid key (half without a
key, half with a made-up one). Prints one table: throughput, p50, p99, the p50 ratio to
unloaded (target <= 2.0), and what the flood got back. Exit 1 when a server did not start
or more than 1 % of valid calls failed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

import harness
from server import key_material

BODY_BYTES = 1_000_000
TARGET_P50_RATIO = 2.0


async def _valid(url: str, key: str, connections: int, duration: float) -> tuple[list[float], int]:
    """Latencies (ms) of successful calls, and the failures."""
    latencies: list[float] = []
    failures = 0
    end = time.perf_counter() + duration

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.perf_counter() < end:
            start = time.perf_counter()
            answer = await client.get("/api/v1/caller", headers={"x-api-key": key})
            if answer.status_code == 200:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                failures += 1

    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        await worker(client)  # warm
        end = time.perf_counter() + duration
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    return latencies, failures


async def _send_one(host: str, port: int, headers: str, statuses: Counter[str]) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(headers.encode())
        writer.write(b"{" + b" " * (BODY_BYTES - 2) + b"}")
        await asyncio.wait_for(writer.drain(), 10)
        line = await asyncio.wait_for(reader.readline(), 10)
        statuses[line.split(b" ")[1].decode() if line else "no answer"] += 1
        writer.close()
    except (ConnectionResetError, BrokenPipeError):
        statuses["closed while sending"] += 1  # refused before its body was read
    except (OSError, TimeoutError, IndexError):
        statuses["error"] += 1


def _flood(
    url: str, rate: float, duration: float, made_up: str, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    host, port = url.removeprefix("http://").split(":")

    async def run() -> Counter[str]:
        statuses: Counter[str] = Counter()
        tasks = []
        start = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - start < duration:
            key = f"x-api-key: {made_up}\r\n" if n % 2 else ""
            headers = (
                f"POST /api/v1/presentations HTTP/1.1\r\nhost: {host}\r\n"
                f"content-type: application/json\r\ncontent-length: {BODY_BYTES}\r\n"
                f"{key}connection: close\r\n\r\n"
            )
            tasks.append(asyncio.create_task(_send_one(host, int(port), headers, statuses)))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - now))
        await asyncio.gather(*tasks)
        statuses["sent"] = n
        return statuses

    out.put(dict(asyncio.run(run())))


def _row(
    name: str, latencies: list[float], failures: int, duration: float
) -> tuple[str, float, float, float, int]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    p50 = statistics.median(ordered) if ordered else float("nan")
    return name, len(ordered) / duration, p50, p99, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--flood-rate", type=float, default=100.0)
    opts = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="chronicle-unauth-") as tmp,
        harness.processes() as group,
    ):
        work = Path(tmp)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        (key,) = harness.provision(env, 1)
        endpoints = harness.start_servers(group, env, work)
        url = endpoints.http_base
        unloaded = _row(
            "valid, unloaded",
            *asyncio.run(_valid(url, key, opts.connections, opts.duration)),
            opts.duration,
        )
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        made_up = key_material.generate("live").raw
        flood = multiprocessing.Process(
            target=_flood, args=(url, opts.flood_rate, opts.duration + 2, made_up, queue)
        )
        flood.start()
        time.sleep(1.0)  # the flood under way
        loaded = _row(
            f"valid, {opts.flood_rate:g}/s unauth 1 MB",
            *asyncio.run(_valid(url, key, opts.connections, opts.duration)),
            opts.duration,
        )
        flood.join(timeout=60)
        statuses = queue.get(timeout=5) if not queue.empty() else {}

    print(f"{'row':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'fail':>5}  p50/unloaded")
    for name, rps, p50, p99, failed in (unloaded, loaded):
        ratio = p50 / unloaded[2]
        verdict = (
            ""
            if name == unloaded[0]
            else f"{ratio:.2f} ({'PASS' if ratio <= TARGET_P50_RATIO else 'MISS'}, "
            f"target <= {TARGET_P50_RATIO})"
        )
        print(f"{name:<34} {rps:>8.0f} {p50:>8.2f} {p99:>8.2f} {failed:>5}  {verdict}")
    sent = statuses.pop("sent", 0)
    print(f"flood: {sent} requests sent over {opts.duration + 2:g} s; answers: {statuses}")
    worst = max(unloaded[4], loaded[4])
    return 1 if worst > 0.01 * max(1, unloaded[1] * opts.duration) else 0


if __name__ == "__main__":
    raise SystemExit(main())
