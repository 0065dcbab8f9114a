"""The CLI loads a command's pieces only when that command runs: `chronicle --help` and the
parser load nothing of the server, the edge, gRPC or the database."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("server", "edge", "grpc", "sqlalchemy", "fastapi", "boto3", "redis", "httpx", "pptx")


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_importing_the_cli_loads_no_layer_and_no_driver() -> None:
    assert heavy(modules_after("import chronicle.cli")) == []


def test_parsing_a_key_command_loads_nothing_heavy() -> None:
    code = (
        "from chronicle.cli import build_parser\n"
        "build_parser().parse_args(['key', 'list', '--workspace', 'ws_x'])"
    )
    assert heavy(modules_after(code)) == []


def test_help_answers_without_loading_the_server() -> None:
    code = (
        "import contextlib, io\n"
        "from chronicle.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    assert heavy(modules_after(code)) == []
