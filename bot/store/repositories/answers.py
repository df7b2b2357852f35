"""Members' answers, one row each: recorded (superseding the previous one), read back, made
anonymous, moved to the survivor of a merge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.answer_rows import AnswerKey, AnswerNew, AnswerRow
from bot.store.repositories import hot

A = t.answers


def answer_row(r: Any) -> AnswerRow:
    return AnswerRow(r.id, r.ritual_id, AnswerKey(r.topic, r.part, r.version), r.person_id, r.value, r.reason,
                     r.subject_id, dict(r.data or {}), r.at, r.superseded_at)


def _supersede(dialect: str) -> Any:
    """The stored current answers, found by the partial unique index."""
    return update(A).where(
        A.c.ritual_id == bindparam("b_ritual"), A.c.topic == bindparam("b_topic"), A.c.part == bindparam("b_part"),
        A.c.version == bindparam("b_version"), A.c.person_id == bindparam("b_person"),
        A.c.superseded_at.is_(None)).values(superseded_at=bindparam("b_at"))


def _insert(dialect: str) -> Any:
    return insert(A)


def _current(by_person: bool, by_part: bool) -> hot.Build:
    def build(dialect: str) -> Any:
        q = select(A).where(A.c.ritual_id == bindparam("rid"), A.c.superseded_at.is_(None))
        if by_person:
            q = q.where(A.c.person_id == bindparam("pid"))
        if by_part:
            q = q.where(A.c.part == bindparam("part"))
        return q.order_by(A.c.id)
    return build


CURRENT = {(p, q): (f"answers_current_{p}_{q}", _current(p, q)) for p in (False, True) for q in (False, True)}
"""A member's current answers are read by every answer they give: (by person, by part) → the
statement's name and builder."""


class SqlAnswers:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(self, network_id: int, answers: Sequence[AnswerNew]) -> None:
        if not answers:
            return
        first: dict[tuple[int, AnswerKey, int], datetime] = {}
        later: list[datetime | None] = [None] * len(answers)
        last: dict[tuple[int, AnswerKey, int], int] = {}
        fresh: set[tuple[int, AnswerKey, int]] = set()
        for i, a in enumerate(answers):
            who = (a.ritual_id, a.key, a.person_id)
            if who not in first and a.fresh:
                fresh.add(who)  # no stored current answer: nothing to supersede
            first.setdefault(who, a.at)
            if who in last:
                later[last[who]] = a.at  # given and changed within the same transaction
            last[who] = i
        # The stored current answers, found by the partial unique index.
        supersede = [{"b_ritual": r, "b_topic": k.topic, "b_part": k.part, "b_version": k.version, "b_person": p,
                      "b_at": at} for (r, k, p), at in first.items() if (r, k, p) not in fresh]
        await hot.write(self.conn, "answers_supersede", _supersede, supersede)
        await hot.write(self.conn, "answers_insert", _insert, [
            {"network_id": network_id, "ritual_id": a.ritual_id, "topic": a.key.topic, "part": a.key.part,
             "version": a.key.version, "person_id": a.person_id, "value": a.value, "reason": a.reason,
             "subject_id": a.subject_id, "data": dict(a.data), "at": a.at, "superseded_at": later[i]}
            for i, a in enumerate(answers)])

    async def current(self, ritual_id: int, person_id: int | None = None, part: int | None = None
                      ) -> list[AnswerRow]:
        name, build = CURRENT[(person_id is not None, part is not None)]
        params: dict[str, Any] = {"rid": ritual_id}
        if person_id is not None:
            params["pid"] = person_id
        if part is not None:
            params["part"] = part
        return [answer_row(r) for r in await hot.fetch(self.conn, name, build, [params])]

    async def history(self, ritual_id: int, part: int | None = None) -> list[AnswerRow]:
        q = select(A).where(A.c.ritual_id == ritual_id)
        if part is not None:
            q = q.where(A.c.part == part)
        return [answer_row(r) for r in (await self.conn.execute(q.order_by(A.c.id))).all()]

    async def of_person(self, network_id: int, person_id: int) -> list[AnswerRow]:
        rows = (await self.conn.execute(select(A).where(A.c.network_id == network_id, A.c.person_id == person_id)
                                        .order_by(A.c.id))).all()
        return [answer_row(r) for r in rows]

    async def anonymize(self, ritual_id: int, topic: str | None = None) -> None:
        q = update(A).where(A.c.ritual_id == ritual_id, A.c.person_id.is_not(None))
        if topic is not None:
            q = q.where(A.c.topic == topic)
        await self.conn.execute(q.values(person_id=None))

    async def drop(self, ritual_id: int, topic: str | None = None) -> None:
        q = delete(A).where(A.c.ritual_id == ritual_id)
        if topic is not None:
            q = q.where(A.c.topic == topic)
        await self.conn.execute(q)

    async def merge(self, absorbed: int, into: int) -> None:
        """`absorbed`'s answers become `into`'s; where both have a current answer to the same
        question, `into`'s stands and the other is superseded by it (as of its time)."""
        b = A.alias("b")
        same = and_(b.c.person_id == into, b.c.superseded_at.is_(None), b.c.ritual_id == A.c.ritual_id,
                    b.c.topic == A.c.topic, b.c.part == A.c.part, b.c.version == A.c.version)
        theirs = select(b.c.at).where(same).scalar_subquery()
        await self.conn.execute(update(A).where(A.c.person_id == absorbed, A.c.superseded_at.is_(None),
                                                exists().where(same)).values(superseded_at=theirs))
        await self.conn.execute(update(A).where(A.c.person_id == absorbed).values(person_id=into))
        await self.conn.execute(update(A).where(A.c.subject_id == absorbed).values(subject_id=into))
