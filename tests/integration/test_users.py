"""People in the database: one account per email and workspace whatever the case, passwords
stored only as argon2id at OWASP's minimum or stronger, never in a log line."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import text

from server import bootstrap
from server.container import Container
from server.errors import DuplicateEmail, NotFound, UserNotFound, WeakPassword
from server.services import keys as key_service
from server.services import users as user_service

CHOSEN = "a long and uncommon passphrase"


def _workspace(container: Container, name: str = "acme") -> str:
    with container.uow() as uow:
        return key_service.create_workspace(uow, name).id


def _create(
    container: Container, workspace_id: str, email: str, password: str | None = None
) -> user_service.CreatedUser:
    with container.uow() as uow:
        return user_service.create_user(
            uow,
            container.password_hasher,
            workspace_id=workspace_id,
            email=email,
            role="member",
            password=password,
        )


def _stored(container: Container, user_id: str) -> dict[str, object]:
    with container.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM users WHERE id = :id"), {"id": user_id}
        ).mappings()
        return dict(row.one())


def test_the_same_email_in_another_case_is_refused_in_one_workspace(container: Container) -> None:
    workspace = _workspace(container)
    _create(container, workspace, "Alice@Example.com", CHOSEN)
    with pytest.raises(DuplicateEmail, match="already has a user with this email"):
        _create(container, workspace, "alice@EXAMPLE.COM", CHOSEN)
    with container.uow() as uow:
        assert [u.email for u in user_service.list_users(uow, workspace)] == ["Alice@Example.com"]


def test_the_same_email_may_be_in_two_workspaces(container: Container) -> None:
    first, second = _workspace(container, "one"), _workspace(container, "two")
    a = _create(container, first, "bob@example.com", CHOSEN).record
    b = _create(container, second, "bob@example.com", CHOSEN).record
    assert a.id != b.id


def test_the_password_is_stored_only_as_argon2id_at_owasp_minimum_or_stronger(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    # The container's key hasher runs far below OWASP here (FAST_ARGON2): passwords don't.
    caplog.set_level(logging.DEBUG)
    workspace = _workspace(container)
    chosen = _create(container, workspace, "carol@example.com", CHOSEN).record
    made = _create(container, workspace, "dave@example.com")
    generated = made.generated_password
    assert generated

    for user_id, password in ((chosen.id, CHOSEN), (made.record.id, generated)):
        row = _stored(container, user_id)
        stored = " ".join(str(value) for value in row.values())
        assert password not in stored
        hashed = str(row["password_hash"])
        parameters = extract_parameters(hashed)
        assert hashed.startswith("$argon2id$")
        assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2
        assert PasswordHasher().verify(hashed, password)
    logged = caplog.text
    assert CHOSEN not in logged and generated not in logged


def test_a_weak_password_creates_no_user_and_says_why(container: Container) -> None:
    workspace = _workspace(container)
    with pytest.raises(WeakPassword, match="at least 12 characters"):
        _create(container, workspace, "erin@example.com", "short")
    with container.uow() as uow:
        assert list(user_service.list_users(uow, workspace)) == []


def test_set_password_replaces_the_hash_and_disable_keeps_the_first_time(
    container: Container,
) -> None:
    workspace = _workspace(container)
    user = _create(container, workspace, "frank@example.com", CHOSEN).record
    new = "another uncommon passphrase"
    with container.uow() as uow:
        user_service.set_password(uow, container.password_hasher, user.id, new)
    row = _stored(container, user.id)
    assert PasswordHasher().verify(str(row["password_hash"]), new)
    assert row["password_changed_at"] != row["created_at"]
    with container.uow() as uow, pytest.raises(WeakPassword, match="email"):
        user_service.set_password(uow, container.password_hasher, user.id, "frank@example.com")

    with container.uow() as uow:
        first = user_service.disable_user(uow, user.id).disabled_at
    with container.uow() as uow:
        assert user_service.disable_user(uow, user.id).disabled_at == first
    assert first is not None


def test_unknown_workspaces_and_users_are_not_found(container: Container) -> None:
    with pytest.raises(NotFound, match="No workspace"):
        _create(container, "ws_nope", "gina@example.com", CHOSEN)
    with container.uow() as uow, pytest.raises(UserNotFound, match="No user"):
        user_service.disable_user(uow, "usr_nope")


def test_first_start_makes_an_admin_with_a_generated_password(container: Container) -> None:
    first = bootstrap.first_start(container.uow(), container.hasher, container.password_hasher)
    admin = first.admin.record
    assert (admin.email, admin.role, admin.workspace_id) == (
        bootstrap.FIRST_ADMIN_EMAIL,
        "admin",
        first.workspace_id,
    )
    assert first.admin.generated_password
    row = _stored(container, admin.id)
    assert PasswordHasher().verify(str(row["password_hash"]), first.admin.generated_password)
