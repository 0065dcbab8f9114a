"""`chronicle user …` as an operator or a script drives it: real subprocesses, a real
database; the password is printed once, listed never, and failures are one line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from chronicle.config import Settings
from server import bootstrap
from server.container import Container
from server.services import keys as key_service
from tests.e2e.test_cli import Cli, assert_clean_failure, last_line
from tests.processes import cli_env, command

GENERATED = re.compile(r"^[0-9a-z]{4}(-[0-9a-z]{4}){6}$")
USER_ID = re.compile(r"^usr_[0-9A-Za-z]{20}$")
CHOSEN = "a long and uncommon passphrase"


class UserCli(Cli):
    def with_stdin(self, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command("--database-url", self.url, *args),
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            cwd=self.cwd,
            env=cli_env(),
            check=False,
        )

    def users(self, workspace: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.json("user", "list", "--workspace", workspace)
        return listed

    def password_hash(self, user_id: str) -> str:
        container = Container(Settings.load({}, database_url=self.url))
        with container.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id}
            ).scalar_one()
        container.engine.dispose()
        return str(stored)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> UserCli:
    container = Container(Settings.load({}, database_url=database_url))
    bootstrap.prepare(container.engine, container.uow())
    container.engine.dispose()
    return UserCli(tmp_path, database_url)


def _workspace(cli: Cli, name: str = "acme") -> str:
    container = Container(Settings.load({}, database_url=cli.url))
    with container.uow() as uow:
        workspace_id = key_service.create_workspace(uow, name).id
    container.engine.dispose()
    return workspace_id


@pytest.fixture
def workspace(cli: UserCli) -> str:
    return _workspace(cli)


def test_user_create_prints_a_generated_password_once_on_the_last_line(
    cli: UserCli, workspace: str
) -> None:
    result = cli.ok("user", "create", "--workspace", workspace, "--email", "Ann@Example.com")
    password = last_line(result.stdout)
    assert GENERATED.match(password), result.stdout
    assert result.stdout.count(password) == 1
    assert password not in result.stderr
    assert "shown once" in result.stdout
    (user,) = cli.users(workspace)
    assert (user["email"], user["role"], user["state"]) == ("Ann@Example.com", "member", "active")
    assert PasswordHasher().verify(cli.password_hash(user["id"]), password)
    assert password not in cli.password_hash(user["id"])


def test_user_create_json_gives_the_user_and_its_password(cli: UserCli, workspace: str) -> None:
    created = cli.json(
        "user", "create", "--workspace", workspace, "--email", "bo@example.com", "--role", "admin"
    )
    assert USER_ID.match(created["id"])
    assert (created["workspace_id"], created["role"]) == (workspace, "admin")
    assert GENERATED.match(created["password"])
    assert "password_hash" not in created


def test_user_create_with_password_stdin_prints_the_id_last_and_never_the_password(
    cli: UserCli, workspace: str
) -> None:
    result = cli.with_stdin(
        CHOSEN + "\n", "user", "create", "--workspace", workspace, "--email", "cy@example.com",
        "--password-stdin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    user_id = last_line(result.stdout)
    assert USER_ID.match(user_id), result.stdout
    assert CHOSEN not in result.stdout + result.stderr
    assert PasswordHasher().verify(cli.password_hash(user_id), CHOSEN)


def test_user_list_never_shows_a_password_or_its_hash(cli: UserCli, workspace: str) -> None:
    generated = cli.last_line("user", "create", "--workspace", workspace, "--email", "d@x.org")
    user_id = cli.users(workspace)[0]["id"]
    stored = cli.password_hash(user_id)
    for args in (("--json",), ()):
        listed = cli.ok("user", "list", "--workspace", workspace, *args).stdout
        assert "d@x.org" in listed and user_id in listed
        assert generated not in listed
        assert stored not in listed and "argon2" not in listed


def test_a_duplicate_email_in_another_case_is_one_clear_error(cli: UserCli, workspace: str) -> None:
    cli.ok("user", "create", "--workspace", workspace, "--email", "Eve@Example.com")
    line = cli.fails("user", "create", "--workspace", workspace, "--email", "eve@example.COM")
    assert "already has a user with this email" in line
    assert len(cli.users(workspace)) == 1


def test_the_same_email_in_two_workspaces_is_fine(cli: UserCli, workspace: str) -> None:
    other = _workspace(cli, "other")
    for ws in (workspace, other):
        cli.ok("user", "create", "--workspace", ws, "--email", "fay@example.com")
        assert [u["email"] for u in cli.users(ws)] == ["fay@example.com"]


def test_a_weak_password_is_refused_in_one_sentence(cli: UserCli, workspace: str) -> None:
    for weak, reason in (
        ("short", "at least 12 characters"),
        ("gus@example.com", "email address"),
        ("1qaz2wsx3edc", "most common passwords"),
    ):
        result = cli.with_stdin(
            weak, "user", "create", "--workspace", workspace, "--email", "gus@example.com",
            "--password-stdin",
        )  # fmt: skip
        line = assert_clean_failure(result)
        assert reason in line
        assert weak not in line.replace("gus@example.com", "")
    assert cli.users(workspace) == []


def test_disable_marks_the_user_disabled(cli: UserCli, workspace: str) -> None:
    cli.ok("user", "create", "--workspace", workspace, "--email", "hal@example.com")
    user_id = cli.users(workspace)[0]["id"]
    assert cli.last_line("user", "disable", user_id) == f"{user_id} disabled"
    (user,) = cli.users(workspace)
    assert user["state"] == "disabled" and "disabled_at" in user
    assert "disabled=" in cli.ok("user", "list", "--workspace", workspace).stdout


def test_set_password_replaces_the_password_from_stdin(cli: UserCli, workspace: str) -> None:
    cli.ok("user", "create", "--workspace", workspace, "--email", "ida@example.com")
    user_id = cli.users(workspace)[0]["id"]
    result = cli.with_stdin(CHOSEN, "user", "set-password", user_id, "--password-stdin")
    assert result.returncode == 0, result.stderr
    assert CHOSEN not in result.stdout + result.stderr
    assert PasswordHasher().verify(cli.password_hash(user_id), CHOSEN)

    weak = cli.with_stdin("password", "user", "set-password", user_id, "--password-stdin")
    assert "at least 12 characters" in assert_clean_failure(weak)
    assert PasswordHasher().verify(cli.password_hash(user_id), CHOSEN), "unchanged"


def test_unknown_users_and_workspaces_are_one_clear_error(cli: UserCli) -> None:
    assert "No user with id 'usr_nope'" in cli.fails("user", "disable", "usr_nope")
    assert "No workspace" in cli.fails("user", "list", "--workspace", "ws_nope")
    line = cli.fails("user", "create", "--workspace", "ws_nope", "--email", "j@example.com")
    assert "No workspace" in line
