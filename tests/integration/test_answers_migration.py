"""Migration 0008 on a store written by the release before answers were rows (SQLite and
PostgreSQL): every answer leaves the rituals' states for the answers table, and what follows —
a meeting's attendance, an election, an open decision closing — records exactly what that
release recorded (tests/data/answers_0007.json), while `decisions`, the digest and every post
say what today's code says on a month it wrote itself."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import create_engine_for
from bot.store import schema as t
from bot.store.migrate import upgrade
from tests.data.answers_month import CONFIG, SNAPSHOT, START, after_snapshot, before_snapshot
from tests.harness import Harness

FIXTURE = json.loads((Path(__file__).parents[1] / "data" / "answers_0007.json").read_text(encoding="utf-8"))


def _value(column: sa.Column[Any], value: Any) -> Any:
    """A value as SQLite gave it, for the column of the store it goes into."""
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.JSON) and isinstance(value, str):
        return json.loads(value)
    if isinstance(column.type, sa.Boolean):
        return bool(value)
    return value


async def _previous_release(engine: AsyncEngine) -> None:
    """The store as the release before left it: revision 0007 and its rows."""
    await upgrade(engine, "0007")
    async with engine.begin() as conn:
        meta = sa.MetaData()
        await conn.run_sync(meta.reflect)
        for table in meta.sorted_tables:
            rows = FIXTURE["tables"].get(table.name, [])
            if rows:
                await conn.execute(table.insert(), [{k: _value(table.c[k], v) for k, v in r.items()} for r in rows])
            if conn.dialect.name == "postgresql" and "id" in table.c and rows:
                await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                           f"(SELECT max(id) FROM {table.name}))"))


async def test_answers_leave_the_states_and_what_follows_is_what_the_release_did(store_url: str,
                                                                                tmp_path: Path) -> None:
    engine = create_engine_for(store_url)
    try:
        await _previous_release(engine)
        await upgrade(engine)
        async with engine.connect() as conn:
            answers = (await conn.execute(sa.select(t.answers))).all()
            states = {(r.kind, r.number): r.state for r in (await conn.execute(sa.select(t.rituals))).all()}
            keys = {r.id: r.key for r in (await conn.execute(sa.select(t.persons))).all()}
    finally:
        await engine.dispose()

    # Every answer the states held is a row, tied to its person; the states keep counts.
    current = Counter((a.topic, a.value) for a in answers if a.superseded_at is None and a.topic != "contribution")
    assert current == {
        # Decisions #1, #2 (its amended version), #3 (anonymous) and #4 (open): who answered what.
        ("consent", "consent"): 2 + 3 + 2 + 2, ("consent", "concern"): 1, ("consent", "stand_aside"): 1 + 1,
        ("consent", "objection"): 1 + 1,
        # The committee of 2 February, and the RSVPs to the one of 16 February.
        ("attendance", "came"): 3, ("attendance", "missed"): 1,
        ("rsvp", "yes"): 1, ("rsvp", "no"): 2, ("rsvp", "maybe"): 1,
        # The election: three nominations, a name awaiting its reason; the draw: who accepted.
        ("nomination", "nominated"): 3, ("pending", "pending"): 1, ("acceptance", "accepted"): 2,
    }
    assert sum(1 for a in answers if a.topic == "contribution") == 2
    by_person = {(a.topic, keys.get(a.person_id), a.value): a for a in answers if a.person_id is not None}
    assert by_person[("consent", "chloe", "objection")].reason == "pas assez de bénévoles"
    assert keys[by_person[("pending", "fanny", "pending")].subject_id] == "eloi"
    assert keys[by_person[("nomination", "eloi", "nominated")].subject_id] == "fanny"
    # The anonymous round's answers belong to no one.
    anonymous = [a for a in answers if a.person_id is None]
    assert sorted(a.value for a in anonymous) == ["consent", "consent", "objection"]
    for (kind, _), state in states.items():
        if kind in ("consent", "election"):
            assert not {"answers", "ballots", "nominations", "revealed", "changes", "pending"} & set(state)
        for occ in state.get("occurrences", []) if kind == "meeting" else []:
            assert "rsvp" not in occ and "came" not in occ and occ["n"] > 0
    assert states[("consent", 4)]["counts"] == {"consent": 2, "concern": 0, "objection": 1, "stand_aside": 1}
    assert states[("election", 1)]["nominators"] == 3

    # The bot goes on from the snapshot on today's code: the same answers, posts and records.
    (tmp_path / "transcript.jsonl").write_text(FIXTURE["transcript"], encoding="utf-8")
    async with Harness(CONFIG, store_url, SNAPSHOT, tmp_path) as h:
        outcome = await after_snapshot(h, FIXTURE["ids"])
    # Its records are the release's own, word for word but one figure: that release counted a
    # closed anonymous round's answers (renamed "#1", "#2"…) on top of its circle in the records
    # that followed its close; the round now keeps the figure of its close.
    records = copy.deepcopy(FIXTURE["after"]["records"])
    lapsed = [r["summary"] for r in records if r["summary"].get("outcome") == "lapsed"]
    assert [(s["number"], s["anonymous"], s["circle_size"]) for s in lapsed] == [(3, True, 6 + 3)]
    lapsed[0]["circle_size"] = 6
    # An election's record now also names the elected person by key (additively).
    for r in records:
        if r["kind"] == "election" and r["summary"].get("outcome") == "elected":
            r["summary"]["elected_key"] = "dina"
    assert outcome.records == records
    # What it says is what today's code says when it wrote the whole month itself (the words of
    # the catalogs changed since that release: the fixture's texts show them as they were).
    native = tmp_path / "native"
    native.mkdir()
    async with Harness(CONFIG, f"sqlite+aiosqlite:///{native / 'store.db'}", START, native) as h:
        ids = await before_snapshot(h)
        assert h.clock.now() == SNAPSHOT
        written = await after_snapshot(h, ids)
    assert outcome.records == written.records
    assert outcome.answers == written.answers
    assert outcome.posts == written.posts
