"""The answers' store port, the same on SQLite, PostgreSQL and in memory: a changed answer supersedes the previous row and keeps it, one current answer per person and question (a database guarantee on SQL), withdrawals, anonymous rows, a merge keeping the survivor's answer."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.store import Store, open_store
from bot.store import schema as t
from bot.store.answer_rows import AnswerKey, AnswerNew
from bot.store.memory import MemoryStore
from bot.store.ports import StorePort
from tests.fixtures.postgres import TempPostgres

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONSENT = AnswerKey("consent", 0, 1)
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
        url = server.create_database(f"answers{next(_numbers)}")
    sql = await open_store(url)
    try:
        yield sql
    finally:
        await sql.close()


async def _network(store: StorePort) -> tuple[int, int, int, int, int]:
    """A network, a ritual and three people: (network, ritual, ada, bea, cid)."""
    async with store.unit() as unit:
        nid = await unit.networks.ensure("Réseau", T0)
        ritual = await unit.rituals.create(nid, "consent", None, ["general"], {}, "command", T0)
        ada, bea, cid = [await unit.people.add_person(nid, k, k.title(), now=T0) for k in ("ada", "bea", "cid")]
    return nid, ritual.id, ada, bea, cid


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_a_changed_answer_supersedes_the_previous_one_which_stays(store: StorePort) -> None:
    nid, rid, ada, bea, _ = await _network(store)
    async with store.unit() as unit:
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "consent", _at(1))])
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, bea, "objection", _at(2), reason="trop tôt")])
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "objection", _at(3), data={"asked": True})])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("consent", 0, 2), ada, "consent", _at(4))])
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, bea, None, _at(5))])  # withdrawn
    async with store.reading() as unit:
        current = await unit.answers.current(rid)
        assert [(r.person_id, r.key.version, r.value, r.reason, r.data) for r in current] == [
            (ada, 1, "objection", None, {"asked": True}), (ada, 2, "consent", None, {}), (bea, 1, None, None, {})]
        assert [(r.value, r.superseded_at) for r in await unit.answers.current(rid, ada)] == [
            ("objection", None), ("consent", None)]
        history = await unit.answers.history(rid)
        assert [(r.person_id, r.value, r.at, r.superseded_at) for r in history] == [
            (ada, "consent", _at(1), _at(3)),
            (bea, "objection", _at(2), _at(5)),
            (ada, "objection", _at(3), None),
            (ada, "consent", _at(4), None),
            (bea, None, _at(5), None),
        ]
        assert [r.value for r in await unit.answers.of_person(nid, bea)] == ["objection", None]


async def test_answers_given_and_changed_in_one_call_keep_their_order(store: StorePort) -> None:
    nid, rid, ada, bea, _ = await _network(store)
    async with store.unit() as unit:
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "consent", _at(1))])
    async with store.unit() as unit:
        # What one transaction of several events writes: Ada changes her mind twice, Bea answers.
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "concern", _at(2)),
                                        AnswerNew(rid, CONSENT, bea, "consent", _at(3)),
                                        AnswerNew(rid, CONSENT, ada, "objection", _at(4), reason="non")])
    async with store.reading() as unit:
        assert [(r.person_id, r.value, r.at, r.superseded_at) for r in await unit.answers.history(rid)] == [
            (ada, "consent", _at(1), _at(2)),
            (ada, "concern", _at(2), _at(4)),
            (bea, "consent", _at(3), None),
            (ada, "objection", _at(4), None),
        ]


async def test_anonymized_answers_keep_what_was_answered_not_who(store: StorePort) -> None:
    nid, rid, ada, bea, cid = await _network(store)
    async with store.unit() as unit:
        for pid, value in ((ada, "consent"), (bea, "consent"), (cid, "objection")):
            await unit.answers.record(nid, [AnswerNew(rid, CONSENT, pid, value, _at(1), reason="non" if pid == cid
                                                     else None)])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("late"), ada, "consent", _at(2))])
        await unit.answers.anonymize(rid, "consent")
    async with store.reading() as unit:
        rows = await unit.answers.current(rid)
        assert sorted((r.key.topic, r.person_id, r.value, r.reason) for r in rows) == [
            ("consent", None, "consent", None), ("consent", None, "consent", None),
            ("consent", None, "objection", "non"), ("late", ada, "consent", None)]
        assert await unit.answers.of_person(nid, cid) == []


async def test_a_merge_keeps_the_survivors_answer_and_moves_the_others(store: StorePort) -> None:
    nid, rid, ada, bea, cid = await _network(store)
    version2 = AnswerKey("consent", 0, 2)
    async with store.unit() as unit:
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "consent", _at(1))])
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, bea, "objection", _at(2))])
        await unit.answers.record(nid, [AnswerNew(rid, version2, bea, "concern", _at(3))])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("nomination"), cid, "x", _at(4), subject_id=bea)])
        await unit.people.merge(nid, bea, ada)
    async with store.reading() as unit:
        current = await unit.answers.current(rid)
        assert [(r.person_id, r.key.version, r.value, r.subject_id) for r in current] == [
            (ada, 1, "consent", None), (ada, 2, "concern", None), (cid, 1, "x", ada)]
        # Bea's objection is kept in the history, superseded by Ada's answer.
        assert [(r.person_id, r.value, r.superseded_at) for r in await unit.answers.history(rid)
                if r.value == "objection"] == [(ada, "objection", _at(1))]


async def test_the_database_refuses_two_current_answers_of_one_person(store: StorePort) -> None:
    if not isinstance(store, Store):
        pytest.skip("a guarantee of the SQL store's unique index")
    nid, rid, ada, _, _ = await _network(store)
    async with store.unit() as unit:
        await unit.answers.record(nid, [AnswerNew(rid, CONSENT, ada, "consent", _at(1))])
    row = {"network_id": nid, "ritual_id": rid, "topic": "consent", "part": 0, "version": 1, "person_id": ada,
           "value": "objection", "data": {}, "at": _at(2)}
    with pytest.raises(IntegrityError):
        async with store.transaction() as conn:
            # What a second process would do if it skipped the supersession.
            await conn.execute(sa.insert(t.answers).values(**row))
    async with store.transaction() as conn:
        await conn.execute(sa.insert(t.answers).values(**{**row, "superseded_at": _at(2)}))
        await conn.execute(sa.insert(t.answers).values(**{**row, "person_id": None}))
        await conn.execute(sa.insert(t.answers).values(**{**row, "person_id": None}))
