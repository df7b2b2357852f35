"""The decision register in SQL: entries, their versions and answers, and who may read it.

Writing an entry is a short conversation with the database (find it, insert or update it,
then its versions and answers); `write_steps` holds it once, as a generator of statements,
so the engine (async) and migration 0007's backfill (sync, inside Alembic) run the same one.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Executable, and_, func, select
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.register_rows import (
    FALLBACK_STATUS,
    Objection,
    PersonAnswers,
    RegisterAnswer,
    RegisterEntry,
    RegisterKind,
    RegisterVersion,
    RegisterWrite,
)
from bot.store.repositories.sql import chunks

Steps = Generator[Executable, Result[Any], int]


def write_steps(network_id: int, w: RegisterWrite) -> Steps:
    """The statements that put one record in the register; returns the entry's id."""
    e = t.register_entries
    found = (yield select(e.c.id, e.c.data).where(
        e.c.network_id == network_id, e.c.kind == w.kind, e.c.ritual_kind == w.ritual_kind,
        e.c.ritual_number == w.ritual_number, e.c.key == w.key)).first()
    values: dict[str, Any] = {"recorded_at": w.recorded_at}
    for name in ("title", "status", "opened_at", "closed_at", "anonymous"):
        if getattr(w, name) is not None:
            values[name] = getattr(w, name)
    if w.counts is not None:
        values["counts"] = dict(w.counts)
    if found is None:
        if w.kind == "meeting":
            # Meetings have no number of their own (one calendar holds them all): the
            # register numbers them in the order it learns of them.
            top = (yield select(func.max(e.c.number)).where(e.c.network_id == network_id, e.c.kind == "meeting")
                   ).scalar()
            number = int(top or 0) + 1
        else:
            number = w.ritual_number
        entry_id = int((yield e.insert().values(
            network_id=network_id, ritual_id=w.ritual_id, ritual_kind=w.ritual_kind, ritual_number=w.ritual_number,
            kind=w.kind, key=w.key, number=number, data=dict(w.data),
            **{"title": "", "status": FALLBACK_STATUS, "anonymous": False, "counts": {}, **values},
        ).returning(e.c.id)).scalar_one())
    else:
        entry_id = int(found.id)
        old = found.data if isinstance(found.data, dict) else {}
        yield e.update().where(e.c.id == entry_id).values(data={**old, **w.data}, **values)
    v = t.register_versions
    for version in w.versions:
        text = version.text
        if text is None:
            # A later record lists past versions without their text: the one recorded stays.
            text = (yield select(v.c.text).where(v.c.entry_id == entry_id, v.c.version == version.version)).scalar()
        yield v.delete().where(v.c.entry_id == entry_id, v.c.version == version.version)
        yield v.insert().values(
            entry_id=entry_id, version=version.version, title=version.title, text=text,
            opened_at=version.opened_at, deadline=version.deadline, closed_at=version.closed_at,
            outcome=version.outcome, counts=dict(version.counts),
            objections=[{"choice": o.choice, "reason": o.reason, "by": o.by} for o in version.objections])
    a = t.register_answers
    for number, answers in w.answers.items():
        yield a.delete().where(a.c.entry_id == entry_id, a.c.version == number)
        rows = [{"entry_id": entry_id, "version": number, "person_id": x.person_id, "name": x.name,
                 "organisation": x.organisation, "choice": x.choice, "reason": x.reason,
                 "subject_id": x.subject_id, "subject_name": x.subject_name} for x in answers]
        for chunk in chunks(rows):
            yield a.insert().values(list(chunk))
    return entry_id


def _entry(r: Any, versions: Sequence[RegisterVersion] = (), answers: Sequence[RegisterAnswer] = ()) -> RegisterEntry:
    return RegisterEntry(
        id=r.id, kind=cast(RegisterKind, r.kind), ritual_id=r.ritual_id, ritual_kind=r.ritual_kind,
        ritual_number=r.ritual_number, key=r.key, number=r.number, title=r.title, status=r.status,
        opened_at=r.opened_at, closed_at=r.closed_at, anonymous=bool(r.anonymous), counts=dict(r.counts or {}),
        data=dict(r.data or {}), recorded_at=r.recorded_at, versions=tuple(versions), answers=tuple(answers))


