"""People: users of a workspace, their roles and passwords (decision 029)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server import key_material, passwords
from server.errors import DuplicateEmail, InvalidArgument, NotFound, UserNotFound, shown
from server.ids import new_id
from server.storage import models
from server.storage.uow import UnitOfWork
from server.vocabulary import UserRole


@dataclass(frozen=True)
class CreatedUser:
    """A new user, and the password generated for it (None when the caller chose one):
    the only moment a generated password exists."""

    record: models.User
    generated_password: str | None


def _role(role: str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        raise InvalidArgument(f"role: must be one of {', '.join(UserRole)}") from None


def create_user(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    *,
    workspace_id: str,
    email: str,
    role: str = UserRole.MEMBER,
    password: str | None = None,
) -> CreatedUser:
    """A user of `workspace_id`; without `password`, a generated one (returned once)."""
    given, normalized = passwords.normalize_email(email)
    user_role = _role(role)
    if uow.workspaces.get(workspace_id) is None:
        raise NotFound(f"No workspace with id {shown(workspace_id)}")
    if uow.users.by_email(workspace_id, normalized) is not None:
        raise DuplicateEmail()
    chosen = passwords.generate(given) if password is None else password
    passwords.check(chosen, given)
    now = models.utcnow()
    user = models.User(
        id=new_id("usr"),
        workspace_id=workspace_id,
        email=given,
        email_normalized=normalized,
        role=user_role,
        password_hash=hasher.hash(chosen),
        created_at=now,
        password_changed_at=now,
    )
    if not uow.users.add(user):  # another create of the same email committed first
        raise DuplicateEmail()
    uow.commit()
    return CreatedUser(user, chosen if password is None else None)


def list_users(uow: UnitOfWork, workspace_id: str) -> Sequence[models.User]:
    if uow.workspaces.get(workspace_id) is None:
        raise NotFound(f"No workspace with id {shown(workspace_id)}")
    return uow.users.in_workspace(workspace_id)


def _user(uow: UnitOfWork, user_id: str) -> models.User:
    user = uow.users.get(user_id)
    if user is None:
        raise UserNotFound(f"No user with id {shown(user_id)}")
    return user


def disable_user(uow: UnitOfWork, user_id: str) -> models.User:
    """The user can no longer sign in, and their sessions end; disabling twice keeps the
    first time. The caller tells the servers (the user's id) after this commits."""
    user = _user(uow, user_id)
    if user.disabled_at is None:
        user.disabled_at = models.utcnow()
        uow.sessions.end_for_user(user.id, user.disabled_at)
        uow.commit()
    return user


def set_password(
    uow: UnitOfWork, hasher: key_material.SecretHasher, user_id: str, password: str
) -> models.User:
    user = _user(uow, user_id)
    passwords.check(password, user.email)
    user.password_hash = hasher.hash(password)
    user.password_changed_at = models.utcnow()
    # Every session ends: whoever knew the old password is signed out (the caller tells
    # the servers, with the user's id, after this commits).
    uow.sessions.end_for_user(user.id, user.password_changed_at)
    uow.commit()
    return user
