"""Our REST edge against grpc-gateway (issue 18, point 5): the same gRPC server behind both.

Run from the repository root (installs what it needs from apt when missing, see below):

    .venv/bin/python bench/gateway.py [--duration 8] [--rounds 3] [--connections 50] [--keys 4]

The anchor is grpc-gateway v1 as Debian ships it (1.6.4), generated from our protos and
built offline in GOPATH mode against /usr/share/gocode (no Go module proxy needed):
1. apt packages, installed quietly only when missing (root or passwordless sudo; skip
   with --no-install): wrk, golang-go, golang-goprotobuf-dev (protoc-gen-go 1.3.5),
   golang-grpc-gateway (protoc-gen-grpc-gateway), its runtime library
   golang-github-grpc-ecosystem-grpc-gateway-dev, golang-google-grpc-dev and
   golang-google-genproto-dev (google.api annotations and HttpBody in Go).
2. grpc_tools.protoc (the venv's, as scripts/protos.sh) with protos/ and the
   googleapis-common-protos directory as include paths generates Go for every
   chronicle/v1 proto and the gateway handlers, all into one Go package in a temporary
   GOPATH. The 2020-era plugins predate proto3 `optional`; each runs behind a two-line
   wrapper that adds `supported_features = 1` to its answer, so protoc accepts them, and
   protoc-gen-go 1.3.5 treats each optional field as the one-field oneof it is on the wire.
3. A generated main.go registers the gateway handlers of the services our edge serves by
   default (IdentityService, PresentationService; ApiKeyService is left out as the edge
   serves it only with --admin-routes) against the gRPC server and listens; `go build`.
   Its JSON marshaler is v1.6.4's stock one (proto field names) plus EmitDefaults, as our
   edge prints fields without presence (--gateway-stock-json: the stock one alone).
If any step fails, the bench says why and measures our edge alone (exit status 0).
Not like for like, so not measured: the HttpBody export route (v1.6.4 has no HttpBody
marshaler: it answers JSON with the file base64-encoded) and error bodies (its own shape).

Then, on a fresh SQLite database (production argon2, a rate limit no load reaches): one
`chronicle serve-grpc` and, on their own ports in front of it, `chronicle serve-edge`
(access log on, as shipped; --no-access-log turns it off) and the gateway. One deck from
the first template. First the answers of both fronts to the same requests are compared
byte for byte. Then `wrk -t2 -c{connections}` with the --keys keys round-robin
(bench/loads.py's Lua script) on GET /api/v1/presentations/{id} and GET /api/v1/templates,
each (front, route) warmed up for 1 s, then --rounds interleaved rounds (the fronts'
order alternates by round). Front CPU per request: user + system CPU of the front process
and its children (/proc/PID/stat) over a wrk run, divided by wrk's request count; the
same for serve-grpc. Rows show the median round; ratios are medians of per-round ratios.
Targets: edge / gateway throughput >= 1.0 and edge / gateway CPU per request <= 1.0.

Nothing is pinned: wrk, both fronts and the server share the machine's cores (the
gateway uses all of them through GOMAXPROCS; --processes sets the edge's processes, 1 by
default). The load average before and after is printed: others may share the machine.
Exit status 0 when the run worked (targets met or not); 1 on a failure or > 1 % errors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
from loads import WARMUP_SECONDS, Row, parse_wrk, run_wrk, write_wrk_script
from report import median_row, report_failures, run_reporting_failure, table, verdict

import harness

APT_BENCH = ("wrk",)
APT_GATEWAY = (
    "golang-go",
    "golang-goprotobuf-dev",
    "golang-grpc-gateway",
    "golang-github-grpc-ecosystem-grpc-gateway-dev",
    "golang-google-grpc-dev",
    "golang-google-genproto-dev",
)
GOCODE = Path("/usr/share/gocode")
GATEWAY_RUNTIME = GOCODE / "src/github.com/grpc-ecosystem/grpc-gateway/runtime"
PLUGINS = ("protoc-gen-go", "protoc-gen-grpc-gateway")
GO_PACKAGE = "chroniclepb"
EDGE = "our edge"
GATEWAY = "grpc-gateway"
# The services our edge serves by default; ApiKeyService only with --admin-routes.
LEFT_OUT = ("ApiKeyService",)
BUILD_TIMEOUT_SECONDS = 900
REPO = Path(__file__).resolve().parent.parent
PROTOS = REPO / "protos"

# Where protoc's imports live in Debian's Go tree (protoc-gen-go's M options): the WKTs'
# own go_package names the newer google.golang.org/protobuf, which Debian's 1.3 stack
# does not use.
GO_IMPORTS = {
    "google/api/annotations.proto": "google.golang.org/genproto/googleapis/api/annotations",
    "google/api/http.proto": "google.golang.org/genproto/googleapis/api/annotations",
    "google/api/client.proto": "google.golang.org/genproto/googleapis/api/annotations",
    "google/api/field_behavior.proto": "google.golang.org/genproto/googleapis/api/annotations",
    "google/api/resource.proto": "google.golang.org/genproto/googleapis/api/annotations",
    "google/api/httpbody.proto": "google.golang.org/genproto/googleapis/api/httpbody",
    "google/protobuf/any.proto": "github.com/golang/protobuf/ptypes/any",
    "google/protobuf/descriptor.proto": "github.com/golang/protobuf/protoc-gen-go/descriptor",
    "google/protobuf/duration.proto": "github.com/golang/protobuf/ptypes/duration",
    "google/protobuf/empty.proto": "github.com/golang/protobuf/ptypes/empty",
    "google/protobuf/field_mask.proto": "google.golang.org/genproto/protobuf/field_mask",
    "google/protobuf/struct.proto": "github.com/golang/protobuf/ptypes/struct",
    "google/protobuf/timestamp.proto": "github.com/golang/protobuf/ptypes/timestamp",
    "google/protobuf/wrappers.proto": "github.com/golang/protobuf/ptypes/wrappers",
}

# The plugin's CodeGeneratorResponse, then field 2 (supported_features, varint) = 1
# (FEATURE_PROTO3_OPTIONAL): a repeated scalar field's last value wins.
PLUGIN_WRAPPER = """\
#!/bin/sh
{plugin} "$@" && printf '\\020\\001'
"""

MAIN_GO = """\
// Generated by bench/gateway.py: grpc-gateway in front of one gRPC server.
package main

