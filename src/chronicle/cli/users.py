"""The user commands: people of a workspace, their roles and passwords."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from chronicle.cli.keys import NOT_CONFIRMED, tell_servers
from chronicle.cli.wiring import container_from, print_json

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from datetime import datetime

    from server.storage.models import User


def _when(value: datetime | None) -> str | None:
    return None if value is None else f"{value:%Y-%m-%dT%H:%M:%SZ}"


def _user_json(row: User) -> dict[str, object]:
    """What is shown of a user: never the password's hash."""
    record: dict[str, object] = {
        "id": row.id,
        "workspace_id": row.workspace_id,
        "email": row.email,
        "role": row.role,
        "state": "disabled" if row.disabled_at else "active",
        "created_at": _when(row.created_at),
        "password_changed_at": _when(row.password_changed_at),
    }
    if row.disabled_at is not None:
        record["disabled_at"] = _when(row.disabled_at)
    return record


def _password_from_stdin() -> str:
    """Everything on stdin but the line break that ends it (`echo`, a here-string)."""
    text = sys.stdin.read()
    return text.removesuffix("\n").removesuffix("\r")


def cmd_user_create(args: argparse.Namespace) -> None:
    from server.services import users as user_service

    password = _password_from_stdin() if args.password_stdin else None
    container = container_from(args)
    with container.uow() as uow:
        created = user_service.create_user(
            uow,
            container.password_hasher,
            workspace_id=args.workspace,
            email=args.email,
            role=args.role,
            password=password,
        )
    user, generated = created.record, created.generated_password
    if args.json:
        print_json({**_user_json(user), **({"password": generated} if generated else {})})
    elif generated is None:
        print(f"Created {user.role} {user.email}:")
        print(user.id)
    else:
        print(
            f"Created {user.role} {user.email} ({user.id}). "
            "The password is shown once; store it now:"
        )
        print(generated)


def cmd_user_list(args: argparse.Namespace) -> None:
    from server.services import users as user_service

    container = container_from(args)
    with container.uow() as uow:
        records = [_user_json(row) for row in user_service.list_users(uow, args.workspace)]
    if args.json:
        print_json(records)
        return
    for r in records:
        print(
            f"{r['id']}  {r['email']}  {r['role']}  {r['state']}  created={r['created_at']}"
            + (f"  disabled={r['disabled_at']}" if "disabled_at" in r else "")
        )


def cmd_user_disable(args: argparse.Namespace) -> None:
    from server.services import users as user_service

    container = container_from(args)
    with container.uow() as uow:
        user = user_service.disable_user(uow, args.user_id)
    told = tell_servers(container, user.id)  # their sessions end everywhere
    print(f"{user.id} disabled")
    if not told:
        raise SystemExit(NOT_CONFIRMED)


def cmd_user_set_password(args: argparse.Namespace) -> None:
    from server.services import users as user_service

    password = _password_from_stdin()
    container = container_from(args)
    with container.uow() as uow:
        user = user_service.set_password(uow, container.password_hasher, args.user_id, password)
    told = tell_servers(container, user.id)  # their sessions end everywhere
    print(f"{user.id} password changed")
    if not told:
        raise SystemExit(NOT_CONFIRMED)
