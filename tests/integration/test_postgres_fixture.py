"""The throwaway PostgreSQL fixture: connect, create a database, survive a restart."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.postgres import TempPostgres
from tests.fixtures.pytest_postgres import pg_server  # noqa: F401

pytestmark = pytest.mark.postgres


async def _select_one(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("select 1"))).scalar_one())
    finally:
        await engine.dispose()


async def test_select_one(pg_server: TempPostgres) -> None:  # noqa: F811
    assert pg_server.url.startswith("postgresql+asyncpg://")
    assert f"@127.0.0.1:{pg_server.port}/" in pg_server.url
    assert await _select_one(pg_server.url) == 1


async def test_create_database_is_isolated(pg_server: TempPostgres) -> None:  # noqa: F811
    url = pg_server.create_database("fixture_isolated")
    assert url.endswith("/fixture_isolated")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table only_here (x int)"))
            await conn.execute(text("insert into only_here values (42)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("select current_database()"))).scalar_one() == (
                "fixture_isolated"
            )
    finally:
        await engine.dispose()
    default = create_async_engine(pg_server.url)
    try:
        async with default.connect() as conn:
            found = await conn.execute(text("select to_regclass('only_here') is not null"))
            assert found.scalar_one() is False
    finally:
        await default.dispose()


async def test_restart_keeps_port_and_data(pg_server: TempPostgres) -> None:  # noqa: F811
    url = pg_server.create_database("fixture_restart")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table kept (x int)"))
            await conn.execute(text("insert into kept values (7)"))
        port = pg_server.port
        # In a thread: the restart blocks for about a second.
        await asyncio.to_thread(pg_server.restart)
        assert pg_server.port == port
        assert pg_server.is_running
        # The pool's connections died with the old server; drop them and reconnect.
        await engine.dispose()
        async with engine.connect() as conn:
            assert (await conn.execute(text("select x from kept"))).scalar_one() == 7
    finally:
        await engine.dispose()
    assert await _select_one(pg_server.url) == 1