import (
\t"context"
\t"flag"
\t"log"
\t"net/http"

\tpb "{package}"

\t"github.com/grpc-ecosystem/grpc-gateway/runtime"
\t"google.golang.org/grpc"
\t// ErrorInfo and RetryInfo, so error details can be printed.
\t_ "google.golang.org/genproto/googleapis/rpc/errdetails"
)

type register func(context.Context, *runtime.ServeMux, string, []grpc.DialOption) error

func main() {{
\tlisten := flag.String("listen", "127.0.0.1:8081", "HTTP address")
\ttarget := flag.String("grpc-target", "127.0.0.1:50051", "the gRPC server")
\tdefaults := flag.Bool("emit-defaults", true, "print fields with default values")
\tflag.Parse()
\tctx := context.Background()
\tjson := &runtime.JSONPb{{OrigName: true, EmitDefaults: *defaults}}
\tmux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, json))
\topts := []grpc.DialOption{{grpc.WithInsecure()}}
\tfor _, handlers := range []register{{
{registrations}\t}} {{
\t\tif err := handlers(ctx, mux, *target, opts); err != nil {{
\t\t\tlog.Fatal(err)
\t\t}}
\t}}
\tserve := func(w http.ResponseWriter, r *http.Request) {{
\t\tif r.URL.Path == "/healthz" {{
\t\t\tw.WriteHeader(http.StatusOK)
\t\t\treturn
\t\t}}
\t\tmux.ServeHTTP(w, r)
\t}}
\tlog.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(serve)))
}}
"""


class CannotBuild(Exception):
    """The anchor cannot be built here; the message says why."""


# apt


def apt_installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stdout.endswith(" installed")


def ensure_apt(packages: Sequence[str]) -> str | None:
    """Install, quietly, the packages that are missing; None when all are there, else why
    not. Runs apt-get update only when a first install fails."""
    missing = [p for p in packages if not apt_installed(p)]
    if not missing:
        return None
    if shutil.which("apt-get") is None:
        return f"no apt-get to install {' '.join(missing)}"
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif (
        shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0
    ):
        prefix = ["sudo", "-n"]
    else:
        return f"not root and no passwordless sudo to install {' '.join(missing)}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]

    def apt(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=900, check=False
        )

    print(f"apt: installing {' '.join(missing)} ...", flush=True)
    done = apt(install)
    if done.returncode != 0:
        apt([*prefix, "apt-get", "update", "-qq"])
        done = apt(install)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return f"apt-get install {' '.join(missing)} failed:\n{tail}"
    return None


# Building the anchor


def googleapis_dir() -> Path:
    """The googleapis-common-protos package's root (google/api/*.proto), as protos.sh finds it."""
    import google.api.annotations_pb2 as annotations

    return Path(annotations.__file__).resolve().parent.parent.parent


