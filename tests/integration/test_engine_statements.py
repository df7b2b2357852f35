"""What an answer costs the store: the statements one reaction and a batch of them run (the
engine's per-event cost, issue 14), counted on the real store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from tests.harness import BASE_CONFIG, Harness

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
EXTRA = [f"m{i:02d}" for i in range(3, 20)]
CONFIG = BASE_CONFIG + "".join(f'\n[[members]]\nid = "{m}"\naccounts = ["console:{m}"]\n' for m in EXTRA)


@contextmanager
def statements(h: Harness) -> Iterator[list[str]]:
    """The SQL the store runs meanwhile, each statement's first word(s) and table."""
    assert h.store is not None
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    engine = h.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def _round(h: Harness) -> str:
    out = await h.say('alice: !reseau decision "Adopter la charte v2" jusqu\'à vendredi 18h')
    (proposal,) = [s for s in out if s.kind == "post" and s.choices]
    return proposal.message_id


async def test_an_answer_costs_a_few_statements_and_no_savepoint(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        mid = await _round(h)
        assert h.engine is not None
        await h.say(f"bob: +✅ {mid}")  # the round's ritual and refs are known to the process
        with statements(h) as one:
            assert await h.console.feed(f"chloe: +✅ {mid}") is True
        assert not [s for s in one if "SAVEPOINT" in s], one
        # A first answer supersedes nothing: the member's answers were just read.
        assert not [s for s in one if s.startswith("UPDATE answers")], one
        assert len(one) <= 9, one
        with statements(h) as again:
            await h.console.feed(f"chloe: +🙊 {mid}")  # a changed answer supersedes the first
        assert len([s for s in again if s.startswith("UPDATE answers")]) == 1, again
        # Many at once share a transaction: still no savepoint, a few statements each.
        await h.engine.start()
        try:
            with statements(h) as many:
                await asyncio.gather(*(h.console.feed(f"{m}: +✅ {mid}") for m in EXTRA))
        finally:
            await h.engine.stop()
        assert not [s for s in many if "SAVEPOINT" in s], many
        assert len(many) <= 2 * len(EXTRA), many
