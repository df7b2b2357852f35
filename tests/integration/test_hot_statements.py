"""The event's hot statements below SQLAlchemy's execution (`bot.store.repositories.hot`): the
same rows, conversions, defaults and errors as SQLAlchemy gives, on SQLite and PostgreSQL; on
SQLite, writes held back until the next trip, never lost, never run after a rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import create_engine_for, open_store
from bot.store.repositories import hot
from bot.store.schema import UTCDateTime

md = MetaData()
things = Table(
    "hot_things", md,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False, unique=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("data", JSON, nullable=True),
    Column("kind", String(10), nullable=False, server_default="plain"),
    Column("tags", JSON, nullable=False, default=list),
)
T0 = datetime(2026, 12, 3, 17, 30, 5, 123456, tzinfo=UTC)


def _add(dialect: str) -> Any:
    return insert(things)


def _by_name(dialect: str) -> Any:
    return select(things).where(things.c.name == bindparam("n"))


def _rename(dialect: str) -> Any:
    return update(things).where(things.c.id == bindparam("b_id")).values(name=bindparam("b_name"))


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(store_url)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    yield engine
    await engine.dispose()


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(things.c.name).order_by(things.c.id))).scalars())


async def test_rows_and_conversions_are_sqlalchemys(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [
            {"name": "a", "at": T0, "data": {"k": [1, "é"]}, "tags": ["x"]},
            {"name": "b", "at": T0 + timedelta(hours=1), "data": None, "tags": []},
        ])
        (a,) = await hot.fetch(conn, "t_by_name", _by_name, [{"n": "a"}])
        sa = (await conn.execute(select(things).where(things.c.name == "a"))).one()
    assert tuple(a) == tuple(sa)
    assert (a.name, a.at, a.data, a.kind, a.tags) == ("a", T0, {"k": [1, "é"]}, "plain", ["x"])
    assert a.at.tzinfo is not None
    async with engine.begin() as conn:
        both = await hot.fetch(conn, "t_by_name", _by_name, [{"n": "b"}, {"n": "nobody"}, {"n": "a"}])
    assert [(r.name, r.at, r.data) for r in both] == [("b", T0 + timedelta(hours=1), None), ("a", T0, {"k": [1, "é"]})]


async def test_an_insert_keeps_the_defaults_of_the_columns_it_is_not_given(engine: AsyncEngine) -> None:
    # `tags` has a default computed in Python: SQLAlchemy's execution runs that statement.
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "c", "tags": ["y"]}])
        await hot.write(conn, "t_add", _add, [{"name": "d"}])
    async with engine.connect() as conn:
        rows = (await conn.execute(select(things.c.name, things.c.kind, things.c.tags, things.c.at)
                                   .order_by(things.c.id))).all()
    assert [tuple(r) for r in rows] == [("c", "plain", ["y"], None), ("d", "plain", [], None)]


async def test_a_write_is_seen_by_the_reads_after_it_and_kept_at_commit(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "e", "tags": []}])
        (e,) = await hot.fetch(conn, "t_by_name", _by_name, [{"n": "e"}])
        await hot.write(conn, "t_rename", _rename, [{"b_id": e.id, "b_name": "e2"}])
        # A read through SQLAlchemy sees the held write too.
        assert (await conn.execute(select(things.c.name))).scalars().all() == ["e2"]
        await hot.write(conn, "t_rename", _rename, [{"b_id": e.id, "b_name": "e3"}])
    assert await _names(engine) == ["e3"]


async def test_a_failing_write_fails_its_transaction_and_leaves_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "f", "tags": []}])
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await hot.write(conn, "t_add", _add, [{"name": "g", "tags": []}])
            await hot.write(conn, "t_add", _add, [{"name": "f", "tags": []}])  # the unique name again
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await hot.write(conn, "t_add", _add, [{"name": "h", "tags": []}, {"name": "f", "tags": []}])
            await hot.fetch(conn, "t_by_name", _by_name, [{"n": "h"}])
    assert await _names(engine) == ["f"]
    # The connection the failures happened on serves the next transaction cleanly.
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "i", "tags": []}])
    assert await _names(engine) == ["f", "i"]


async def test_rollbacks_drop_what_they_undo(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await hot.write(conn, "t_add", _add, [{"name": "j", "tags": []}])
            raise RuntimeError("the batch failed")
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "k", "tags": []}])
        try:
            async with conn.begin_nested():
                await hot.write(conn, "t_add", _add, [{"name": "l", "tags": []}])
                raise RuntimeError("one event failed")
        except RuntimeError:
            pass
        async with conn.begin_nested():
            await hot.write(conn, "t_add", _add, [{"name": "m", "tags": []}])
    assert await _names(engine) == ["k", "m"]


async def test_on_sqlite_held_writes_travel_with_the_next_trip(tmp_path: Any, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    try:
        async with engine.begin() as conn:
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            await hot.write(conn, "t_add", _add, [{"name": "n", "tags": []}])
            await hot.write(conn, "t_add", _add, [{"name": "o", "tags": []}, {"name": "p", "tags": []}])
            assert trips == []  # held
            rows = await hot.fetch(conn, "t_by_name", _by_name, [{"n": "o"}, {"n": "p"}])
            assert [r.name for r in rows] == ["o", "p"] and trips == ["_fetch"]
            await hot.write(conn, "t_rename", _rename, [{"b_id": rows[0].id, "b_name": "o2"}])
            n, p = await hot.fetch_together(conn, [("t_by_name", _by_name, [{"n": "n"}]),
                                                   ("t_by_name", _by_name, [{"n": "o2"}, {"n": "p"}])])
            assert [r.name for r in n] == ["n"] and [r.name for r in p] == ["o2", "p"]
            assert trips == ["_fetch", "_fetch"]  # the rename and both reads in one trip
            await hot.write(conn, "t_rename", _rename, [{"b_id": p[1].id, "b_name": "p2"}])
        assert trips == ["_fetch", "_fetch", "_commit"]  # the last write went with the commit
    finally:
        monkeypatch.undo()
        await engine.dispose()
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    try:
        assert await _names(engine) == ["n", "o2", "p2"]
    finally:
        await engine.dispose()


def _plain_named(dialect: str) -> Any:
    # A literal in the statement (its value kept with it) beside a parameter the caller gives.
    return select(things.c.name).where(things.c.kind == "plain", things.c.name == bindparam("n"))


async def test_literals_are_kept_and_a_missing_parameter_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "q", "tags": []}])
        assert [r.name for r in await hot.fetch(conn, "t_plain", _plain_named, [{"n": "q"}])] == ["q"]
        assert await hot.fetch(conn, "t_plain", _plain_named, [{"n": "nobody"}]) == []
        with pytest.raises(SQLAlchemyError, match="value is required"):
            await hot.fetch(conn, "t_plain", _plain_named, [{"name": "q"}])


async def test_outside_a_transaction_one_is_begun_as_sqlalchemy_would(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "r", "tags": []}])
        assert conn.in_transaction()
        await conn.commit()
    async with engine.connect() as conn:
        await hot.write(conn, "t_add", _add, [{"name": "s", "tags": []}])
        assert [r.name for r in await hot.fetch(conn, "t_by_name", _by_name, [{"n": "s"}])] == ["s"]
    # Closed without a commit: rolled back, as a transaction SQLAlchemy begins by itself is.
    assert await _names(engine) == ["r"]


async def test_the_writers_kept_connection_is_replaced_once_it_failed(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        async with store.writing() as unit:
            first = unit.conn
        async with store.writing() as unit:
            assert unit.conn is first  # kept between transactions
        with pytest.raises(RuntimeError):
            async with store.writing() as unit:
                await unit.conn.invalidate()  # the database went away under it
                raise RuntimeError("the batch failed")
        async with store.writing() as unit:
            assert unit.conn is not first
            await unit.probe()
    finally:
        await store.close()
