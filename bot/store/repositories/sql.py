"""SQL helpers shared by the repositories: the dialect's upsert, statements in chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
CHUNK = 500
"""Rows per statement: well under SQLite's limit on bound parameters."""


def insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, on the connection's dialect (SQLite or PostgreSQL)."""
    return sqlite_insert(table) if conn.dialect.name == "sqlite" else pg_insert(table)


_PREPARED: dict[tuple[str, str], Any] = {}


def prepared(conn: AsyncConnection, name: str, build: Callable[[str], Any]) -> Any:
    """A statement built once per dialect (`build` gets the dialect's name) and kept: its
    parameters are bound at execution, so SQLAlchemy neither builds it again nor computes its
    cache key again (half of what a small statement costs in processor time on the hot path
    of an event)."""
    key = (conn.dialect.name, name)
    stmt = _PREPARED.get(key)
    if stmt is None:
        stmt = _PREPARED[key] = build(conn.dialect.name)
    return stmt


def dialect_insert(dialect: str, table: Table) -> Any:
    return sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