def _run(cmd: Sequence[str], what: str, **kwargs: Any) -> None:
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise CannotBuild(f"{what}: no result after {BUILD_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise CannotBuild(f"{what} failed (exit {done.returncode}):\n{tail}")


def generate_go(build: Path, package_dir: Path) -> None:
    """Go messages, gRPC stubs and gateway handlers for every chronicle/v1 proto, one package."""
    for plugin in PLUGINS:
        path = shutil.which(plugin)
        if path is None:
            raise CannotBuild(f"{plugin} is not on PATH")
        wrapper = build / plugin
        wrapper.write_text(PLUGIN_WRAPPER.format(plugin=shlex.quote(path)))
        wrapper.chmod(0o755)
    protos = sorted(PROTOS.glob("chronicle/v1/*.proto"))
    imports = {f"chronicle/v1/{p.name}": GO_PACKAGE for p in protos} | GO_IMPORTS
    mapping = ",".join(f"M{proto}={go}" for proto, go in imports.items())
    out = build / "out"
    out.mkdir()
    _run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(PROTOS),
            "-I",
            str(googleapis_dir()),
            *(f"--plugin={plugin}={build / plugin}" for plugin in PLUGINS),
            f"--go_out=plugins=grpc,{mapping}:{out}",
            f"--grpc-gateway_out=logtostderr=true,{mapping}:{out}",
            *map(str, protos),
        ],
        "protoc with protoc-gen-go and protoc-gen-grpc-gateway",
    )
    package_dir.mkdir(parents=True)
    for generated in out.rglob("*.go"):  # messages under chronicle/v1/, handlers under GO_PACKAGE/
        shutil.move(generated, package_dir / generated.name)


def registrations(package_dir: Path) -> list[str]:
    """The Register*HandlerFromEndpoint functions generated, but for LEFT_OUT's services."""
    found = re.findall(
        r"^func (Register(\w+)HandlerFromEndpoint)\(",
        "".join(p.read_text() for p in sorted(package_dir.glob("*.pb.gw.go"))),
        re.M,
    )
    return [function for function, service in found if service not in LEFT_OUT]


def build_gateway(work: Path) -> tuple[Path, list[str]]:
    """The gateway's binary and the services it serves; CannotBuild says why not."""
    if shutil.which("go") is None:
        raise CannotBuild("no Go toolchain (go is not on PATH)")
    if not GATEWAY_RUNTIME.is_dir():
        raise CannotBuild(f"grpc-gateway's runtime library is not in {GATEWAY_RUNTIME}")
    build = work / "gateway-build"
    gopath = build / "gopath"
    package_dir = gopath / "src" / GO_PACKAGE
    build.mkdir()
    generate_go(build, package_dir)
    functions = registrations(package_dir)
    if not functions:
        raise CannotBuild("protoc-gen-grpc-gateway generated no handlers")
    main = gopath / "src" / "chronicle-gateway" / "main.go"
    main.parent.mkdir(parents=True)
    main.write_text(
        MAIN_GO.format(
            package=GO_PACKAGE,
            registrations="".join(f"\t\tpb.{function},\n" for function in functions),
        )
    )
    binary = work / "chronicle-gateway"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{gopath}:{GOCODE}",
        "GOFLAGS": "",
        "GOPROXY": "off",
    }
    if "HOME" not in env:  # where Go keeps its build cache by default
        env.setdefault("GOCACHE", str(build / "gocache"))
    _run(["go", "build", "-o", str(binary), "chronicle-gateway"], "go build", env=env)
    services = [f.removeprefix("Register").removesuffix("HandlerFromEndpoint") for f in functions]
    return binary, services


def gateway_version() -> str:
    if shutil.which("dpkg-query") is None:
        return "version unknown"
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "golang-github-grpc-ecosystem-grpc-gateway-dev"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "version unknown"


# Processes and CPU


