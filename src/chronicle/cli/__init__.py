"""The `chronicle` command: servers, migrations, workspaces, keys, service tokens and users."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from chronicle.cli.keys import (
    cmd_key_create,
    cmd_key_events,
    cmd_key_list,
    cmd_key_revoke,
    cmd_key_rotate,
    cmd_service_token_create,
    cmd_service_token_revoke,
    cmd_workspace_create,
    cmd_workspace_set,
)
from chronicle.cli.serving import cmd_migrate, cmd_serve, cmd_serve_edge, cmd_serve_grpc, cmd_worker
from chronicle.cli.users import (
    cmd_user_create,
    cmd_user_disable,
    cmd_user_list,
    cmd_user_set_password,
)
from chronicle.config import ConfigError

if TYPE_CHECKING:
    # argparse names no public type for it (and it is subscriptable only in stubs)
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url")
    parser.add_argument("--grpc-port")
    parser.add_argument("--http-port")
    parser.add_argument("--bind")
    parser.add_argument("--rate-limit")
    parser.add_argument("--app-url")
    parser.add_argument(
        "--processes",
        metavar="N",
        help="server processes sharing the ports (env CHRONICLE_PROCESSES; default: one a CPU)",
    )
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
    setting = command("set", cmd_workspace_set, workspace)
    setting.add_argument("workspace_id", metavar="WORKSPACE_ID")
    setting.add_argument("--mcp", choices=["on", "off"], required=True, help="agents over MCP")

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

    _user_commands(sub.add_parser("user").add_subparsers(dest="action", required=True), command)
    return parser


def _user_commands(user: Subcommands, command: Callable[..., argparse.ArgumentParser]) -> None:
    create = command("create", cmd_user_create, user)
    create.add_argument("--workspace", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["admin", "member"], default="member")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else one is generated and printed once)",
    )
    create.add_argument("--json", action="store_true")
    listing = command("list", cmd_user_list, user)
    listing.add_argument("--workspace", required=True)
    listing.add_argument("--json", action="store_true")
    command("disable", cmd_user_disable, user).add_argument("user_id")
    set_password = command("set-password", cmd_user_set_password, user)
    set_password.add_argument("user_id")
    set_password.add_argument("--password-stdin", action="store_true", required=True)


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
