"""CLI start-up: `chronicle --help` and `chronicle key list`, this tree against a baseline
revision, in one run.

    .venv/bin/python bench/cli.py [--baseline c07d81e] [--rounds 15]

The baseline's `src/` is exported with `git archive` into a temporary directory; both trees
run with the same interpreter and packages, alternately, each on its own PYTHONPATH, against
one SQLite database made by the baseline (same schema). Each row gives the median and p90
wall time of a whole process, and the import time of `chronicle.cli` as
`python -X importtime` reports it (its cumulative microseconds, median). The ratio is
this tree / baseline: below 0.5 is the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def env_for(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    return {**env, "PYTHONPATH": str(src)}


def cli(src: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "chronicle.cli", *args]


def wall(src: Path, args: Sequence[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cli(src, *args), env=env_for(src), check=True, capture_output=True)
    return time.perf_counter() - started


def import_microseconds(src: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import chronicle.cli"],
        env=env_for(src),
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(x for x in result.stderr.splitlines() if x.rstrip().endswith("| chronicle.cli"))
    return int(line.split("|")[1])


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="c07d81e", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    opts = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        base = export(opts.baseline, Path(tmp) / "baseline")
        trees = {"baseline": base, "this tree": ROOT / "src"}
        url = f"sqlite:///{tmp}/cli.db"
        made = subprocess.run(
            cli(base, "--database-url", url, "workspace", "create", "bench"),
            env=env_for(base),
            check=True,
            capture_output=True,
            text=True,
        )
        workspace = made.stdout.strip().splitlines()[-1]
        commands = {
            "chronicle --help": ["--help"],
            "chronicle key list": ["--database-url", url, "key", "list", "--workspace", workspace],
        }
        times: dict[tuple[str, str], list[float]] = {}
        imports: dict[str, list[int]] = {name: [] for name in trees}
        for _ in range(opts.rounds):  # interleaved: drift on a shared machine hits both
            for name, src in trees.items():
                imports[name].append(import_microseconds(src))
                for label, args in commands.items():
                    times.setdefault((label, name), []).append(wall(src, args))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {opts.rounds} rounds")
    print(f"command: .venv/bin/python bench/cli.py --baseline {opts.baseline}")
    print(f"| {'what':<34} | {'baseline':>10} | {'this tree':>10} | {'ratio':>6} |")
    print(f"|{'-' * 36}|{'-' * 12}|{'-' * 12}|{'-' * 8}|")
    for label in commands:
        for stat, fn in (("median", statistics.median), ("p90", p90)):
            old, new = fn(times[(label, "baseline")]), fn(times[(label, "this tree")])
            what = f"{label} ({stat}, ms)"
            print(f"| {what:<34} | {old * 1e3:>10.0f} | {new * 1e3:>10.0f} | {new / old:>6.2f} |")
    old_i, new_i = (statistics.median(imports[n]) for n in trees)
    what = "import chronicle.cli (median, ms)"
    print(f"| {what:<34} | {old_i / 1e3:>10.0f} | {new_i / 1e3:>10.0f} | {new_i / old_i:>6.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
