"""The loads benchmarks drive: a gRPC load generator (this file, run as a process of its
own so its CPU is not the server's) and wrk for REST, each turned into a Row."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from harness import STARTUP_TIMEOUT_SECONDS, BenchError, on_cpus, pin

GET_PRESENTATION = "/chronicle.v1.PresentationService/GetPresentation"
WARMUP_SECONDS = 1.0
CHANNELS = 4
CALL_TIMEOUT_SECONDS = 10.0
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Row:
    """One measured load: throughput, latency and the non-OK answers by status."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    calls: int
    failures: dict[str, int]

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 1.0


# gRPC load generator (runs in its own process: `loads.py --target ...`)


@dataclass
class _Tally:
    measure_from: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    last_done: float = 0.0

    def record(self, started: float, finished: float, status: str) -> None:
        if started < self.measure_from:
            return  # warm-up
        self.latencies.append(finished - started)
        self.statuses[status] += 1
        self.last_done = max(self.last_done, finished)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        seconds = max(self.last_done - self.measure_from, 1e-9)
        return {
            "calls": len(ordered),
            "rps": len(ordered) / seconds if ordered else 0.0,
            "p50_ms": _percentile(ordered, 50) * 1000,
            "p99_ms": _percentile(ordered, 99) * 1000,
            "failures": {k: v for k, v in self.statuses.items() if k != "OK"},
        }


def _percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


async def _caller(
    call: Any, payload: bytes, metadata: Iterator[Any], end: float, tally: _Tally
) -> None:
    while (started := time.perf_counter()) < end:
        status = "OK"
        try:
            await call(payload, metadata=next(metadata), timeout=CALL_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            status = exc.code().name
        tally.record(started, time.perf_counter(), status)


async def grpc_load(opts: argparse.Namespace) -> dict[str, Any]:
    """Drive one method with `opts.connections` callers; return the measured window's summary."""
    keys: list[str] = json.loads(Path(opts.keys_file).read_text())
    metadata = itertools.cycle([(("authorization", f"Bearer {key}"),) for key in keys])
    payload = bytes.fromhex(opts.request_hex)
    options: list[tuple[str, Any]] = [("grpc.use_local_subchannel_pool", 1)]  # own TCP each
    if "," in opts.target:  # "ipv4:host:port,host:port": spread calls over every server
        options.append(("grpc.lb_policy_name", "round_robin"))
    channels = [
        grpc.aio.insecure_channel(opts.target, options=options)
        for _ in range(min(CHANNELS, opts.connections))
    ]
    try:
        ready = (c.channel_ready() for c in channels)
        await asyncio.wait_for(asyncio.gather(*ready), STARTUP_TIMEOUT_SECONDS)
        calls = [c.unary_unary(opts.method) for c in channels]  # raw bytes both ways
        tally = _Tally(measure_from=time.perf_counter() + opts.warmup)
        end = tally.measure_from + opts.duration
        await asyncio.gather(
            *(
                _caller(calls[i % len(calls)], payload, metadata, end, tally)
                for i in range(opts.connections)
            )
        )
    finally:
        for channel in channels:
            await channel.close()
    return tally.summary()


def run_grpc_load(
    name: str,
    target: str,
    method: str,
    payload: bytes,
    keys_file: Path,
    *,
    connections: int,
    duration: float,
    warmup: float = WARMUP_SECONDS,
    cpus: str = "",
) -> Row:
    """Run the load generator in a child process (on `cpus`, e.g. "1", when given) and turn
    its JSON into a Row."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--target",
        target,
        "--method",
        method,
        "--request-hex",
        payload.hex(),
        "--keys-file",
        str(keys_file),
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--cpus",
        cpus,
    ]
    timeout = duration + warmup + STARTUP_TIMEOUT_SECONDS + CALL_TIMEOUT_SECONDS
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"{name}: the gRPC load generator did not finish in {timeout:.0f} s"
        ) from None
    if done.returncode != 0:
        raise BenchError(f"{name}: gRPC load generator exited {done.returncode}:\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(name, data["rps"], data["p50_ms"], data["p99_ms"], data["calls"], data["failures"])


# REST load (wrk)

WRK_SCRIPT = """\
local keys = {%s}
local threads = {}
local started = 0

function setup(thread)
  started = started + 1
  thread:set("offset", started)
  table.insert(threads, thread)
end

function init(args)
  prepared = {}
  for i, key in ipairs(keys) do
    prepared[i] = wrk.format("GET", nil, {["Authorization"] = "Bearer " .. key})
  end
  index = offset
  statuses = {}
end

function request()
  index = index %% #prepared + 1
  return prepared[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %%d %%d\\n", status, count))
    end
  end
end
"""


def write_wrk_script(directory: Path, keys: list[str]) -> Path:
    path = directory / "keys.lua"
    path.touch(mode=0o600)
    path.write_text(WRK_SCRIPT % ", ".join(json.dumps(k) for k in keys))
    return path


def run_wrk(url: str, script: Path, connections: int, duration: float, cpus: str = "") -> str:
    """wrk's report; on `cpus` (e.g. "1") when given."""
    seconds = max(1, round(duration))
    cmd = [
        *on_cpus(cpus),
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 30} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}:\n{done.stderr or done.stdout}")
    return done.stdout


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(name: str, text: str) -> Row:
    """Requests/sec, the 50 % and 99 % latency lines, and every failure wrk reports."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    calls = re.search(r"^\s*(\d+) requests in", text, re.M)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", text, re.M))
    if not rps or not calls or set(latency) != {"50", "99"}:
        raise BenchError(f"cannot parse wrk output:\n{text}")
    p50, p99 = (re.fullmatch(r"([\d.]+)(us|ms|s|m)", latency[k]) for k in ("50", "99"))
    assert p50 is not None and p99 is not None
    return Row(
        name,
        float(rps.group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(calls.group(1)),
        wrk_failures(text),
    )


def wrk_failures(text: str) -> dict[str, int]:
    failures: Counter[str] = Counter()
    for code, count in re.findall(r"^STATUS (\d+) (\d+)$", text, re.M):  # one line per thread
        if int(code) >= 400:
            failures[f"HTTP {code}"] += int(count)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx and not failures:
        failures["HTTP non-2xx"] = int(non_2xx.group(1))
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sockets:
        for kind, count in zip(
            ("connect", "read", "write", "timeout"), sockets.groups(), strict=True
        ):
            if int(count):
                failures[f"socket {kind}"] = int(count)
    return dict(failures)


def _parse_load_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="gRPC load generator (run by run_grpc_load)")
    for flag in ("--target", "--method", "--keys-file"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--request-hex", default="")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=WARMUP_SECONDS)
    parser.add_argument("--cpus", default="")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    opts = _parse_load_args(argv)
    pin(opts.cpus)
    print(json.dumps(asyncio.run(grpc_load(opts))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
