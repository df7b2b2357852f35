"""Rituals (state, status, channels, origin) and their timers: the store is the truth of time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.kernel.refs import Ref
from bot.store import schema as t
from bot.store.answer_rows import AnswerRow
from bot.store.repositories import hot
from bot.store.repositories.answers import CURRENT, answer_row
from bot.store.repositories.sql import chunks, is_postgres
from bot.store.rows import Origin, RitualRow, RitualSave, TimerRow, TimerSet


def _ritual(r: Any) -> RitualRow:
    return RitualRow(r.id, r.kind, r.key, r.number, r.status, list(r.channels or []), r.state, r.version,
                     r.origin)


def _get(dialect: str) -> Any:
    return select(t.rituals).where(t.rituals.c.id == bindparam("rid"))


def _get_locked(dialect: str) -> Any:
    return _get(dialect).with_for_update() if dialect == "postgresql" else _get(dialect)


_SAVE_VALUES: dict[str, Any] = {"state": bindparam("b_state"), "version": bindparam("b_version"),
                                "status": bindparam("b_status"), "channels": bindparam("b_channels"),
                                "updated_at": bindparam("b_now")}


def _save_open(dialect: str) -> Any:
    """One executemany per shape: open rituals keep their finished_at, others get now."""
    return update(t.rituals).where(t.rituals.c.id == bindparam("b_id")).values(**_SAVE_VALUES)


def _save_done(dialect: str) -> Any:
    return update(t.rituals).where(t.rituals.c.id == bindparam("b_id")).values(
        **_SAVE_VALUES, finished_at=bindparam("b_now"))


class SqlRituals:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def create(self, network_id: int, kind: str, key: str | None, channels: list[str], state: dict[str, Any],
                     origin: Origin, now: datetime) -> RitualRow:
        number = int((await self.conn.execute(select(func.coalesce(func.max(t.rituals.c.number), 0)).where(
            t.rituals.c.network_id == network_id, t.rituals.c.kind == kind))).scalar_one()) + 1
        key = key or f"{kind}:{number}"
        res = await self.conn.execute(insert(t.rituals).values(
            network_id=network_id, kind=kind, key=key, number=number, status="open", channels=channels,
            state=state, version=0, origin=origin, created_at=now, updated_at=now))
        rid = int(res.inserted_primary_key[0])  # type: ignore[index]
        return RitualRow(rid, kind, key, number, "open", list(channels), state, 0, origin)

    async def get(self, ritual_id: int, lock: bool = True) -> RitualRow | None:
        # On PostgreSQL another process handling the same ritual waits its turn (FOR UPDATE).
        rows = await hot.fetch(self.conn, "ritual_locked" if lock else "ritual", _get_locked if lock else _get,
                               [{"rid": ritual_id}])
        return _ritual(rows[0]) if rows else None

    async def get_with_answers(self, ritual_id: int, person_id: int) -> tuple[RitualRow | None, list[AnswerRow]]:
        """`get` (locked), and the person's current answers in the ritual, in one trip."""
        name, build = CURRENT[(True, False)]
        rituals, answers = await hot.fetch_together(self.conn, [
            ("ritual_locked", _get_locked, [{"rid": ritual_id}]), (name, build, [{"rid": ritual_id, "pid": person_id}])])
        return (_ritual(rituals[0]) if rituals else None), [answer_row(r) for r in answers]

    async def get_many(self, ritual_ids: Sequence[int]) -> list[RitualRow]:
        out: list[RitualRow] = []
        for part in chunks(sorted(set(ritual_ids))):
            q = select(t.rituals).where(t.rituals.c.id.in_(list(part))).order_by(t.rituals.c.id)
            if is_postgres(self.conn):
                q = q.with_for_update()
            out.extend(_ritual(r) for r in (await self.conn.execute(q)).all())
        return out

    async def by_key(self, network_id: int, key: str) -> RitualRow | None:
        r = (await self.conn.execute(select(t.rituals).where(
            t.rituals.c.network_id == network_id, t.rituals.c.key == key))).first()
        return None if r is None else _ritual(r)

    async def configured(self, network_id: int) -> list[RitualRow]:
        rows = (await self.conn.execute(select(t.rituals).where(
            t.rituals.c.network_id == network_id, t.rituals.c.origin == "config"))).all()
        return [_ritual(r) for r in rows]

    async def open(self, network_id: int, kinds: Sequence[str] | None = None) -> list[RitualRow]:
        q = select(t.rituals).where(t.rituals.c.network_id == network_id, t.rituals.c.status == "open")
        if kinds is not None:
            q = q.where(t.rituals.c.kind.in_(list(kinds)))
        return [_ritual(r) for r in (await self.conn.execute(q.order_by(t.rituals.c.id.desc()))).all()]

    async def open_by_number(self, network_id: int, kind: str, number: int) -> RitualRow | None:
        r = (await self.conn.execute(select(t.rituals).where(
            t.rituals.c.network_id == network_id, t.rituals.c.status == "open", t.rituals.c.kind == kind,
            t.rituals.c.number == number))).first()
        return None if r is None else _ritual(r)

    async def of_kind(self, network_id: int, kind: str, origins: Sequence[Origin]) -> list[RitualRow]:
        rows = (await self.conn.execute(select(t.rituals).where(
            t.rituals.c.network_id == network_id, t.rituals.c.kind == kind,
            t.rituals.c.origin.in_(list(origins))).order_by(t.rituals.c.id))).all()
        return [_ritual(r) for r in rows]

    async def reopen(self, ritual_id: int, kind: str, state: dict[str, Any], now: datetime) -> None:
        await self.conn.execute(update(t.rituals).where(t.rituals.c.id == ritual_id).values(
            status="open", kind=kind, finished_at=None, updated_at=now, state=state))

    async def retire(self, ritual_id: int, now: datetime) -> None:
        await self.conn.execute(update(t.rituals).where(t.rituals.c.id == ritual_id).values(
            status="retired", finished_at=now, updated_at=now))

    async def save(self, rows: Sequence[RitualSave], now: datetime) -> None:
        for still_open in (True, False):
            # One executemany per shape: open rituals keep their finished_at, others get now.
            batch = [{"b_id": r.id, "b_state": r.state, "b_version": r.version, "b_status": r.status,
                      "b_channels": list(r.channels), "b_now": now} for r in rows if (r.status == "open") == still_open]
            if still_open:
                await hot.write(self.conn, "ritual_save_open", _save_open, batch)
            else:
                await hot.write(self.conn, "ritual_save_done", _save_done, batch)

    async def states(self, network_id: int) -> list[dict[str, Any]]:
        rows = (await self.conn.execute(select(t.rituals.c.state).where(t.rituals.c.network_id == network_id))).all()
        return [r[0] for r in rows]