def tree_cpu_seconds(pid: int) -> float:
    """CPU so far of a process and its live descendants (a supervisor's children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += harness.cpu_seconds(current)
        except OSError:
            continue
        todo.extend(children.get(current, []))
    return total


@dataclass(frozen=True)
class Front:
    name: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wrk(self, route: str, script: Path, connections: int, duration: float) -> str:
        """wrk against this front; when it fails, whether the front is still running."""
        try:
            return run_wrk(f"{self.base}{route}", script, connections, duration)
        except harness.BenchError as exc:
            code = self.proc.poll()
            state = "still running" if code is None else f"exited with {code}"
            raise harness.BenchError(
                f"{exc}\n{self.name} (pid {self.pid}, {self.base}) {state}; its log ends:\n"
                + harness.log_tail(self.log)
            ) from None


def start_edge(
    group: harness.Processes, env: dict[str, str], target: str, work: Path, processes: int
) -> Front:
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve-edge.log"
    cmd = [*harness.chronicle_command(), "serve-edge", "--grpc-target", target]
    cmd += ["--http-port", str(port), "--processes", str(processes)]
    proc = group.start(cmd, env, log)
    harness.wait_until(lambda: harness.http_ok(f"{base}/healthz"), proc, "serve-edge", log)
    return Front(EDGE, base, proc, log)


def start_gateway(
    group: harness.Processes, binary: Path, target: str, work: Path, emit_defaults: bool
) -> Front:
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "grpc-gateway.log"
    cmd = [str(binary), "-listen", f"127.0.0.1:{port}", "-grpc-target", target]
    proc = group.start(
        [*cmd, f"-emit-defaults={str(emit_defaults).lower()}"], dict(os.environ), log
    )
    harness.wait_until(lambda: harness.http_ok(f"{base}/healthz"), proc, "grpc-gateway", log)
    return Front(GATEWAY, base, proc, log)


# Comparing answers


def first_template(target: str, key: str) -> str:
    from chronicle.v1 import presentation_service_pb2 as pb
    from chronicle.v1 import presentation_service_pb2_grpc as pb_grpc

    with grpc.insecure_channel(target) as channel:
        templates = pb_grpc.PresentationServiceStub(channel).ListTemplates(
            pb.ListTemplatesRequest(), metadata=(("authorization", f"Bearer {key}"),), timeout=30
        )
    return str(templates.templates[0].id)


def json_differences(ours: Any, theirs: Any, path: str = "") -> list[tuple[str, str, str]]:
    """Where two JSON values differ: (what, path, value) for every leaf."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[tuple[str, str, str]] = []
        for key in sorted(ours.keys() | theirs.keys()):
            where = f"{path}.{key}"
            if key not in theirs:
                found.append(("only ours", where, json.dumps(ours[key])[:50]))
            elif key not in ours:
                found.append(("only theirs", where, json.dumps(theirs[key])[:50]))
            else:
                found += json_differences(ours[key], theirs[key], where)
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            difference
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for difference in json_differences(a, b, f"{path}[{i}]")
        ]
    if ours == theirs and type(ours) is type(theirs):
        return []
    return [("differs", path or ".", f"{json.dumps(ours)[:50]} vs {json.dumps(theirs)[:50]}")]


def describe(ours: httpx.Response, theirs: httpx.Response, most: int) -> list[str]:
    """How two answers differ: a headline, then one line a kind of difference (a field
    name with its list indexes dropped, with how often and one example)."""
    status = "" if ours.status_code == theirs.status_code else "status differs; "
    if ours.content == theirs.content:
        return [status + "bytes identical"]
    try:
        differences = json_differences(ours.json(), theirs.json())
    except ValueError:
        return [status + "bodies differ (not both JSON)"]
    if not differences:
        pairs = enumerate(zip(ours.content, theirs.content, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), len(ours.content))
        return [
            f"{status}same JSON, different bytes; the first at byte {at:,}: ours "
            f"{ours.content[at - 12 : at + 12]!r}, theirs {theirs.content[at - 12 : at + 12]!r}"
        ]
    groups: dict[tuple[str, str], list[str]] = {}
    for what, path, value in differences:
        groups.setdefault((what, re.sub(r"\[\d+\]", "[]", path)), []).append(value)
    lines = [f"{status}JSON differs in {len(differences)} places:"]
    for (what, path), values in list(groups.items())[:most]:
        times = f" ({len(values)}x)" if len(values) > 1 else ""
        lines.append(f"    {what}: {path}{times}, e.g. {values[0]}")
    if len(groups) > most:
        lines.append(f"    ... and {len(groups) - most} more kinds")
    return lines


