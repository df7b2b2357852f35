"""What the demo asks the store while it waits for the bot: which events are recorded, how many messages are due; the same answers from SQL and from memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.memory import MemoryStore
from bot.store.ports import StorePort
from bot.store.rows import OutboxNew, SentRecord

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sql", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorePort]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    try:
        yield sql
    finally:
        await sql.close()


def _entry(key: str, at: datetime) -> OutboxNew:
    return OutboxNew(ritual_id=None, idem_key=key, platform="matrix", action={"type": "post"},
                     route={"channel": "general"}, created_at=at)


async def test_seen_names_only_the_recorded_events_of_that_platform(store: StorePort) -> None:
    async with store.unit() as unit:
        await unit.inbound.claim([("matrix", "$a"), ("matrix", "$b"), ("slack", "$c")], NOW)
    async with store.reading() as view:
        assert await view.inbound.seen("matrix", ["$a", "$c", "$z"]) == {"$a"}
        assert await view.inbound.seen("slack", ["$a", "$c"]) == {"$c"}
        assert await view.inbound.seen("matrix", []) == set()


async def test_due_count_counts_pending_entries_of_the_network_due_by_now(store: StorePort) -> None:
    async with store.unit() as unit:
        ours = await unit.networks.ensure("ours", NOW)
        theirs = await unit.networks.ensure("theirs", NOW)
        await unit.outbox.add(ours, [_entry("due", NOW - timedelta(minutes=1)), _entry("now", NOW),
                                     _entry("later", NOW + timedelta(minutes=1)),
                                     _entry("sent", NOW - timedelta(minutes=2))])
        await unit.outbox.add(theirs, [_entry("other", NOW - timedelta(minutes=1))])
        claimed = await unit.outbox.claim(ours, NOW, [], "me", NOW + timedelta(minutes=5), 10)
        sent = next(r for r in claimed if r.idem_key == "sent")
        await unit.outbox.sent([SentRecord(outbox_id=sent.id, attempts=1, sent_at=NOW)])
    async with store.reading() as view:
        # Claimed but not yet sent still counts: the demo waits until it is delivered.
        assert await view.outbox.due_count(ours, NOW) == 2
        assert await view.outbox.due_count(ours, NOW + timedelta(minutes=1)) == 3
        assert await view.outbox.due_count(theirs, NOW) == 1