class SqlTimers:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def replace(self, network_id: int, changes: Mapping[tuple[int, Ref], TimerSet | None]) -> None:
        keys = [(ritual_id, name.encode()) for ritual_id, name in changes]
        for part in chunks(keys):
            await self.conn.execute(delete(t.timers).where(tuple_(t.timers.c.ritual_id, t.timers.c.name).in_(
                list(part))))
        rows = [{"network_id": network_id, "ritual_id": s.ritual_id, "name": s.name.encode(), "due_at": s.due_at,
                 "payload": s.payload} for s in changes.values() if s is not None]
        if rows:
            await self.conn.execute(insert(t.timers), rows)

    async def clear(self, ritual_id: int) -> None:
        await self.conn.execute(delete(t.timers).where(t.timers.c.ritual_id == ritual_id))

    async def next_due(self, network_id: int) -> datetime | None:
        value = (await self.conn.execute(select(func.min(t.timers.c.due_at)).where(
            t.timers.c.network_id == network_id))).scalar()
        return t.as_utc(value)

    async def take_due(self, network_id: int, now: datetime, limit: int) -> list[TimerRow]:
        q = (select(t.timers).where(t.timers.c.network_id == network_id, t.timers.c.due_at <= now)
             .order_by(t.timers.c.due_at, t.timers.c.id).limit(limit))
        if is_postgres(self.conn):
            q = q.with_for_update(skip_locked=True)
        rows = (await self.conn.execute(q)).all()
        if rows:
            await self.conn.execute(delete(t.timers).where(t.timers.c.id.in_([r.id for r in rows])))
        return [TimerRow(r.id, r.ritual_id, Ref.decode(r.name), r.due_at, dict(r.payload or {})) for r in rows]

    async def earliest_per_ritual(self, network_id: int) -> dict[int, datetime]:
        rows = (await self.conn.execute(select(t.timers.c.ritual_id, func.min(t.timers.c.due_at).label("due"))
                                        .where(t.timers.c.network_id == network_id)
                                        .group_by(t.timers.c.ritual_id))).all()
        out: dict[int, datetime] = {}
        for r in rows:
            due = t.as_utc(r.due)
            if due is not None:
                out[int(r.ritual_id)] = due
        return out

    async def due_count(self, network_id: int, now: datetime) -> tuple[int, datetime | None]:
        count, earliest = (await self.conn.execute(select(func.count(), func.min(t.timers.c.due_at)).where(
            t.timers.c.network_id == network_id, t.timers.c.due_at <= now))).one()
        return int(count), t.as_utc(earliest)
