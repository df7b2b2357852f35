"""Answers through the real engine and store (SQLite and PostgreSQL): events arriving together
share a transaction and write their answers together, in order — a member who changes their
mind twice in one batch keeps one current answer and its history — and the closing record
counts what the rows say."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.kernel.model import InboundReaction
from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)


def _reaction(n: int, who: str, target: str, key: str) -> InboundReaction:
    return InboundReaction(platform="console", event_id=f"batch-{n}", channel="general", sender=who,
                           target=target, key=key, reaction_id=f"r-{n}")


async def test_answers_arriving_together_are_written_together_in_order(store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, MONDAY, tmp_path) as h:
        assert h.engine is not None and h.store is not None
        out = await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à vendredi 18h")
        (proposal,) = [s.message_id for s in out if s.kind == "post" and s.choices]
        await h.engine.start()  # the writer: events that arrive together share a transaction
        try:
            batches = h.engine.stats["batches"]
            events = [_reaction(1, "bob", proposal, "✋"), _reaction(2, "chloe", proposal, "✅"),
                      _reaction(3, "bob", proposal, "⚠️"), _reaction(4, "bob", proposal, "✅")]
            assert await asyncio.gather(*(h.engine.submit(e) for e in events)) == [True] * 4
            assert h.engine.stats["batches"] - batches < len(events), "at least two shared a transaction"
        finally:
            await h.engine.stop()
        async with h.store.read() as conn:
            keys = {r.id: r.key for r in (await conn.execute(sa.select(t.persons))).all()}
            rows = (await conn.execute(sa.select(t.answers).order_by(t.answers.c.id))).all()
        assert [(keys[r.person_id], r.value, r.superseded_at is None) for r in rows] == [
            ("bob", "objection", False), ("chloe", "consent", True), ("bob", "concern", False),
            ("bob", "consent", True)]
        assert [r.superseded_at for r in rows if keys[r.person_id] == "bob"][:2] == [rows[2].at, rows[3].at]
        await h.advance(timedelta(days=5))
        async with h.store.read() as conn:
            (summary,) = (await conn.execute(sa.select(t.log.c.summary).where(t.log.c.kind == "decision"))).scalars()
        assert summary["counts"] == {"consent": 2, "concern": 0, "objection": 0, "stand_aside": 0}
        assert summary["names"]["consent"] == ["Bob", "Chloé"]
