"""The mandates' store port, the same on SQLite, PostgreSQL and in memory: mandates added, a seat
offered then started, ended once (never deleted), moved to the survivor of a merge."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.mandate_rows import MandateNew
from bot.store.memory import MemoryStore
from bot.store.ports import StorePort
from tests.fixtures.postgres import TempPostgres

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
ROLE = "délégué·e au comité régional"
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
        url = server.create_database(f"mandates{next(_numbers)}")
    sql = await open_store(url)
    try:
        yield sql
    finally:
        await sql.close()


async def _people(store: StorePort) -> tuple[int, int, int, int]:
    async with store.unit() as unit:
        nid = await unit.networks.ensure("Réseau", T0)
        ada, bea, cid = [await unit.people.add_person(nid, k, k.title(), now=T0) for k in ("ada", "bea", "cid")]
    return nid, ada, bea, cid


async def test_mandates_are_added_offered_started_and_ended_never_deleted(store: StorePort) -> None:
    nid, ada, bea, cid = await _people(store)
    async with store.unit() as unit:
        first = await unit.mandates.add(nid, MandateNew(ROLE, ada, "La Ruche", "draw", T0, T0 + YEAR,
                                                        started_at=T0, ritual_number=3))
        appointed = await unit.mandates.add(nid, MandateNew("trésorerie", bea, None, "appointed", T0, T0 + YEAR,
                                                            started_at=T0, appointed_by=ada))
        await unit.mandates.end(first, T0 + timedelta(days=40), "resignation")
        offered = await unit.mandates.add(nid, MandateNew(ROLE, cid, "Le Four", "draw", T0 + timedelta(days=40),
                                                          T0 + YEAR, status="offered", started_at=T0 + timedelta(days=40),
                                                          ritual_number=3, reserve_rank=1, replaces=first))
        await unit.mandates.start(offered, T0 + timedelta(days=41))
        await unit.mandates.end(first, T0 + timedelta(days=90), "term")  # ended once: it keeps its end
    async with store.reading() as unit:
        rows = await unit.mandates.of_network(nid)
    assert [(r.id, r.role, r.person_id, r.how, r.status, r.started_at, r.ended_at, r.ended_why) for r in rows] == [
        (first, ROLE, ada, "draw", "ended", T0, T0 + timedelta(days=40), "resignation"),
        (appointed, "trésorerie", bea, "appointed", "active", T0, None, None),
        (offered, ROLE, cid, "draw", "active", T0 + timedelta(days=41), None, None),
    ]
    assert (rows[0].organisation, rows[0].ritual_number, rows[1].appointed_by) == ("La Ruche", 3, ada)
    assert (rows[2].reserve_rank, rows[2].replaces, rows[2].ends_at) == (1, first, T0 + YEAR)
    async with store.unit() as unit:
        other = await unit.networks.ensure("Autre", T0)
        assert await unit.mandates.of_network(other) == []


async def test_a_merge_moves_mandates_and_appointments_to_the_survivor(store: StorePort) -> None:
    nid, ada, bea, cid = await _people(store)
    async with store.unit() as unit:
        await unit.mandates.add(nid, MandateNew(ROLE, bea, "Le Jardin", "election", T0, T0 + YEAR, started_at=T0,
                                                ritual_number=1))
        await unit.mandates.add(nid, MandateNew("trésorerie", cid, None, "appointed", T0, T0 + YEAR, started_at=T0,
                                                appointed_by=bea))
        await unit.people.merge(nid, bea, ada)
    async with store.reading() as unit:
        rows = await unit.mandates.of_network(nid)
    assert [(r.person_id, r.appointed_by) for r in rows] == [(ada, None), (cid, ada)]
    # Who held it then stays as it was: the organisation at the time is the row's own.
    assert rows[0].organisation == "Le Jardin"
