"""Mandates in SQL: added when an election, a draw or an animateur chooses someone; started
when a seat offered is accepted; ended (never deleted); moved to the survivor of a merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.kernel.mandates import Why
from bot.store import schema as t
from bot.store.mandate_rows import MandateNew, MandateRow

M = t.mandates


def _row(r: Any) -> MandateRow:
    return MandateRow(r.id, r.role, r.person_id, r.organisation, r.how, r.chosen_at, r.ends_at, r.status,
                      r.started_at, r.ritual_number, r.appointed_by, r.reserve_rank, r.replaces, r.ended_at,
                      r.ended_why)


class SqlMandates:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, network_id: int, m: MandateNew) -> int:
        res = await self.conn.execute(insert(M).values(
            network_id=network_id, role=m.role, person_id=m.person_id, organisation=m.organisation, how=m.how,
            ritual_number=m.ritual_number, appointed_by=m.appointed_by, chosen_at=m.chosen_at, status=m.status,
            started_at=m.started_at, ends_at=m.ends_at, reserve_rank=m.reserve_rank, replaces=m.replaces,
        ).returning(M.c.id))
        return int(res.scalar_one())

    async def of_network(self, network_id: int) -> list[MandateRow]:
        rows = (await self.conn.execute(select(M).where(M.c.network_id == network_id).order_by(M.c.id))).all()
        return [_row(r) for r in rows]

    async def start(self, mandate_id: int, at: datetime) -> None:
        await self.conn.execute(update(M).where(M.c.id == mandate_id).values(status="active", started_at=at))

    async def end(self, mandate_id: int, at: datetime, why: Why) -> None:
        await self.conn.execute(update(M).where(M.c.id == mandate_id, M.c.status != "ended").values(
            status="ended", ended_at=at, ended_why=why))

    async def merge(self, absorbed: int, into: int) -> None:
        await self.conn.execute(update(M).where(M.c.person_id == absorbed).values(person_id=into))
        await self.conn.execute(update(M).where(M.c.appointed_by == absorbed).values(appointed_by=into))
