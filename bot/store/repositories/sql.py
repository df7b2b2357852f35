"""SQL helpers shared by the repositories: the dialect's upsert, statements in chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
