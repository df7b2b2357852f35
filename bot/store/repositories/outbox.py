"""The outbox: actions decided in a transaction, claimed and performed after it, recorded once sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.repositories import hot
from bot.store.rows import OutboxNew, OutboxRow, SentRecord


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r.id, r.ritual_id, r.idem_key, r.platform, r.action, r.route, r.attempts, r.created_at)


def _add(dialect: str) -> Any:
    return insert(t.outbox)


def _claim(held_back: bool) -> hot.Build:
    def build(dialect: str) -> Any:
        o = t.outbox
        ready = (select(o.c.id).where(
            o.c.network_id == bindparam("nid"), o.c.status == "pending", o.c.not_before <= bindparam("now"),
            (o.c.claimed_until.is_(None)) | (o.c.claimed_until < bindparam("now")))
            .order_by(o.c.id).limit(bindparam("lim")))
        if held_back:
            ready = ready.where(o.c.platform.not_in(bindparam("held", expanding=True)))
        if dialect == "postgresql":
            ready = ready.with_for_update(skip_locked=True)
        return (update(o).where(o.c.id.in_(ready.scalar_subquery()))
                .values(claimed_by=bindparam("holder"), claimed_until=bindparam("until")).returning(*o.c))
    return build


_CLAIM = {False: _claim(False), True: _claim(True)}


def _sent(dialect: str) -> Any:
    return update(t.outbox).where(t.outbox.c.id == bindparam("b_id")).values(
        status="sent", sent_at=bindparam("b_sent_at"), attempts=bindparam("b_attempts"), error=None)


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
        # One statement: the entries ready, in order, claimed and returned (on PostgreSQL those
        # another process is claiming are skipped, not waited for).
        params: dict[str, Any] = {"nid": network_id, "now": now, "lim": limit, "holder": holder, "until": until}
        if held_back:
            params["held"] = list(held_back)
        name = "outbox_claim_held" if held_back else "outbox_claim"
        rows = await hot.fetch(self.conn, name, _CLAIM[bool(held_back)], [params])
        return sorted((_row(r) for r in rows), key=lambda r: r.id)

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
        await hot.write(self.conn, "outbox_sent", _sent,
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
