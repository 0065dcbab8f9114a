"""One row by primary key on this thread's own autocommit connection, outside any
transaction: the mechanism under the read model (`storage.views`), kept for speed.

SQLAlchemy still compiles the statement (once per dialect) and its own result
processors convert each column, so values are exactly what the ORM would give. What is
skipped is the per-call machinery of `Connection.execute` and, on PostgreSQL, the pool
checkout, pre-ping, BEGIN and ROLLBACK around a one-row read.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError

View = TypeVar("View")
_Processor = Callable[[object], object] | None

_local = threading.local()


def _connections() -> weakref.WeakKeyDictionary[Engine, DBAPIConnection]:
    found: weakref.WeakKeyDictionary[Engine, DBAPIConnection] = _local.__dict__.setdefault(
        "connections", weakref.WeakKeyDictionary()
    )
    return found


def _thread_connection(engine: Engine) -> DBAPIConnection:
    """This thread's own DBAPI connection to the engine's database, kept between reads,
    outside the pool (which the units of work keep to themselves)."""
    connection = _connections().get(engine)
    if connection is None:
        pooled = engine.raw_connection()  # made as the pool makes them (PRAGMAs…)
        connection = pooled.dbapi_connection
        if connection is None:
            raise RuntimeError("the pool handed out a closed connection")
        pooled.detach()  # … then this thread's alone: closed, never returned
        if engine.dialect.name != "sqlite":
            connection.rollback()  # the pool's pre-ping may have begun a transaction
            connection.autocommit = True
        # SQLite's driver begins no transaction for a SELECT: each read sees the
        # latest commit, as in autocommit.
        _connections()[engine] = connection
    return connection


def _drop_thread_connection(engine: Engine) -> None:
    connection = _connections().pop(engine, None)
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    processors: tuple[_Processor, ...]


class AutocommitLookup(Generic[View]):
    """Reads `columns` of `table` by primary key and hands them, in that order, to
    `make`. Columns named in `raw` come back exactly as the driver returns them."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        make: Callable[..., View],
        raw: frozenset[str] = frozenset(),
    ) -> None:
        (key,) = table.primary_key.columns
        self._statement = select(*(table.c[name] for name in columns)).where(
            key == bindparam("key")
        )
        self._make = make
        self._raw = raw
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, engine: Engine) -> _Plan:
        plan = self._plans.get(engine.dialect.name)
        if plan is None:
            dialect = engine.dialect
            compiled = self._statement.compile(dialect=dialect)
            if compiled.positiontup is not None and list(compiled.positiontup) != ["key"]:
                raise ValueError("expected exactly one bound parameter")
            processors = tuple(
                None
                if column.key in self._raw
                else column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self._statement.selected_columns
            )
            plan = _Plan(str(compiled), compiled.positional, processors)
            with self._lock:
                self._plans[dialect.name] = plan
        return plan

    @staticmethod
    def _fetch(
        engine: Engine, plan: _Plan, params: tuple[str] | dict[str, str]
    ) -> Sequence[object] | None:
        # On PostgreSQL the connection is in autocommit, so a read is one round trip,
        # each round trip also a wait to take the GIL back.
        connection = _thread_connection(engine)
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(plan.sql, params)
                return cursor.fetchone()
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.OperationalError:
            _drop_thread_connection(engine)  # the next read opens a new one
            raise

    def get(self, engine: Engine, key: str) -> View | None:
        """The row made into a view, or None when there is no such row."""
        plan = self._plan(engine)
        params: tuple[str] | dict[str, str] = (key,) if plan.positional else {"key": key}
        try:
            raw = self._fetch(engine, plan, params)
        except engine.dialect.loaded_dbapi.OperationalError as exc:
            # As the ORM would raise it: the interceptor answers 503 for these.
            raise OperationalError(plan.sql, None, exc) from None
        if raw is None:
            return None
        return self._make(
            *(
                value if p is None else p(value)
                for p, value in zip(plan.processors, raw, strict=True)
            )
        )
