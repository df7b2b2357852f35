"""What an answer costs the store: the statements one reaction and a batch of them run (the
engine's per-event cost, issue 14), counted on the real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import pytest
from sqlalchemy import event
from sqlalchemy.util.concurrency import await_

from tests.harness import BASE_CONFIG, Harness

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
EXTRA = [f"m{i:02d}" for i in range(3, 20)]
CONFIG = BASE_CONFIG + "".join(f'\n[[members]]\nid = "{m}"\naccounts = ["console:{m}"]\n' for m in EXTRA)


@asynccontextmanager
async def statements(h: Harness) -> AsyncIterator[list[str]]:
    """The SQL the database runs meanwhile, each statement's first word(s) and table. On
    SQLite, as the database itself reports it (its trace callback on every connection opened
    meanwhile): the event's hot statements run below SQLAlchemy, whose events do not see them;
    on PostgreSQL every statement goes through SQLAlchemy."""
    assert h.store is not None
    seen: list[str] = []

    def note(statement: str) -> None:
        seen.append(" ".join(statement.split()[:3]))

    def note_sa(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        note(statement)

    def trace(dbapi_conn: Any, record: Any) -> None:
        raw = dbapi_conn._connection  # aiosqlite's: the sqlite3 connection lives in its thread
        await_(raw._execute(raw._conn.set_trace_callback, note))

    engine = h.store.engine
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        await h.store.reconnect()  # connections opened from now on, each traced from its opening
        event.listen(engine.sync_engine, "connect", trace)
    else:
        event.listen(engine.sync_engine, "before_cursor_execute", note_sa)
    try:
        yield seen
    finally:
        if sqlite:
            event.remove(engine.sync_engine, "connect", trace)
            await h.store.reconnect()
        else:
            event.remove(engine.sync_engine, "before_cursor_execute", note_sa)


async def _round(h: Harness) -> str:
    out = await h.say('alice: !reseau decision "Adopter la charte v2" jusqu\'à vendredi 18h')
    (proposal,) = [s for s in out if s.kind == "post" and s.choices]
    return proposal.message_id


async def test_an_answer_costs_a_few_statements_and_no_savepoint(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        mid = await _round(h)
        assert h.engine is not None
        await h.say(f"bob: +✅ {mid}")  # the round's ritual and refs are known to the process
        async with statements(h) as one:
            assert await h.console.feed(f"chloe: +✅ {mid}") is True
        assert not [s for s in one if "SAVEPOINT" in s], one
        # A first answer supersedes nothing: the member's answers were just read.
        assert not [s for s in one if s.startswith("UPDATE answers")], one
        assert len(one) <= 9, one
        async with statements(h) as again:
            await h.console.feed(f"chloe: +🙊 {mid}")  # a changed answer supersedes the first
        assert len([s for s in again if s.startswith("UPDATE answers")]) == 1, again
        # Many at once share a transaction: still no savepoint, a few statements each.
        await h.engine.start()
        try:
            async with statements(h) as many:
                await asyncio.gather(*(h.console.feed(f"{m}: +✅ {mid}") for m in EXTRA))
        finally:
            await h.engine.stop()
        assert not [s for s in many if "SAVEPOINT" in s], many
        # Per event: its claim, its member's answers read, its answer and its reaction written
        # (an executemany is one statement per row to the database); the rest is per
        # transaction (BEGIN, the directory's version, the round read and saved, COMMIT) and
        # the outbox sender's, whatever the number of events.
        per_event = ("INSERT INTO inbound_events", "SELECT answers.id, answers.network_id,", "INSERT INTO answers",
                     "INSERT INTO reactions")
        if store_url.startswith("sqlite"):
            for kind in per_event:
                assert many.count(kind) == len(EXTRA), (kind, many)
        else:  # through SQLAlchemy, an executemany is one statement
            assert sum(many.count(kind) for kind in per_event) <= 2 * len(EXTRA), many
        assert len([s for s in many if s not in per_event]) <= 16, many


async def test_an_answer_is_four_trips_to_sqlites_thread(sqlite_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """BEGIN; the directory's version with the claim; the round with the member's answers;
    the writes with COMMIT (each trip a thread wake-up and an event-loop turn, the largest part
    of a small statement's cost)."""
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        mid = await _round(h)
        await h.say(f"bob: +✅ {mid}")  # the round's ritual and refs are known to the process
        trips: list[str] = []
        original = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            trips.append(getattr(fn, "__name__", "?"))
            return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        assert await h.console.feed(f"chloe: +✅ {mid}") is True
        monkeypatch.undo()
        assert trips == ["_run", "_fetch", "_fetch", "_commit"], trips
