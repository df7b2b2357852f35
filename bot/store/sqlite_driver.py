"""SQLite through aiosqlite with one trip to its thread per statement, where SQLAlchemy's adapter makes
four, and writes held back to travel with the next trip (the next statement or the commit)."""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, list[Any], int, int | None]
"""What a statement left: its description, its rows, its row count and the last row id."""

Held = tuple[str, Sequence[Any], bool]
"""A write held back: its SQL, its parameters (a sequence of them when `many`), many or not."""


def _run_held(conn: sqlite3.Connection, held: Sequence[Held]) -> None:
    """In aiosqlite's thread, before the trip's own statement: the writes held back, in order.
    One failing stops the trip there; its error is the trip's."""
    for operation, parameters, many in held:
        if many:
            conn.executemany(operation, parameters)
        else:
            conn.execute(operation, parameters)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool,
         held: Sequence[Held] = ()) -> Outcome:
    """In aiosqlite's thread: the writes held back, then the cursor made, executed, read and
    closed in one go."""
    if held:
        _run_held(conn, held)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor hops to the driver's thread to open a cursor, to execute,
    to fetch and to close (each hop a thread wake-up, a future and an event-loop turn, the
    largest part of a small statement's cost); this one runs the four in one hop. Results are
    always fetched whole (the bot never streams)."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        pass  # nothing left open: the statement's cursor was closed in the driver's thread

    def close(self) -> None:
        self._rows.clear()

    def _hop(self, operation: Any, parameters: Any, many: bool) -> None:
        try:
            conn = self._connection
            adapt: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
            held = adapt.take_held()
            if held and operation.startswith("ROLLBACK TO SAVEPOINT"):
                # Held since the last trip, which was at the latest the savepoint's own
                # statement: the rollback undoes them all, so they need not run.
                held = []
            outcome: Outcome = await_(conn._execute(_run, conn._conn, operation, parameters, many, held))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._hop(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._hop(operation, seq_of_parameters, True)


def _commit(conn: sqlite3.Connection, held: Sequence[Held]) -> None:
    _run_held(conn, held)
    conn.commit()


def _fetch(conn: sqlite3.Connection, held: Sequence[Held], reads: Sequence[tuple[str, Sequence[Any]]]
           ) -> list[list[Any]]:
    """In aiosqlite's thread: the writes held back, then each read (or write returning rows)
    with its rows."""
    _run_held(conn, held)
    out: list[list[Any]] = []
    for operation, parameters in reads:
        cursor = conn.execute(operation, parameters)
        try:
            out.append(cursor.fetchall())
        finally:
            cursor.close()
    return out


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The connection as SQLAlchemy sees it, which also takes statements of the event's hot
    path below SQLAlchemy's execution (`bot.store.repositories.hot`): reads run at once, in
    one trip with the writes held back; writes held back until the next trip."""

    __slots__ = ("_held",)
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._held: list[Held] = []

    def take_held(self) -> list[Held]:
        held, self._held = self._held, []
        return held

    def hold(self, operation: str, parameters: Sequence[Any], many: bool) -> None:
        """A write whose outcome nobody reads (no rows, no row count): it travels with the
        next trip to the database's thread, in order, at the latest with the commit. Its
        failure, if it fails, is that trip's."""
        self._held.append((operation, parameters, many))

    async def fetch(self, reads: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """Run reads in one trip, after the writes held back; from async code, not through
        SQLAlchemy (its greenlet is not needed: nothing here goes back to it)."""
        conn = self._connection
        try:
            return await conn._execute(_fetch, conn._conn, self.take_held(), reads)  # type: ignore[no-any-return]
        except sqlite3.Error as error:
            raise translate(error, reads[0][0] if reads else "", reads[0][1] if reads else ()) from error

    def commit(self) -> None:
        held = self.take_held()
        if not held:
            super().commit()
            return
        try:
            conn = self._connection
            await_(conn._execute(_commit, conn._conn, held))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        self._held = []  # never sent: nothing of them reached the database
        # The pool rolls back every connection it gets back, after each commit too: with no
        # transaction open there is nothing to do, and no need for a trip to the thread.
        conn = self._connection._connection
        if conn is not None and not conn.in_transaction:
            return
        super().rollback()


def translate(error: sqlite3.Error, statement: str, parameters: Any) -> DBAPIError:
    """A driver error on the hot path as SQLAlchemy would have raised it (`IntegrityError`,
    `OperationalError`…), so callers tell the store's failures from an event's the same way."""
    translated = DBAPIError.instance(statement, parameters, error, sqlite3.Error)
    assert isinstance(translated, DBAPIError)
    return translated


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite module as SQLAlchemy sees it, its connections making one-hop cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does: no hang at exit
        return OneHopConnection(self, await_(connection))


def one_hop_dbapi() -> OneHopDBAPI | None:
    """The module to give `create_async_engine` (its `module` argument), or None to keep
    SQLAlchemy's adapter when this aiosqlite lacks what the one hop relies on."""
    if not hasattr(aiosqlite.Connection, "_execute") or not hasattr(aiosqlite.Connection, "_conn") \
            or not hasattr(aiosqlite.Connection, "stop"):
        return None
    return OneHopDBAPI(aiosqlite, sqlite3)
