"""The statements every event runs, below SQLAlchemy's execution on SQLite: compiled once, reads
in one trip to the database's thread, writes held back until the next trip or the commit."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.repositories.sql import prepared
from bot.store.sqlite_driver import OneHopConnection

Build = Callable[[str], Any]
"""Builds a statement for a dialect's name (as `prepared` takes it)."""


class Compiled:
    """A statement compiled for one dialect, with what SQLAlchemy's execution would do around it:
    its parameters put in order and converted (dates, JSON…) by the column types' own
    processors, its rows converted back the same way. SQLAlchemy's execution of a small
    statement costs several times the statement itself on SQLite (an execution context, a
    result object, two greenlet switches): the handful of statements each event runs skip it."""

    __slots__ = ("compiled", "plan", "results", "row", "sql")

    def __init__(self, stmt: Any, dialect: Dialect, keys: Sequence[str]) -> None:
        # Compiled for the keys given, as SQLAlchemy compiles at each execution: an INSERT
        # names only the columns it is given values for (the others keep their defaults).
        c = stmt.compile(dialect=dialect, column_keys=list(keys))
        if c.insert_prefetch or c.update_prefetch or c.literal_execute_params or c.post_compile_params \
                or not c.positional:
            raise ValueError("not a plain statement: SQLAlchemy's execution must run it")
        self.compiled = c
        self.sql: str = c.string
        # For each parameter in order: the key a caller names it by (the bound parameter's or
        # the column's), whether it must be given, its value if not, and its type's processor.
        binds = c._bind_processors
        by_name = {name: bp for bp, name in c.bind_names.items()}
        self.plan: list[tuple[str, str, bool, Any, Any]] = []
        for name in c.positiontup or ():
            bp = by_name[name]
            if bp.callable is not None:
                raise ValueError("a parameter computed at execution: SQLAlchemy's execution must run it")
            self.plan.append((bp.key, name, bp.required, bp.value, binds.get(name)))
        columns = c._result_columns or []
        self.row: Any = namedtuple("Row", [col.keyname for col in columns]) if columns else None
        self.results = [col.type._cached_result_processor(dialect, None) for col in columns]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The parameters in order, converted, as `construct_params` and SQLAlchemy's execution
        context would give them (a fifth of a hot statement's cost when done through them)."""
        out: list[Any] = []
        for key, name, required, default, process in self.plan:
            if key in values:
                value = values[key]
            elif name in values:
                value = values[name]
            elif required:
                self.compiled.construct_params(values, escape_names=False)  # raises SQLAlchemy's own error
                raise AssertionError(f"a value is required for {key!r}")
            else:
                value = default
            out.append(value if process is None else process(value))
        return tuple(out)

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        if self.row is None:
            return []
        results = self.results
        make = self.row._make
        if not any(results):
            return [make(r) for r in raw]
        return [make(v if f is None or v is None else f(v) for f, v in zip(results, r, strict=True)) for r in raw]


_COMPILED: dict[tuple[str, str, str, tuple[str, ...]], Compiled | None] = {}
"""Per dialect and driver, as `prepared` keeps statements per dialect: the store makes every
engine of a kind with the same settings, so their conversions are the same (one entry per
statement and set of keys, not per engine made by a test)."""


async def _driver(conn: AsyncConnection) -> OneHopConnection | None:
    """The one-hop SQLite connection under `conn`, or None (PostgreSQL, another driver). Its
    transaction is begun first if it is not yet, as SQLAlchemy does before a statement: the
    hot statements of a unit then see one snapshot, and writes held back always meet the
    transaction's commit (outside one, nothing would send them)."""
    if conn.dialect.name != "sqlite":
        return None
    dbapi = conn.sync_connection.connection.dbapi_connection if conn.sync_connection is not None else None
    if not isinstance(dbapi, OneHopConnection):
        return None
    if not conn.in_transaction():
        await conn.begin()
    return dbapi


def _compiled(conn: AsyncConnection, name: str, build: Build, params: Mapping[str, Any]) -> Compiled | None:
    keys = tuple(params)
    key = (conn.dialect.name, conn.dialect.driver, name, keys)
    if key not in _COMPILED:
        try:
            _COMPILED[key] = Compiled(prepared(conn, name, build), conn.dialect, keys)
        except ValueError:
            _COMPILED[key] = None
    return _COMPILED[key]


async def fetch(conn: AsyncConnection, name: str, build: Build, params: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The rows of a read (or of a write returning rows), run once for each set of parameters:
    on the one-hop SQLite driver in one trip with the writes held back; elsewhere through
    SQLAlchemy. Rows answer by column name (`row.id`) and by position."""
    if not params:
        return []
    driver = await _driver(conn)
    compiled = _compiled(conn, name, build, params[0]) if driver is not None else None
    if driver is None or compiled is None or any(p.keys() != params[0].keys() for p in params[1:]):
        stmt = prepared(conn, name, build)
        if stmt.is_dml and len(params) > 1:
            return list((await conn.execute(stmt, list(params))).all())  # "insertmanyvalues": one trip
        out: list[Any] = []
        for p in params:
            out.extend((await conn.execute(stmt, p)).all())
        return out
    results = await driver.fetch([(compiled.sql, compiled.params(p)) for p in params])
    return [row for raw in results for row in compiled.rows(raw)]


async def fetch_together(conn: AsyncConnection, reads: Sequence[tuple[str, Build, Sequence[Mapping[str, Any]]]]
                         ) -> list[list[Any]]:
    """The rows of several reads, each as `fetch` gives them: on the one-hop SQLite driver all
    in one trip; elsewhere one after the other."""
    driver = await _driver(conn)
    plans: list[tuple[Compiled, int]] = []
    sql: list[tuple[str, Sequence[Any]]] = []
    for name, build, params in reads:
        compiled = _compiled(conn, name, build, params[0]) if driver is not None and params else None
        if compiled is None or any(p.keys() != params[0].keys() for p in params[1:]):
            return [await fetch(conn, name, build, params) for name, build, params in reads]
        plans.append((compiled, len(params)))
        sql.extend((compiled.sql, compiled.params(p)) for p in params)
    assert driver is not None
    results = iter(await driver.fetch(sql))
    return [[row for _ in range(n) for row in compiled.rows(next(results))] for compiled, n in plans]


async def write(conn: AsyncConnection, name: str, build: Build, params: Sequence[Mapping[str, Any]]) -> None:
    """A write nobody reads the outcome of (no rows, no row count): on the one-hop SQLite
    driver held back to travel with the transaction's next trip, at the latest its commit (a
    failure then fails that trip, and the transaction); elsewhere executed at once."""
    if not params:
        return
    driver = await _driver(conn)
    compiled = _compiled(conn, name, build, params[0]) if driver is not None else None
    if driver is None or compiled is None or any(p.keys() != params[0].keys() for p in params[1:]):
        await conn.execute(prepared(conn, name, build), list(params))
        return
    if len(params) == 1:
        driver.hold(compiled.sql, compiled.params(params[0]), False)
    else:
        driver.hold(compiled.sql, [compiled.params(p) for p in params], True)
