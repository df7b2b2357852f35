"""The network's log, its dead letters, and the engine's small durable settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.repositories.sql import insert
from bot.store.rows import DeadLetterNew, LogRow


class SqlJournal:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(self, network_id: int, ritual_id: int | None, ritual_kind: str, ritual_number: int,
                     at: datetime, kind: str, summary: Mapping[str, Any]) -> None:
        await self.conn.execute(t.log.insert().values(
            network_id=network_id, ritual_id=ritual_id, ritual_kind=ritual_kind, ritual_number=ritual_number,
            at=at, kind=kind, summary=dict(summary)))

    async def since(self, network_id: int, at: datetime) -> list[LogRow]:
        rows = (await self.conn.execute(select(t.log).where(t.log.c.network_id == network_id, t.log.c.at >= at)
                                        .order_by(t.log.c.id))).all()
        return [LogRow(r.at, r.kind, r.ritual_kind, r.ritual_number, r.summary) for r in rows]

    async def count(self, network_id: int) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(t.log).where(
            t.log.c.network_id == network_id))).scalar_one())

    async def dead_letter(self, network_id: int, letter: DeadLetterNew) -> bool:
        res = await self.conn.execute(insert(self.conn, t.dead_letters).values(
            network_id=network_id, platform=letter.platform, event_id=letter.event_id[:255], kind=letter.kind[:20],
            sender=(letter.sender or "")[:255] or None, channel=(letter.channel or "")[:255] or None,
            error=letter.error[:2000], detail=letter.detail, event=dict(letter.event), at=letter.at,
        ).on_conflict_do_nothing())
        return bool(res.rowcount)

    async def dead_letter_count(self, network_id: int) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(t.dead_letters).where(
            t.dead_letters.c.network_id == network_id))).scalar_one())


class SqlSettings:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, namespace: str, key: str) -> Any | None:
        r = (await self.conn.execute(select(t.kv.c.value).where(t.kv.c.namespace == namespace,
                                                                t.kv.c.key == key))).first()
        return None if r is None else r[0]

    async def put(self, namespace: str, key: str, value: Any, now: datetime) -> None:
        res = await self.conn.execute(update(t.kv).where(t.kv.c.namespace == namespace, t.kv.c.key == key)
                                      .values(value=value, updated_at=now))
        if not res.rowcount:
            await self.conn.execute(t.kv.insert().values(namespace=namespace, key=key, value=value, updated_at=now))
