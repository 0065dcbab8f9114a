"""The workspace, key and service-token commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from chronicle.cli.wiring import CLI_ACTOR, container_from, print_json
from chronicle.config import parse_duration

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from google.protobuf.message import Message

    from server.container import Container
    from server.storage.models import ApiKey

Row = TypeVar("Row")

# The change is committed, but Redis did not take the news for the servers (README,
# "Exit status"): 3, not 1, since running the command again is what to do.
NOT_CONFIRMED = 3


def tell_servers(container: Container, credential_id: str) -> bool:
    """After a committed revoke or rotation; when Redis did not take the change, one
    line on stderr saying what is not confirmed (the caller then exits NOT_CONFIRMED)."""
    if container.key_changed(credential_id):
        return True
    print(
        f"chronicle: warning: {credential_id}: committed, but Redis did not confirm that "
        "the servers were told; a server that still reaches Redis may honour the change "
        "only after CHRONICLE_KEY_STATUS_REFRESH (servers that cannot reach it re-read "
        "within 1 s). Run the command again to retry telling them.",
        file=sys.stderr,
    )
    return False


def cmd_workspace_create(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        workspace = key_service.create_workspace(uow, args.name)
    print(workspace.id)


def cmd_workspace_set(args: argparse.Namespace) -> None:
    from server.services import workspaces

    container = container_from(args)
    with container.uow() as uow:
        workspace = workspaces.set_mcp(uow, args.workspace_id, args.mcp == "on")
        print(f"{workspace.id} mcp {'on' if workspace.mcp_enabled else 'off'}")


def _message_json(message: Message) -> dict[str, object]:
    from google.protobuf import json_format

    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _key_json(row: ApiKey) -> dict[str, object]:
    from server import convert

    return _message_json(convert.api_key(row))


def _every_page(fetch: Callable[[str], tuple[list[Row], str]]) -> list[Row]:
    rows: list[Row] = []
    token = ""
    while True:
        page, token = fetch(token)
        rows.extend(page)
        if not token:
            return rows


def cmd_key_create(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    expires_in = timedelta(seconds=parse_duration(args.expires_in)) if args.expires_in else None
    with container.uow() as uow:
        issued = key_service.create_api_key(
            uow,
            container.hasher,
            workspace_id=args.workspace,
            name=args.name or "",
            environment=args.env,
            expires_in=expires_in,
            rate_limit=args.rate_limit,
            actor=CLI_ACTOR,
        )
    if args.json:
        print_json({**_key_json(issued.record), "key": issued.raw})
    else:
        print(
            f"Created {issued.record.id} ({issued.record.environment}). "
            "The key is shown once; store it now:"
        )
        print(issued.raw)


def cmd_key_list(args: argparse.Namespace) -> None:
    from server import convert
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        records = [
            _message_json(convert.api_key(row))
            for row in _every_page(
                lambda token: key_service.list_api_keys(uow, args.workspace, 100, token)
            )
        ]
    if args.json:
        print_json(records)
        return
    for r in records:
        print(
            f"{r['id']}  {r['hint']}  {r['environment']}  {r['state']}  "
            f"name={r.get('name', '')!r}  created={r['created_at']}"
            + (f"  expires={r['expires_at']}" if "expires_at" in r else "")
            + (f"  revoked={r['revoked_at']}" if "revoked_at" in r else "")
        )


def cmd_key_revoke(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        row = key_service.revoke_api_key(uow, args.key_id, args.reason or "", CLI_ACTOR)
    told = tell_servers(container, row.id)
    print(f"{row.id} revoked" + ("" if told else " (servers not confirmed told)"))
    if not told:
        raise SystemExit(NOT_CONFIRMED)


def cmd_key_rotate(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    grace = timedelta(seconds=parse_duration(args.grace)) if args.grace else None
    with container.uow() as uow:
        issued, old = key_service.rotate_api_key(
            uow, container.hasher, args.key_id, grace=grace, actor=CLI_ACTOR
        )
        old_expiry = old.expires_at
    told = tell_servers(container, old.id)
    if args.json:
        previous = _key_json(old)
        print_json(
            {
                **_key_json(issued.record),
                "key": issued.raw,
                "previous_id": previous["id"],
                "previous_expires_at": previous["expires_at"],
            }
        )
    else:
        print(
            f"Created {issued.record.id}; {old.id} expires at {old_expiry:%Y-%m-%dT%H:%M:%SZ}. "
            "The new key is shown once; store it now:"
        )
        print(issued.raw)
    if not told:
        raise SystemExit(NOT_CONFIRMED)


def cmd_key_events(args: argparse.Namespace) -> None:
    from server import convert
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        events = [
            _message_json(convert.key_event(row))
            for row in _every_page(
                lambda token: key_service.list_key_events(uow, args.workspace, 500, token)
            )
        ]
    if args.json:
        print_json(events)
        return
    for e in events:
        print(
            f"{e['created_at']}  {e['key_id']}  {e['event']}  {e['actor']}  {e.get('detail', '')}"
        )


def cmd_service_token_revoke(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        token = key_service.revoke_service_token(uow, args.token_id)
    told = tell_servers(container, token.id)
    print(f"{token.id} revoked" + ("" if told else " (servers not confirmed told)"))
    if not told:
        raise SystemExit(NOT_CONFIRMED)


def cmd_service_token_create(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = container_from(args)
    with container.uow() as uow:
        token, raw = key_service.create_service_token(uow, container.hasher, args.name)
    print(f"Created service token {token.id}. It is shown once; store it now:")
    print(raw)
