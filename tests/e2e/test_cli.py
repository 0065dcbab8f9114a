"""The `chronicle` command as an operator or a script drives it: real subprocesses, real files.

Each test runs the CLI (`python -m chronicle.cli`) against its own SQLite file and checks
what OPERATIONS.md promises: what lands on the last line of stdout, what `--json` prints,
that raw keys are never shown twice, and that failures are one clean line on stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from chronicle.config import Settings
from server import bootstrap
from server.container import Container
from server.services import keys as key_service
from tests.harness import Databases, free_port
from tests.processes import cli_env, command, wait_healthz
from tests.waiting import wait_until

WORKSPACE_ID = re.compile(r"^ws_[0-9A-Za-z]{20}$")
LIVE_KEY = re.compile(r"^chr_live_[0-9A-Za-z]+_[0-9A-Za-z]+$")
TEST_KEY = re.compile(r"^chr_test_[0-9A-Za-z]+_[0-9A-Za-z]+$")
SERVICE_TOKEN = re.compile(r"^chr_svc_[0-9A-Za-z]+_[0-9A-Za-z]+$")
TEST_KEY_IN_TEXT = re.compile(r"chr_test_[0-9A-Za-z]+_[0-9A-Za-z]+")
# A line written by `logging` (our format) or by uvicorn's own loggers.
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d .* (INFO|WARNING|ERROR|DEBUG|CRITICAL) "
    r"|(INFO|WARNING|ERROR|DEBUG|CRITICAL):\s)"
)
# Helpers


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=cwd,
        env=cli_env() if env is None else env,
        check=False,
    )


def last_line(stdout: str) -> str:
    lines = stdout.splitlines()
    assert lines, "nothing on stdout"
    return lines[-1]


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> str:
    """Non-zero exit, exactly one `chronicle: error:` line on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chronicle: error: "), result.stderr
    return lines[0]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def assert_about(actual: str, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> None:
    assert abs(parse_time(actual) - expected) < slack, (actual, expected)


def assert_no_secret(raw: str, *outputs: str) -> None:
    secret = raw.split("_")[3]
    for output in outputs:
        assert raw not in output
        assert secret not in output


@dataclass
class Cli:
    """The CLI bound to one database through `--database-url`, run in `cwd`."""

    cwd: Path
    url: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run("--database-url", self.url, *args, cwd=self.cwd)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def last_line(self, *args: str) -> str:
        return last_line(self.ok(*args).stdout)

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def fails(self, *args: str) -> str:
        return assert_clean_failure(self.run(*args))

    def create_key(self, workspace: str, *extra: str) -> dict[str, Any]:
        created: dict[str, Any] = self.json("key", "create", "--workspace", workspace, *extra)
        return created

    def keys_by_id(self, workspace: str) -> dict[str, dict[str, Any]]:
        return {k["id"]: k for k in self.json("key", "list", "--workspace", workspace)}


def sqlite_cli(directory: Path) -> Cli:
    return Cli(directory, f"sqlite:///{directory / 'chronicle.db'}")


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    """The CLI on this test's database, migrated in this process the way `chronicle
    migrate` does it (the command itself runs in `populated` and the migrate tests):
    one start of the CLI fewer per test."""
    container = Container(Settings.load({}, database_url=database_url))
    bootstrap.prepare(container.engine, container.uow())
    container.engine.dispose()
    return Cli(tmp_path, database_url)


@pytest.fixture
def workspace(cli: Cli) -> str:
    """A workspace made in this process (`workspace create` itself runs in `populated`)."""
    container = Container(Settings.load({}, database_url=cli.url))
    with container.uow() as uow:
        workspace_id = key_service.create_workspace(uow, "acme").id
    container.engine.dispose()
    return workspace_id


@pytest.fixture(scope="module")
def populated(
    tmp_path_factory: pytest.TempPathFactory, postgres: Databases | None
) -> Iterator[tuple[Cli, str, dict[str, Any]]]:
    """One database with a workspace and a key, shared by tests that change nothing."""
    directory = tmp_path_factory.mktemp("populated")
    name = postgres.create(migrated=False) if postgres else ""
    cli = Cli(directory, postgres.url(name)) if postgres else sqlite_cli(directory)
    cli.ok("migrate")
    workspace = cli.last_line("workspace", "create", "acme")
    yield cli, workspace, cli.create_key(workspace)
    if postgres:
        postgres.drop(name)


@dataclass
class Served:
    """A `chronicle serve` subprocess writing its stdout and stderr to files."""

    process: subprocess.Popen[bytes]
    url: str
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"serve exited with {self.process.returncode}:\n{self.stderr()}")

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 20) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def printed() -> bool:
            match = pattern.search(self.stdout())
            if match:
                found.append(match)
                return True
            self._check_alive()
            return False

        wait_until(printed, timeout, what=lambda: f"{pattern.pattern!r} on stdout\n{self.stdout()}")
        return found[0]

    def wait_healthy(self, timeout: float = 20) -> None:
        wait_healthz(self.url, self._check_alive, self.stderr, timeout)

    def stop(self) -> bool:
        """SIGTERM, then kill after 10 s; True when it stopped without being killed."""
        if self.process.poll() is not None:
            return True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return False
        return True


