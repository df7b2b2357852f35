"""The outbox: actions decided in a transaction, claimed and performed after it, recorded once sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.repositories import hot
from bot.store.repositories.sql import is_postgres
from bot.store.rows import OutboxNew, OutboxRow, SentRecord


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r.id, r.ritual_id, r.idem_key, r.platform, r.action, r.route, r.attempts, r.created_at)


def _add(dialect: str) -> Any:
    return insert(t.outbox)


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, network_id: int, rows: Sequence[OutboxNew]) -> None:
        if not rows:
            return
        await hot.write(self.conn, "outbox_add", _add, [
            {"network_id": network_id, "ritual_id": r.ritual_id, "idem_key": r.idem_key, "platform": r.platform,
             "action": r.action, "route": r.route, "status": "pending", "attempts": 0, "created_at": r.created_at,
             "not_before": r.created_at} for r in rows])

    async def claim(self, network_id: int, now: datetime, held_back: Sequence[str], holder: str,
                    until: datetime, limit: int) -> list[OutboxRow]:
        q = (select(t.outbox.c.id).where(
            t.outbox.c.network_id == network_id, t.outbox.c.status == "pending", t.outbox.c.not_before <= now,
            t.outbox.c.platform.not_in(list(held_back)),
            (t.outbox.c.claimed_until.is_(None)) | (t.outbox.c.claimed_until < now))
            .order_by(t.outbox.c.id).limit(limit))
        if is_postgres(self.conn):
            q = q.with_for_update(skip_locked=True)
        ids = [r[0] for r in (await self.conn.execute(q)).all()]
        if not ids:
            return []
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id.in_(ids)).values(
            claimed_by=holder, claimed_until=until))
        rows = (await self.conn.execute(select(t.outbox).where(t.outbox.c.id.in_(ids)).order_by(t.outbox.c.id))).all()
        return [_row(r) for r in rows]

    async def release(self, ids: Sequence[int], holder: str) -> None:
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(ids)), t.outbox.c.claimed_by == holder)
                                .values(claimed_by=None, claimed_until=None))

    async def mark(self, outbox_id: int, status: str, now: datetime, error: str | None) -> None:
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(
            status=status, sent_at=now, error=error))

    async def retry_later(self, outbox_id: int, attempts: int, not_before: datetime, error: str) -> None:
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(
            attempts=attempts, not_before=not_before, error=error, claimed_by=None, claimed_until=None))

    async def sent(self, records: Sequence[SentRecord]) -> None:
        if not records:
            return
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id == bindparam("b_id")).values(
            status="sent", sent_at=bindparam("b_sent_at"), attempts=bindparam("b_attempts"), error=None),
            [{"b_id": r.outbox_id, "b_attempts": r.attempts, "b_sent_at": r.sent_at} for r in records])
        if purged := [r.outbox_id for r in records if r.purge]:
            await self.conn.execute(delete(t.outbox).where(t.outbox.c.id.in_(purged)))

    async def next_times(self, network_id: int, held_back: Sequence[str], limit: int = 50
                         ) -> list[tuple[datetime, datetime | None]]:
        rows = (await self.conn.execute(select(t.outbox.c.not_before, t.outbox.c.claimed_until).where(
            t.outbox.c.network_id == network_id, t.outbox.c.status == "pending",
            t.outbox.c.platform.not_in(list(held_back))).order_by(t.outbox.c.not_before).limit(limit))).all()
        out: list[tuple[datetime, datetime | None]] = []
        for r in rows:
            not_before = t.as_utc(r[0])
            assert not_before is not None
            out.append((not_before, t.as_utc(r[1])))
        return out

    async def pending_of(self, ritual_id: int | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        rows = (await self.conn.execute(select(t.outbox.c.action, t.outbox.c.route).where(
            t.outbox.c.ritual_id == ritual_id, t.outbox.c.status == "pending"))).all()
        return [(dict(r[0]), dict(r[1])) for r in rows]

    async def pending_stats(self, network_id: int) -> tuple[int, datetime | None]:
        count, oldest = (await self.conn.execute(select(func.count(), func.min(t.outbox.c.created_at)).where(
            t.outbox.c.network_id == network_id, t.outbox.c.status == "pending"))).one()
        return int(count), t.as_utc(oldest)

    async def due_count(self, network_id: int, now: datetime) -> int:
        count = (await self.conn.execute(select(func.count()).select_from(t.outbox).where(
            t.outbox.c.network_id == network_id, t.outbox.c.status == "pending",
            t.outbox.c.not_before <= now))).scalar_one()
        return int(count)
