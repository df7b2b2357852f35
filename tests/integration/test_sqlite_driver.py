"""The store's SQLite driver: one trip to aiosqlite's thread per statement, and SQLAlchemy's
results, row counts, ids and errors as with its own adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import create_engine_for
from bot.store.sqlite_driver import OneHopCursor

md = MetaData()
items = Table("items", md, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    yield engine
    await engine.dispose()


async def test_a_statement_is_one_hop_to_the_driver_thread(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    hops: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async with engine.begin() as conn:
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        rows = (await conn.execute(select(items))).all()
        assert len(hops) == 1, hops  # the statement made, run, read and closed
    monkeypatch.undo()
    assert rows == []
    assert len(hops) == 2, hops  # COMMIT; the pool's reset finds no transaction to roll back


async def test_a_failed_transaction_is_rolled_back(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="gone"))
            raise RuntimeError("the event failed")
    async with engine.connect() as conn:
        assert (await conn.execute(select(items))).all() == []


async def test_results_counts_ids_and_errors_as_sqlalchemy_gives_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)  # type: ignore[union-attr]
        first = await conn.execute(insert(items).values(name="a"))
        assert first.inserted_primary_key == (1,)
        await conn.execute(insert(items), [{"name": "b"}, {"name": "c"}])
        back = (await conn.execute(insert(items).returning(items.c.id, items.c.name),
                                   [{"name": "d"}, {"name": "e"}])).all()
        assert sorted(tuple(r) for r in back) == [(4, "d"), (5, "e")]
        changed = await conn.execute(update(items).where(items.c.id > 2).values(name=items.c.name + "!"))
        assert changed.rowcount == 3
        names = (await conn.execute(select(items.c.name).order_by(items.c.id))).scalars().all()
        assert names == ["a", "b", "c!", "d!", "e!"]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="a"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(items.c.id).where(items.c.name == "a"))).scalar_one() == 1