def two_free_ports() -> tuple[int, int]:
    http_port = free_port()
    grpc_port = free_port()
    while grpc_port == http_port:
        grpc_port = free_port()
    return http_port, grpc_port


@contextmanager
def serving(cli: Cli, name: str) -> Iterator[Served]:
    http_port, grpc_port = two_free_ports()
    out, err = cli.cwd / f"{name}.stdout", cli.cwd / f"{name}.stderr"
    args = command(
        "--database-url",
        cli.url,
        "serve",
        "--bind",
        "127.0.0.1",
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
    )
    with out.open("wb") as out_file, err.open("wb") as err_file:
        process = subprocess.Popen(
            args, stdout=out_file, stderr=err_file, cwd=cli.cwd, env=cli_env()
        )
    served = Served(process, f"http://127.0.0.1:{http_port}", out, err)
    try:
        yield served
    finally:
        served.stop()


# migrate, workspace, --database-url / CHRONICLE_DATABASE_URL


def test_migrate_creates_the_schema_in_an_empty_file(tmp_path: Path) -> None:
    cli = sqlite_cli(tmp_path)  # the embedded default: a file that does not exist yet
    database = tmp_path / "chronicle.db"
    assert not database.exists()

    cli.ok("migrate")
    assert database.exists()
    cli.ok("migrate")  # running it again is harmless

    workspace = cli.last_line("workspace", "create", "acme")
    assert WORKSPACE_ID.match(workspace), workspace


def test_the_database_url_can_come_from_the_environment(
    tmp_path: Path, empty_database_url: str
) -> None:
    cli = Cli(tmp_path, empty_database_url)
    env = cli_env(CHRONICLE_DATABASE_URL=cli.url)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()

    assert run("migrate", cwd=elsewhere, env=env).returncode == 0
    created = run("workspace", "create", "from-env", cwd=elsewhere, env=env)
    assert created.returncode == 0, created.stderr
    workspace = last_line(created.stdout)
    assert WORKSPACE_ID.match(workspace), workspace

    # The same file, reached through the flag: the workspace is there.
    assert cli.json("key", "list", "--workspace", workspace) == []
    assert list(elsewhere.iterdir()) == [], "no default database in the working directory"


# key create


def test_key_create_prints_the_raw_live_key_alone_on_the_last_line(
    cli: Cli, workspace: str
) -> None:
    raw = cli.last_line("key", "create", "--workspace", workspace, "--name", "backend")
    assert LIVE_KEY.match(raw), raw


def test_key_create_with_env_test_gives_a_test_key(cli: Cli, workspace: str) -> None:
    raw = cli.last_line("key", "create", "--workspace", workspace, "--env", "test")
    assert TEST_KEY.match(raw), raw


