"""The layering rules of README → Architecture hold, and the check really fails on a wrong
import (import-linter's contracts in pyproject.toml, run by `make lint`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


def test_the_tree_keeps_every_layering_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        ("edge/errors.py", "import server.errors", "never import each other"),
        ("server/errors.py", "import edge.errors", "never import each other"),
        ("chronicle/config.py", "import server.ids", "imports neither"),
        ("chronicle/contract.py", "import edge.errors", "imports neither"),
        ("server/storage/db.py", "import server.services.keys", "runs one way"),
        ("server/services/keys.py", "import server.servicers.keys", "runs one way"),
        ("server/servicers/identity.py", "import server.interceptor", "runs one way"),
    ],
)
def test_a_wrong_import_breaks_the_build(
    tmp_path: Path, module: str, wrong_import: str, broken: str
) -> None:
    tree = copy_of_the_tree(tmp_path)
    path = tree / "src" / module
    path.write_text(path.read_text() + f"\n{wrong_import}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert broken in result.stdout
    assert "BROKEN" in result.stdout
