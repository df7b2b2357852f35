"""The directory's store port, the same on SQLite, PostgreSQL and in memory: the invitation marked once, two persons merged, roles set one by one, where each profile value came from."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.memory import MemoryStore
from bot.store.ports import StorePort
from bot.store.rows import SourceRow
from tests.fixtures.postgres import TempPostgres

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorePort]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'maillage.db'}"
    else:
        server: TempPostgres = request.getfixturevalue("pg_server")
        url = server.create_database(f"port{next(_numbers)}")
    sql = await open_store(url)
    try:
        yield sql
    finally:
        await sql.close()


async def test_the_directory_port(store: StorePort) -> None:
    async with store.unit() as unit:
        nid = await unit.networks.ensure("Réseau", T0)
        await unit.people.put_channel(nid, "general", "console", "general", "Général")
        (channel,) = await unit.people.channels(nid)
        bruno = await unit.people.add_person(nid, "bruno", "Bruno", attributes={"territoire": "Sud"}, now=T0)
        other = await unit.people.add_person(nid, "matrix:@b:x", "b", now=T0)
        await unit.people.add_account(nid, "slack", "", "UB", bruno)
        await unit.people.add_account(nid, "matrix", "", "@b:x", other)
        for pid in (bruno, other):
            await unit.people.add_channel_member(channel.id, pid, T0)
        await unit.people.set_role(nid, "délégué", other, True)
        await unit.people.set_role(nid, "animateur", bruno, True)
        await unit.people.set_role(nid, "animateur", bruno, True)  # twice: held once
        await unit.people.put_sources([SourceRow(other, "attribute", "college", "chat", None, T0, other),
                                       SourceRow(bruno, "attribute", "territoire", "config", "Sud", T0)])
        assert await unit.people.mark_invited(other, T0) is True
        assert await unit.people.mark_invited(other, T0 + timedelta(days=1)) is False

    async with store.unit() as unit:
        await unit.people.merge(nid, other, bruno)
        await unit.people.put_sources([SourceRow(bruno, "attribute", "territoire", "chat", "Sud",
                                                 T0 + timedelta(hours=1), bruno)])

    async with store.reading() as unit:
        persons = {p.key: p for p in await unit.people.persons(nid)}
        assert persons["matrix:@b:x"].merged_into == bruno and persons["matrix:@b:x"].invited
        assert persons["bruno"].merged_into is None and not persons["bruno"].invited
        assert {(a.platform, a.person_id) for a in await unit.people.accounts(nid)} == {("slack", bruno),
                                                                                       ("matrix", bruno)}
        assert await unit.people.channel_members([channel.id]) == [(channel.id, bruno)]
        assert sorted(await unit.people.roles(nid)) == [("animateur", bruno), ("délégué", bruno)]
        sources = await unit.people.sources(nid)
        # The absorbed person's own sources go; the survivor's latest edit replaced its row.
        assert [(s.person_id, s.field, s.attribute, s.source, s.changed_at) for s in sources] == [
            (bruno, "attribute", "territoire", "chat", T0 + timedelta(hours=1))]

    async with store.unit() as unit:
        await unit.people.set_role(nid, "délégué", bruno, False)
        await unit.people.drop_sources([(bruno, "attribute", "territoire")])
    async with store.reading() as unit:
        assert await unit.people.roles(nid) == [("animateur", bruno)]
        assert await unit.people.sources(nid) == []