def test_key_create_json_prints_one_object_with_id_and_key(cli: Cli, workspace: str) -> None:
    result = cli.ok("key", "create", "--workspace", workspace, "--json")
    created = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert isinstance(created, dict)
    assert created["id"]
    assert created["key"].startswith("chr_")
    assert LIVE_KEY.match(created["key"])
    assert "expires_at" not in created


def test_key_create_expires_in_sets_expires_at(cli: Cli, workspace: str) -> None:
    created = cli.create_key(workspace, "--expires-in", "90d")
    assert_about(created["expires_at"], datetime.now(UTC) + timedelta(days=90))
    listed = cli.keys_by_id(workspace)[created["id"]]
    assert listed["expires_at"] == created["expires_at"]


# key list, revoke


def test_key_list_shows_hints_and_never_the_raw_keys(cli: Cli, workspace: str) -> None:
    live = cli.create_key(workspace, "--name", "backend")
    test = cli.create_key(workspace, "--env", "test")
    cli.ok("key", "revoke", test["id"], "--reason", "leaked in a gist")

    plain = cli.ok("key", "list", "--workspace", workspace)
    as_json = cli.ok("key", "list", "--workspace", workspace, "--json")
    for created in (live, test):
        assert_no_secret(created["key"], plain.stdout, plain.stderr, as_json.stdout, as_json.stderr)
        assert created["hint"] in plain.stdout

    rows = {line.split()[0]: line.split() for line in plain.stdout.splitlines()}
    assert set(rows) == {live["id"], test["id"]}
    assert "revoked" in rows[test["id"]]
    assert "active" in rows[live["id"]]

    listed = {k["id"]: k for k in json.loads(as_json.stdout)}
    assert listed[live["id"]]["state"] == "active"
    assert listed[test["id"]]["state"] == "revoked"
    for key in listed.values():
        assert key["hint"].startswith(("chr_live_", "chr_test_"))
        assert "key" not in key


def test_key_revoke_keeps_the_record_with_when_and_why(cli: Cli, workspace: str) -> None:
    created = cli.create_key(workspace)
    cli.ok("key", "revoke", created["id"], "--reason", "laptop stolen")

    revoked = cli.keys_by_id(workspace)[created["id"]]
    assert revoked["state"] == "revoked"
    assert revoked["revoke_reason"] == "laptop stolen"
    assert_about(revoked["revoked_at"], datetime.now(UTC))


def test_revoking_a_key_twice_succeeds_and_changes_nothing(cli: Cli, workspace: str) -> None:
    created = cli.create_key(workspace)
    cli.ok("key", "revoke", created["id"], "--reason", "first")
    before = cli.keys_by_id(workspace)[created["id"]]

    cli.ok("key", "revoke", created["id"], "--reason", "second")

    after = cli.keys_by_id(workspace)[created["id"]]
    assert after["revoked_at"] == before["revoked_at"]
    assert after["revoke_reason"] == "first"


# key rotate


def test_key_rotate_json_issues_a_new_key_and_gives_the_old_one_a_grace_window(
    cli: Cli, workspace: str
) -> None:
    old = cli.create_key(workspace, "--name", "backend")
    rotated = cli.json("key", "rotate", old["id"], "--grace", "1h")
    now = datetime.now(UTC)

    assert rotated["id"] and rotated["id"] != old["id"]
    assert LIVE_KEY.match(rotated["key"])
    assert rotated["key"] != old["key"]

    keys = cli.keys_by_id(workspace)
    assert_about(keys[old["id"]]["expires_at"], now + timedelta(hours=1))
    assert keys[old["id"]]["state"] == "active"  # still working during the grace window
    assert keys[rotated["id"]]["state"] == "active"
    assert keys[rotated["id"]]["name"] == "backend"


