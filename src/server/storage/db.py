"""Engines and schema: SQLite by default, any SQLAlchemy URL by configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Alembic announces each of its plugins at INFO whenever it loads; the revisions it runs
# (alembic.runtime.migration) are what an operator wants to read.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def make_engine(url: str, pool_size: int = 10, busy_timeout: float = 5.0) -> Engine:
    """`pool_size` should cover the threads that query at once: a connection opened
    beyond the pool is closed again after one use, and reopening costs more than the
    query. Parameters are kept out of error messages and logs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A networked database: connections checked before use (a restarted server, a
    # dropped connection), and a write waiting on a row lock gives up after the same
    # timeout as SQLite's (then 503), instead of holding a thread for ever.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,
        connect_args={"options": f"-c lock_timeout={int(busy_timeout * 1000)}"},
    )


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the writer: several threads and the CLI share
    # one file. foreign_keys is off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    # Alembic costs a fifth of a second to import: only a migration pays it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@contextmanager
def preparation_lock(engine: Engine) -> Iterator[None]:
    """One process at a time migrates and seeds: several servers starting together on
    one PostgreSQL wait for each other (a session advisory lock). SQLite's own write
    lock already serialises them."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PREPARATION_LOCK})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PREPARATION_LOCK})
            connection.commit()


_PREPARATION_LOCK = 0x43_48_52_4E  # "CHRN"


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def is_empty(engine: Engine) -> bool:
    """True when the database has none of our tables yet."""
    return not inspect(engine).has_table("workspaces")