def compare_answers(edge: Front, gateway: Front, key: str, deck_id: str, target: str) -> list[str]:
    """Both fronts' answers to the same requests, side by side; GETs first, so both see
    the same decks."""
    headers = {"authorization": f"Bearer {key}"}
    create = {"template_id": first_template(target, key)}
    requests: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", f"/api/v1/presentations/{deck_id}", None, 20),
        ("GET", "/api/v1/templates", None, 3),
        ("GET", "/api/v1/presentations", None, 3),
        ("GET", "/api/v1/caller", None, 3),
        ("GET", "/api/v1/presentations/pres_doesnotexist", None, 3),
        ("POST", "/api/v1/presentations", create, 0),  # each creates its own deck
        ("POST", "/api/v1/presentations", {**create, "no_such_field": 1}, 3),
    ]
    lines = [f"{'request':44}{'our edge':>14}{'grpc-gateway':>16}  difference"]
    with httpx.Client(headers=headers, timeout=30) as client:
        for method, path, body, most in requests:
            ours, theirs = (
                client.request(method, f"{front.base}{path}", json=body)
                for front in (edge, gateway)
            )
            if most:
                notes = describe(ours, theirs, most)
            else:
                notes = [
                    ("status differs; " if ours.status_code != theirs.status_code else "")
                    + "bodies not compared (two new decks)"
                ]
            shown = f"{method} {path.replace(deck_id, '{id}')}"
            shown += " + unknown field" if body and len(body) > 1 else ""
            lines.append(
                f"{shown:44}{ours.status_code:>5} {len(ours.content):>6,} B"
                f"{theirs.status_code:>7} {len(theirs.content):>6,} B  {notes[0]}"
            )
            lines += notes[1:]
    return lines


# Loads


@dataclass(frozen=True)
class Measured:
    row: Row
    front_cpu_ms: float  # per request
    server_cpu_ms: float


def measure(
    front: Front, server_pid: int, route: str, script: Path, *, opts: argparse.Namespace, name: str
) -> Measured:
    """One wrk run; the front's (with its children) and the server's CPU per request."""
    before = tree_cpu_seconds(front.pid), harness.cpu_seconds(server_pid)
    text = front.wrk(route, script, opts.connections, opts.duration)
    after = tree_cpu_seconds(front.pid), harness.cpu_seconds(server_pid)
    row = parse_wrk(name, text)
    calls = max(row.calls, 1)
    front_ms, server_ms = ((a - b) * 1000 / calls for a, b in zip(after, before, strict=True))
    return Measured(row, front_ms, server_ms)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_route(route: str, fronts: list[Front], rounds: list[dict[str, Measured]]) -> None:
    """One route's table (each front's median round, the median of the per-round
    throughput ratios), then CPU per request: medians and every round."""
    print(f"GET {route}")
    names = [f.name for f in fronts]
    rows = [median_row([r[name].row for r in rounds]) for name in names]
    ratios: list[float | None] = []
    if len(fronts) > 1:
        ratios = [statistics.median(r[EDGE].row.rps / r[GATEWAY].row.rps for r in rounds)]
    for line in table(rows, names, ratios, [None, 1.0][: len(names)]):
        print(line)
    for name in names:
        cpu = [r[name].front_cpu_ms for r in rounds]
        server = statistics.median(r[name].server_cpu_ms for r in rounds)
        print(
            f"  {name:13} front CPU per request {statistics.median(cpu):.3f} ms (rounds: "
            + ", ".join(f"{c:.3f}" for c in cpu)
            + f"); serve-grpc's {server:.3f} ms"
        )
    if len(fronts) > 1:
        throughput = [r[EDGE].row.rps / r[GATEWAY].row.rps for r in rounds]
        cpu = [r[EDGE].front_cpu_ms / r[GATEWAY].front_cpu_ms for r in rounds]
        ratio = statistics.median(cpu)
        print("  edge / gateway throughput, rounds: " + ", ".join(f"{t:.2f}" for t in throughput))
        print(
            f"  edge / gateway front CPU per request: {ratio:.2f} (<= 1.00) {verdict(ratio <= 1.0)}"
            " (rounds: " + ", ".join(f"{c:.2f}" for c in cpu) + ")"
        )
    print()


def build_anchor(work: Path, why_not: str | None) -> Path | None:
    """The gateway's binary, or None after saying why it could not be built."""
    started = time.monotonic()
    try:
        binary, services = build_gateway(work)
    except CannotBuild as exc:
        reason = f"{exc}\n(apt: {why_not})" if why_not else str(exc)
        print(f"grpc-gateway: NOT BUILT, so our edge is measured alone. Why:\n{reason}\n")
        return None
    print(
        f"grpc-gateway {gateway_version()} (Debian) generated from our protos and built in "
        f"{time.monotonic() - started:.0f} s; serves {', '.join(services)}\n"
    )
    return binary