def test_key_rotate_prints_the_new_raw_key_alone_on_the_last_line(cli: Cli, workspace: str) -> None:
    old = cli.create_key(workspace, "--env", "test")
    raw = cli.last_line("key", "rotate", old["id"])
    assert TEST_KEY.match(raw), raw
    assert raw != old["key"]
    assert len(cli.keys_by_id(workspace)) == 2


# key events


def test_key_events_list_the_audit_trail_without_raw_keys(cli: Cli, workspace: str) -> None:
    first = cli.create_key(workspace)
    second = cli.create_key(workspace)
    cli.ok("key", "revoke", first["id"], "--reason", "compromised")
    rotated = cli.json("key", "rotate", second["id"], "--grace", "1h")
    expected = sorted(
        [
            (first["id"], "created"),
            (second["id"], "created"),
            (first["id"], "revoked"),
            (second["id"], "rotated"),
            (rotated["id"], "created"),
        ]
    )

    plain = cli.ok("key", "events", "--workspace", workspace)
    lines = plain.stdout.splitlines()
    assert len(lines) == len(expected), plain.stdout
    fields = [line.split() for line in lines]  # when, key id, event, actor, detail
    assert sorted((f[1], f[2]) for f in fields) == expected
    assert {f[3] for f in fields} == {"cli"}

    as_json = cli.ok("key", "events", "--workspace", workspace, "--json")
    events = json.loads(as_json.stdout)
    assert isinstance(events, list)
    assert sorted((e["key_id"], e["event"]) for e in events) == expected
    assert {e["actor"] for e in events} == {"cli"}
    assert all(e["created_at"] for e in events)

    for created in (first, second, rotated):
        assert_no_secret(created["key"], plain.stdout, plain.stderr, as_json.stdout, as_json.stderr)


# service-token create


def test_service_token_create_prints_the_raw_token_alone_on_the_last_line(cli: Cli) -> None:
    raw = cli.last_line("service-token", "create", "settings-page")
    assert SERVICE_TOKEN.match(raw), raw


# Failures


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["key", "create", "--workspace", "ws_00000000000000000000"],
            id="unknown-workspace-for-key-create",
        ),
        pytest.param(
            ["key", "list", "--workspace", "ws_00000000000000000000"],
            id="unknown-workspace-for-key-list",
        ),
        pytest.param(["key", "revoke", "key_0000000000000000"], id="unknown-key-for-revoke"),
        pytest.param(["key", "rotate", "key_0000000000000000"], id="unknown-key-for-rotate"),
        pytest.param(
            ["key", "create", "--workspace", "{workspace}", "--expires-in", "5x"],
            id="bad-expires-in",
        ),
        pytest.param(["key", "rotate", "{key}", "--grace", "1y"], id="bad-grace-duration"),
        pytest.param(["key", "rotate", "{key}", "--grace", "99999999d"], id="huge-grace"),
        pytest.param(
            ["key", "create", "--workspace", "{workspace}", "--expires-in", "99999999d"],
            id="huge-expires-in",
        ),
        pytest.param(["key", "revoke", "{raw}"], id="raw-key-instead-of-id"),
        pytest.param(
            ["key", "create", "--workspace", "{workspace}", "--name", "a\nb"], id="multi-line-name"
        ),
        pytest.param(["serve-grpc", "--grpc-port", "99999"], id="bad-port-flag"),
    ],
)
def test_a_failing_command_exits_non_zero_with_one_error_line(
    populated: tuple[Cli, str, dict[str, Any]], args: list[str]
) -> None:
    cli, workspace, key = populated
    values = {"workspace": workspace, "key": key["id"], "raw": key["key"]}
    error = cli.fails(*(a.format(**values).replace("\\n", "\n") for a in args))
    assert_no_secret(key["key"], error)


