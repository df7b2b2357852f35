"""SQLite through aiosqlite with one trip to its thread per statement, where SQLAlchemy's adapter makes four."""

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
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, list[Any], int, int | None]
"""What a statement left: its description, its rows, its row count and the last row id."""


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the cursor made, executed, read and closed in one go."""
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
            outcome: Outcome = await_(conn._execute(_run, conn._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._hop(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._hop(operation, seq_of_parameters, True)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor

    def rollback(self) -> None:
        # The pool rolls back every connection it gets back, after each commit too: with no
        # transaction open there is nothing to do, and no need for a trip to the thread.
        conn = self._connection._connection
        if conn is not None and not conn.in_transaction:
            return
        super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite module as SQLAlchemy sees it, its connections making one-hop cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does: no hang at exit
        return OneHopConnection(self, await_(connection))  # type: ignore[arg-type]


def one_hop_dbapi() -> OneHopDBAPI | None:
    """The module to give `create_async_engine` (its `module` argument), or None to keep
    SQLAlchemy's adapter when this aiosqlite lacks what the one hop relies on."""
    if not hasattr(aiosqlite.Connection, "_execute") or not hasattr(aiosqlite.Connection, "_conn") \
            or not hasattr(aiosqlite.Connection, "stop"):
        return None
    return OneHopDBAPI(aiosqlite, sqlite3)
