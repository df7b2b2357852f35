"""`drop`, the answers' store port's deletion (the pulse's close), the same on SQLite, PostgreSQL and
in memory: every row of the ritual's topic goes, superseded ones too; other topics and rituals stay."""

from __future__ import annotations

from bot.store.answer_rows import AnswerKey, AnswerNew
from bot.store.ports import StorePort
from tests.integration.test_answers_port import _at, _network, store

__all__ = ["store"]


async def test_dropped_answers_leave_no_row_not_even_superseded_ones(store: StorePort) -> None:
    nid, rid, ada, bea, _ = await _network(store)
    async with store.unit() as unit:
        other = (await unit.rituals.create(nid, "consent", None, ["general"], {}, "command", _at(0))).id
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("pulse1", 1), ada, "4", _at(1), reason="bien")])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("pulse1", 1), ada, "2", _at(2))])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("pulse1", 1), bea, "5", _at(3))])
        await unit.answers.record(nid, [AnswerNew(rid, AnswerKey("cafe"), bea, "yes", _at(3))])
        await unit.answers.record(nid, [AnswerNew(other, AnswerKey("pulse1", 1), ada, "3", _at(3))])
        assert len(await unit.answers.history(rid)) == 4
        await unit.answers.drop(rid, "pulse1")
    async with store.reading() as unit:
        assert [(r.key.topic, r.person_id) for r in await unit.answers.history(rid)] == [("cafe", bea)]
        assert [r.value for r in await unit.answers.history(other)] == ["3"]
        assert [r.key.topic for r in await unit.answers.of_person(nid, ada)] == ["pulse1"]  # the other ritual's
    async with store.unit() as unit:
        await unit.answers.drop(rid)
    async with store.reading() as unit:
        assert await unit.answers.history(rid) == []