def test_a_revoked_service_token_is_refused(cli: Cli) -> None:
    token = cli.last_line("service-token", "create", "ops")
    token_id = "svc_" + token.split("_")[2]
    assert cli.last_line("service-token", "revoke", token_id) == f"{token_id} revoked"
    from chronicle.config import Settings
    from server.container import Container
    from server.errors import KeyRevoked

    container = Container(Settings.load({}, database_url=cli.url))
    with pytest.raises(KeyRevoked):
        container.authenticator.authenticate([("x-api-key", token)])


def test_a_bad_expires_in_creates_no_key(cli: Cli, workspace: str) -> None:
    error = cli.fails("key", "create", "--workspace", workspace, "--expires-in", "5x")
    assert "5x" in error
    assert cli.keys_by_id(workspace) == {}


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://nobody@127.0.0.1:1/x", id="postgres-nobody-listens"),
        pytest.param("sqlite:///{tmp}/no/such/dir/chronicle.db", id="sqlite-missing-directory"),
    ],
)
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["migrate"], id="migrate"),
        pytest.param(["workspace", "create", "acme"], id="workspace-create"),
    ],
)
def test_an_unreachable_database_is_one_error_line(
    tmp_path: Path, url: str, args: list[str]
) -> None:
    result = run("--database-url", url.format(tmp=tmp_path), *args, cwd=tmp_path)
    assert_clean_failure(result)


# serve: the first start


def test_first_serve_prints_a_working_test_key_and_an_admin_password_once_and_a_restart_neither(
    tmp_path: Path, empty_database_url: str
) -> None:
    cli = Cli(tmp_path, empty_database_url)

    with serving(cli, "first") as served:
        raw = served.wait_for(TEST_KEY_IN_TEXT).group(0)
        served.wait_healthy()
        headers = {"Authorization": f"Bearer {raw}"}
        templates = httpx.get(f"{served.url}/api/v1/templates", headers=headers, timeout=10)
        assert templates.status_code == 200, templates.text
        assert len(templates.json()["templates"]) >= 6
        assert served.stop(), "serve did not stop within 10 s of SIGTERM"
        stdout, stderr = served.stdout(), served.stderr()

    assert re.search(r"shown once", stdout, re.IGNORECASE), stdout
    assert raw not in stderr
    with_key = [line for line in stdout.splitlines() if raw in line]
    assert [line.strip() for line in with_key].count(raw) == 1, "the key alone, exactly once"
    for line in with_key:
        assert not LOG_LINE.match(line), line
        assert line.strip() == raw or "curl" in line, line  # the notice's example only
    workspace = re.search(r"\b(ws_[0-9A-Za-z]{20})\b", stdout)
    assert workspace, stdout
    # The first admin's generated password: alone on its line, exactly once, never logged.
    shown = re.findall(r"^\s*([0-9a-z]{4}(?:-[0-9a-z]{4}){6})\s*$", stdout, re.MULTILINE)
    assert len(shown) == 1, stdout
    password = shown[0]
    assert stdout.count(password) == 1 and password not in stderr
    assert "admin@localhost" in stdout

    with serving(cli, "second") as served:
        served.wait_healthy()
        time.sleep(3)
        again = httpx.get(f"{served.url}/api/v1/templates", headers=headers, timeout=10)
        assert again.status_code == 200, "the first key still works after a restart"
        assert served.stop()
        assert "chr_" not in served.stdout() + served.stderr()
        assert password not in served.stdout() + served.stderr()
        assert "admin@localhost" not in served.stdout()

    keys = cli.json("key", "list", "--workspace", workspace.group(1))
    assert [k["environment"] for k in keys] == ["test"], "one key, made on the first start"
    users = cli.json("user", "list", "--workspace", workspace.group(1))
    assert [(u["email"], u["role"]) for u in users] == [("admin@localhost", "admin")]
    container = Container(Settings.load({}, database_url=cli.url))
    with container.uow() as uow:
        stored = uow.users.get(users[0]["id"])
        assert stored is not None
        assert PasswordHasher().verify(stored.password_hash, password), "the printed password"
    container.engine.dispose()
