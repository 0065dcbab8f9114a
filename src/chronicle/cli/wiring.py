"""What every command starts from: its settings (flags over environment), the
container, and JSON output."""

from __future__ import annotations

import argparse
import json
import logging
from typing import TYPE_CHECKING

from chronicle.config import Settings

if TYPE_CHECKING:  # each command imports its own pieces when it runs: `--help` stays quick
    from server.container import Container

CLI_ACTOR = "cli"


def settings_from(args: argparse.Namespace) -> Settings:
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


def container_from(args: argparse.Namespace, *, prepare: bool = True) -> Container:
    from server.container import Container
    from server.storage import db

    container = Container(settings_from(args))
    logging.basicConfig(
        level=container.settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if prepare and db.is_empty(container.engine):
        from server import bootstrap  # alembic: only for a database that needs it

        bootstrap.prepare(container.engine, container.uow())
    return container


def print_json(data: object) -> None:
    print(json.dumps(data, default=str))
