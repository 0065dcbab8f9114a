"""The `chronicle` command: servers, migrations, workspaces, keys and service tokens."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from chronicle.config import ConfigError, Settings, parse_duration

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from google.protobuf.message import Message

    from server.container import Container
    from server.storage.models import ApiKey

    # argparse names no public type for it (and it is subscriptable only in stubs)
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("chronicle")
CLI_ACTOR = "cli"
Row = TypeVar("Row")


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        name: getattr(args, name, None)
        for name in (
            "database_url",
            "redis_url",
            "grpc_port",
            "http_port",
            "bind",
            "rate_limit",
            "app_url",
            "grpc_targets",
        )
    }
    if getattr(args, "admin_routes", False):
        flags["admin_routes"] = True
    return Settings.load(**flags)


def _container(args: argparse.Namespace, *, prepare: bool = True) -> Container:
    from server.container import Container
    from server.storage import db

    container = Container(_settings(args))
    logging.basicConfig(
        level=container.settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if prepare and db.is_empty(container.engine):
        from server import bootstrap  # alembic: only for a database that needs it

        bootstrap.prepare(container.engine, container.uow())
    return container


def _print_json(data: object) -> None:
    print(json.dumps(data, default=str))


# Servers


def cmd_serve(args: argparse.Namespace) -> None:
    """gRPC server and REST edge on one event loop, the generation worker in a process."""
    import asyncio
    import multiprocessing

    from edge.app import create_app, http_server
    from server import bootstrap
    from server.app import run_worker, settle_heap, start_grpc_server

    container = _container(args, prepare=False)
    if bootstrap.prepare(container.engine, container.uow()):
        _announce_first_start(container)
    settings = container.settings

    async def run() -> None:
        grpc_server = await start_grpc_server(container)
        try:
            app = create_app(settings, [f"127.0.0.1:{grpc_server.port}"])
            server, sock = http_server(app, settings)
            settle_heap()
            await server.serve(sockets=[sock])  # returns on SIGINT/SIGTERM
        finally:
            await grpc_server.stop()

    # Generation is CPU work: its own process keeps it off the servers' GIL and loop.
    worker = multiprocessing.get_context("spawn").Process(
        target=run_worker,
        args=(settings, None, os.getpid()),
        name="chronicle-worker",
        daemon=True,
    )
    worker.start()
    try:
        asyncio.run(run())
    finally:
        worker.terminate()
        worker.join(timeout=10)


def _announce_first_start(container: Container) -> None:
    from server import bootstrap

    first = bootstrap.first_start(container.uow(), container.hasher)
    base = f"http://{container.settings.bind}:{container.settings.http_port}"
    # stdout, never a log line: the raw key appears exactly once.
    print(
        "\n"
        "  First start: created workspace 'default' "
        f"({first.workspace_id}) and a test API key.\n"
        "  This key is shown ONCE and cannot be retrieved again. Store it now:\n\n"
        f"    {first.key.raw}\n\n"
        f"  Try it:  curl -H 'Authorization: Bearer {first.key.raw}' {base}/api/v1/templates\n",
        flush=True,
    )


def cmd_serve_grpc(args: argparse.Namespace) -> None:
    import asyncio
    import signal

    from server import bootstrap
    from server.app import settle_heap, start_grpc_server

    container = _container(args, prepare=False)
    bootstrap.prepare(container.engine, container.uow())

    async def run() -> None:
        grpc_server = await start_grpc_server(container)
        settle_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping gRPC server")
        await grpc_server.stop()

    asyncio.run(run())


def cmd_serve_edge(args: argparse.Namespace) -> None:

    from edge.app import create_app, http_server
    from server.app import settle_heap

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper())
    if not settings.grpc_targets:
        raise ConfigError("serve-edge needs --grpc-target HOST:PORT[,HOST:PORT…]")
    app = create_app(settings, settings.grpc_targets)
    server, sock = http_server(app, settings)
    settle_heap()
    server.run(sockets=[sock])


def cmd_worker(args: argparse.Namespace) -> None:
    from server.app import run_worker

    run_worker(_container(args).settings)


def cmd_migrate(args: argparse.Namespace) -> None:
    from server import bootstrap

    container = _container(args, prepare=False)
    bootstrap.prepare(container.engine, container.uow())


# Workspaces, keys, service tokens


def cmd_workspace_create(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = _container(args)
    with container.uow() as uow:
        workspace = key_service.create_workspace(uow, args.name)
    print(workspace.id)


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

    container = _container(args)
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
        _print_json({**_key_json(issued.record), "key": issued.raw})
    else:
        print(
            f"Created {issued.record.id} ({issued.record.environment}). "
            "The key is shown once; store it now:"
        )
        print(issued.raw)


def cmd_key_list(args: argparse.Namespace) -> None:
    from server import convert
    from server.services import keys as key_service

    container = _container(args)
    with container.uow() as uow:
        records = [
            _message_json(convert.api_key(row))
            for row in _every_page(
                lambda token: key_service.list_api_keys(uow, args.workspace, 100, token)
            )
        ]
    if args.json:
        _print_json(records)
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

    container = _container(args)
    with container.uow() as uow:
        row = key_service.revoke_api_key(uow, args.key_id, args.reason or "", CLI_ACTOR)
    container.key_changed(row.id)
    print(f"{row.id} revoked")


def cmd_key_rotate(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = _container(args)
    grace = timedelta(seconds=parse_duration(args.grace)) if args.grace else None
    with container.uow() as uow:
        issued, old = key_service.rotate_api_key(
            uow, container.hasher, args.key_id, grace=grace, actor=CLI_ACTOR
        )
        old_expiry = old.expires_at
    container.key_changed(old.id)
    if args.json:
        previous = _key_json(old)
        _print_json(
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


def cmd_key_events(args: argparse.Namespace) -> None:
    from server import convert
    from server.services import keys as key_service

    container = _container(args)
    with container.uow() as uow:
        events = [
            _message_json(convert.key_event(row))
            for row in _every_page(
                lambda token: key_service.list_key_events(uow, args.workspace, 500, token)
            )
        ]
    if args.json:
        _print_json(events)
        return
    for e in events:
        print(
            f"{e['created_at']}  {e['key_id']}  {e['event']}  {e['actor']}  {e.get('detail', '')}"
        )


def cmd_service_token_revoke(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = _container(args)
    with container.uow() as uow:
        token = key_service.revoke_service_token(uow, args.token_id)
    container.key_changed(token.id)
    print(f"{token.id} revoked")


def cmd_service_token_create(args: argparse.Namespace) -> None:
    from server.services import keys as key_service

    container = _container(args)
    with container.uow() as uow:
        token, raw = key_service.create_service_token(uow, container.hasher, args.name)
    print(f"Created service token {token.id}. It is shown once; store it now:")
    print(raw)


# Parser


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url")
    parser.add_argument("--grpc-port")
    parser.add_argument("--http-port")
    parser.add_argument("--bind")
    parser.add_argument("--rate-limit")
    parser.add_argument("--app-url")
    parser.add_argument(
        "--admin-routes",
        action="store_true",
        help="serve ApiKeyService over REST (service tokens only)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chronicle", description=__doc__)
    parser.add_argument("--database-url", help="SQLAlchemy URL (env CHRONICLE_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], None],
        parent: Subcommands = sub,
        help: str | None = None,
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help)
        p.add_argument("--database-url", default=argparse.SUPPRESS)
        p.set_defaults(handler=handler)
        return p

    _server_flags(command("serve", cmd_serve, help="gRPC server, REST edge and worker together"))
    _server_flags(command("serve-grpc", cmd_serve_grpc, help="the gRPC server alone"))
    edge = command("serve-edge", cmd_serve_edge, help="the REST edge alone")
    _server_flags(edge)
    edge.add_argument("--grpc-target", dest="grpc_targets", help="HOST:PORT[,HOST:PORT…]")
    command("worker", cmd_worker, help="a generation worker")
    command("migrate", cmd_migrate, help="bring the schema to the latest version")

    workspace = sub.add_parser("workspace").add_subparsers(dest="action", required=True)
    command("create", cmd_workspace_create, workspace).add_argument("name")

    key = sub.add_parser("key").add_subparsers(dest="action", required=True)
    create = command("create", cmd_key_create, key)
    create.add_argument("--workspace", required=True)
    create.add_argument("--name")
    create.add_argument("--env", choices=["live", "test"], default="live")
    create.add_argument("--expires-in", help="DURATION: 30s, 15m, 12h, 90d")
    create.add_argument("--rate-limit", help="COUNT/second|minute|hour")
    create.add_argument("--json", action="store_true")
    listing = command("list", cmd_key_list, key)
    listing.add_argument("--workspace", required=True)
    listing.add_argument("--json", action="store_true")
    revoke = command("revoke", cmd_key_revoke, key)
    revoke.add_argument("key_id")
    revoke.add_argument("--reason")
    rotate = command("rotate", cmd_key_rotate, key)
    rotate.add_argument("key_id")
    rotate.add_argument("--grace", help="DURATION the old key keeps working (default 24h)")
    rotate.add_argument("--json", action="store_true")
    events = command("events", cmd_key_events, key)
    events.add_argument("--workspace", required=True)
    events.add_argument("--json", action="store_true")

    token = sub.add_parser("service-token").add_subparsers(dest="action", required=True)
    command("create", cmd_service_token_create, token).add_argument("name")
    command("revoke", cmd_service_token_revoke, token).add_argument("token_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        reason = _failure(exc)
        if reason is None:
            raise
        print(f"chronicle: error: {reason}", file=sys.stderr)
        return 1
    return 0


def _failure(exc: Exception) -> str | None:
    """The one line to print for a failure the user can act on; None for a bug."""
    # Imported here, not at the top: by now the command has loaded them anyway.
    from sqlalchemy.exc import SQLAlchemyError

    from server.errors import ChronicleError

    if isinstance(exc, ChronicleError | ConfigError | OSError):
        return str(exc)
    if isinstance(exc, SQLAlchemyError):
        # The driver's first line says what failed; SQL and parameters stay out.
        return "database: " + str(getattr(exc, "orig", None) or exc).splitlines()[0]
    if isinstance(exc, ImportError):  # a database URL naming a driver that is not installed
        return f"missing module {exc.name or exc}"
    return None


if __name__ == "__main__":
    sys.exit(main())
