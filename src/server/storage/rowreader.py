"""One row by primary key, through the pool's DBAPI connection: the hot read path.

SQLAlchemy still compiles the statement (once per dialect) and its own result
processors convert each column, so values are exactly what the ORM would give.
What is skipped is the per-call machinery of `Connection.execute`, which on
GetPresentation cost several times the query itself and, taken across the
server's threads, held the GIL long enough to halve throughput (see README,
Performance).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.exc import OperationalError

Processor = Callable[[Any], Any] | None


_local = threading.local()


def _connections() -> weakref.WeakKeyDictionary[Engine, Any]:
    found: weakref.WeakKeyDictionary[Engine, Any] = _local.__dict__.setdefault(
        "connections", weakref.WeakKeyDictionary()
    )
    return found


def _thread_connection(engine: Engine) -> Any:
    """This thread's own DBAPI connection to the engine's database, kept between reads,
    outside the pool (which the units of work keep to themselves)."""
    connection: Any = _connections().get(engine)
    if connection is None:
        pooled = engine.raw_connection()  # made as the pool makes them (PRAGMAs…)
        connection = pooled.dbapi_connection
        pooled.detach()  # … then this thread's alone: closed, never returned
        if engine.dialect.name != "sqlite":
            connection.rollback()  # the pool's pre-ping may have begun a transaction
            connection.autocommit = True
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
    processors: tuple[Processor, ...]


class RowReader:
    """`raw` names columns handed back exactly as the driver returns them."""

    def __init__(self, table: Table, raw: frozenset[str] = frozenset()) -> None:
        (key,) = table.primary_key.columns
        self._statement = select(table).where(key == bindparam("key"))
        self._columns = [c.key for c in table.columns]
        self._raw = raw
        self.row_type = namedtuple(f"{table.name}_row", self._columns)  # type: ignore[misc]
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
    def _fetch(engine: Engine, plan: _Plan, params: Any) -> Any:
        # This thread's own connection, kept between reads: on SQLite a SELECT outside a
        # transaction sees the latest commit; on PostgreSQL the connection is in
        # autocommit, so a read is one round trip (no pool checkout and pre-ping, no
        # BEGIN, no ROLLBACK), each round trip also a wait to take the GIL back.
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

    def get(self, engine: Engine, key: str) -> Any:
        """The row as a named tuple of converted values, or None."""
        plan = self._plan(engine)
        params = (key,) if plan.positional else {"key": key}
        try:
            raw = self._fetch(engine, plan, params)
        except engine.dialect.loaded_dbapi.OperationalError as exc:
            # As the ORM would raise it: the interceptor answers 503 for these.
            raise OperationalError(plan.sql, None, exc) from None
        if raw is None:
            return None
        return self.row_type(
            *(
                value if p is None else p(value)
                for p, value in zip(plan.processors, raw, strict=True)
            )
        )