def run_loads(
    fronts: list[Front], server_pid: int, routes: list[str], script: Path, opts: argparse.Namespace
) -> dict[str, list[dict[str, Measured]]]:
    """A warm-up per front and route, then the rounds, the fronts' order alternating."""
    for route in routes:
        for front in fronts:
            front.wrk(route, script, opts.connections, WARMUP_SECONDS)
    results: dict[str, list[dict[str, Measured]]] = {route: [] for route in routes}
    for n in range(1, opts.rounds + 1):
        order = fronts if n % 2 else fronts[::-1]
        for route in routes:
            results[route].append(
                {
                    f.name: measure(
                        f, server_pid, route, script, opts=opts, name=f"{f.name} (round {n})"
                    )
                    for f in order
                }
            )
    return results


def run(opts: argparse.Namespace) -> int:
    print(
        f"machine: nproc={os.cpu_count()}, {platform.machine()}, Python "
        f"{platform.python_version()}, client and servers on loopback, nothing pinned"
    )
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"load average before: {load_average()}")
    print(
        f"load: wrk -t2 -c{opts.connections}, {opts.duration:g} s a row after a "
        f"{WARMUP_SECONDS:g} s warm-up per front and route; {opts.keys} keys round-robin; "
        f"{opts.rounds} interleaved rounds; edge: {opts.processes} process(es), access log "
        f"{'off' if opts.no_access_log else 'on (as shipped)'}; gateway JSON: "
        f"{'stock (OrigName)' if opts.gateway_stock_json else 'OrigName + EmitDefaults'}",
        flush=True,
    )
    why_not = None if opts.no_install else ensure_apt([*APT_BENCH, *APT_GATEWAY])
    if shutil.which("wrk") is None:
        raise harness.BenchError(f"wrk is needed and missing ({why_not or 'apt-get install wrk'})")
    with (
        tempfile.TemporaryDirectory(prefix="chronicle-gateway-") as tmp,
        harness.processes() as group,
    ):
        work = Path(tmp)
        binary = build_anchor(work, why_not)
        env = harness.bench_env(f"sqlite:///{work / 'bench.db'}")
        env["CHRONICLE_PROCESSES"] = "1"  # one gRPC server process
        if opts.no_access_log:
            env["CHRONICLE_ACCESS_LOG"] = "false"
        keys = harness.provision(env, opts.keys)
        target, server = harness.start_grpc_server(group, env, work / "serve-grpc.log")
        fronts = [start_edge(group, env, target, work, opts.processes)]
        if binary is not None:
            emit_defaults = not opts.gateway_stock_json
            fronts.insert(0, start_gateway(group, binary, target, work, emit_defaults))
        deck_id = harness.create_presentation(target, keys[0])
        if binary is not None:
            print("Answers to the same requests (same key, same deck), our edge vs grpc-gateway:")
            for line in compare_answers(fronts[1], fronts[0], keys[0], deck_id, target):
                print(f"  {line}")
            print(flush=True)
        routes = [f"/api/v1/presentations/{deck_id}", "/api/v1/templates"]
        script = write_wrk_script(work, keys)
        results = run_loads(fronts, server.pid, routes, script, opts)
    print(f"# {time.strftime('%Y-%m-%d')}; load average after: {load_average()}")
    for route in routes:
        print_route(route.replace(deck_id, "{id}"), fronts, results[route])
    rows = [m.row for route in routes for r in results[route] for m in r.values()]
    return report_failures(rows, "a row's requests")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per row")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections")
    parser.add_argument("--keys", type=int, default=4, help="distinct API keys")
    parser.add_argument("--processes", type=int, default=1, help="serve-edge processes")
    parser.add_argument("--no-access-log", action="store_true", help="the edge's access log off")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument(
        "--gateway-stock-json",
        action="store_true",
        help="the gateway's stock JSON (no EmitDefaults): fewer bytes than our edge prints",
    )
    opts = parser.parse_args(argv)
    if min(opts.duration, opts.rounds, opts.connections, opts.keys, opts.processes) <= 0:
        parser.error("--duration, --rounds, --connections, --keys and --processes must be positive")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return run_reporting_failure(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