def _version(r: Any) -> RegisterVersion:
    return RegisterVersion(
        version=r.version, title=r.title, text=r.text, opened_at=r.opened_at, deadline=r.deadline,
        closed_at=r.closed_at, outcome=r.outcome, counts=dict(r.counts or {}),
        objections=tuple(Objection(choice=str(o.get("choice") or "objection"), reason=o.get("reason"), by=o.get("by"))
                         for o in (r.objections or []) if isinstance(o, dict)))


def _answer(r: Any) -> RegisterAnswer:
    return RegisterAnswer(
        version=r.version, choice=r.choice, person_id=r.person_id, name=r.name, organisation=r.organisation,
        reason=r.reason, subject_id=r.subject_id, subject_name=r.subject_name)


class SqlRegister:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def write(self, network_id: int, w: RegisterWrite) -> int:
        steps = write_steps(network_id, w)
        result: Result[Any] | None = None
        try:
            while True:
                stmt = steps.send(result) if result is not None else next(steps)
                result = await self.conn.execute(stmt)
        except StopIteration as done:
            return int(done.value)

    async def entries(self, network_id: int, kinds: Sequence[str] | None = None, since: datetime | None = None,
                      details: bool = True) -> list[RegisterEntry]:
        e = t.register_entries
        q = select(e).where(e.c.network_id == network_id)
        if kinds is not None:
            q = q.where(e.c.kind.in_(list(kinds)))
        if since is not None:
            q = q.where(e.c.recorded_at >= since)
        rows = (await self.conn.execute(q.order_by(e.c.id))).all()
        if not details or not rows:
            return [_entry(r) for r in rows]
        return await self._with_details(rows)

    async def entry(self, network_id: int, kind: str, number: int, ritual_kind: str | None = None
                    ) -> RegisterEntry | None:
        e = t.register_entries
        q = select(e).where(e.c.network_id == network_id, e.c.kind == kind, e.c.number == number)
        if ritual_kind is not None:
            q = q.where(e.c.ritual_kind == ritual_kind)
        rows = (await self.conn.execute(q.order_by(e.c.id).limit(1))).all()
        found = await self._with_details(rows) if rows else []
        return found[0] if found else None

    async def _with_details(self, rows: Sequence[Any]) -> list[RegisterEntry]:
        ids = [r.id for r in rows]
        versions: dict[int, list[RegisterVersion]] = {}
        answers: dict[int, list[RegisterAnswer]] = {}
        v, a = t.register_versions, t.register_answers
        for chunk in chunks(ids):
            for r in (await self.conn.execute(select(v).where(v.c.entry_id.in_(list(chunk)))
                                              .order_by(v.c.entry_id, v.c.version))).all():
                versions.setdefault(r.entry_id, []).append(_version(r))
            for r in (await self.conn.execute(select(a).where(a.c.entry_id.in_(list(chunk)))
                                              .order_by(a.c.entry_id, a.c.version, a.c.id))).all():
                answers.setdefault(r.entry_id, []).append(_answer(r))
        return [_entry(r, versions.get(r.id, ()), answers.get(r.id, ())) for r in rows]

    async def person_answers(self, network_id: int, person_id: int) -> PersonAnswers:
        e, a = t.register_entries, t.register_answers
        joined = a.join(e, e.c.id == a.c.entry_id)
        mine = and_(e.c.network_id == network_id, (a.c.person_id == person_id) | (a.c.subject_id == person_id))
        row = (await self.conn.execute(select(func.count(), func.count(func.distinct(a.c.entry_id)))
                                       .select_from(joined).where(mine))).one()
        return PersonAnswers(answers=int(row[0]), entries=int(row[1]))

    async def reader_generation(self, network_id: int, person_id: int) -> int:
        r = t.register_readers
        row = (await self.conn.execute(select(r.c.generation).where(
            r.c.network_id == network_id, r.c.person_id == person_id))).first()
        return 0 if row is None else int(row[0])

    async def bump_reader(self, network_id: int, person_id: int, now: datetime) -> int:
        """A new generation for the person's links: every link given before stops working."""
        r = t.register_readers
        current = await self.reader_generation(network_id, person_id)
        res = await self.conn.execute(r.update().where(r.c.network_id == network_id, r.c.person_id == person_id)
                                      .values(generation=current + 1, updated_at=now))
        if not res.rowcount:
            await self.conn.execute(r.insert().values(network_id=network_id, person_id=person_id,
                                                      generation=current + 1, updated_at=now))
        return current + 1
