"""Migration 0007 on a store whose log was written before the register existed (SQLite and
PostgreSQL): the backfill projects every record as the engine does, and `decisions` answers
exactly what it answered from the log."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from adapters.console import Sent
from bot.store import create_engine_for
from bot.store import schema as t
from bot.store.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.harness import BASE_CONFIG, Harness

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)

# What `decisions` answered when it read the log (captured on the release before the register).
BEFORE = {
    "bob: !reseau decisions": (
        "Décisions récentes\n"
        "• #2 « Budget 2027, chiffré » (v2) — adoptée, jeu. 26 nov. à 18:00\n"
        "• #1 « Adopter la charte v2 » (v1) — adoptée, mer. 25 nov. à 18:00\n"
        "• #3 « Changer de nom » (v1) — adoptée, mar. 24 nov. à 17:00\n"
        "Le détail d'une décision : decisions #N."),
    "bob: !reseau decisions #1": (
        "Décision #1 « Adopter la charte v2 » — adoptée (proposée par Alice)\n"
        "✅ 1 · ⚠️ 1 · ✋ 0 · 🙊 0 — 2 réponses sur 3\n"
        "Consentement : Bob\n"
        "Avec réserve : Chloé"),
    "bob: !reseau decisions #2": (
        "Décision #2 « Budget 2027, chiffré » — adoptée (proposée par Alice)\n"
        "✅ 2 · ⚠️ 0 · ✋ 0 · 🙊 0 — 2 réponses sur 3\n"
        "Consentement : Bob, Chloé\n"
        "Versions :\n"
        "• v1 « Budget 2027 » — objections à intégrer, mar. 24 nov. à 18:00\n"
        "• v2 « Budget 2027, chiffré » — adoptée, jeu. 26 nov. à 18:00"),
    "bob: !reseau decisions #3": (
        "Décision #3 « Changer de nom » — adoptée (proposée par Alice)\n"
        "✅ 1 · ⚠️ 0 · ✋ 0 · 🙊 1 — 2 réponses sur 3\n"
        "Tour anonyme : seuls les totaux sont publiés."),
    "bob: !reseau decisions 2": (
        "Décisions récentes\n"
        "• #2 « Budget 2027, chiffré » (v2) — adoptée, jeu. 26 nov. à 18:00\n"
        "• #1 « Adopter la charte v2 » (v1) — adoptée, mer. 25 nov. à 18:00\n"
        "Le détail d'une décision : decisions #N."),
}


def _proposal(out: list[Sent]) -> str:
    (p,) = [s for s in out if s.kind == "post" and s.choices]
    return p.message_id


async def _three_decisions(h: Harness) -> None:
    """An adopted decision with a réserve, one amended after an objection, an anonymous one."""
    m1 = _proposal(await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à mercredi 18h"))
    await h.say(f"bob: ?{m1} consent")
    await h.say(f"chloe: ?{m1} concern")
    m2 = _proposal(await h.say("alice: !reseau decision « Budget 2027 » jusqu'à mardi 18h"))
    await h.say(f"bob: ?{m2} objection")
    await h.say(f"bob: > {m2} le budget n'est pas chiffré")
    await h.say(f"chloe: ?{m2} consent")
    m3 = _proposal(await h.say("alice: !reseau decision « Changer de nom » jusqu'à mardi 17h anonyme"))
    await h.say(f"bob: ?{m3} consent")
    await h.say(f"chloe: ?{m3} stand_aside")
    await h.advance(timedelta(days=1, hours=9))
    v2 = _proposal(await h.say("alice: !reseau amender « Budget 2027, chiffré » jusqu'à jeudi 18h"))
    await h.say(f"bob: ?{v2} consent")
    await h.say(f"chloe: ?{v2} consent")
    await h.advance(timedelta(days=4))


def _plain(text: str) -> str:
    """The words, whatever the typography of the day: no-break spaces as spaces, times of day
    as "18:00" ("18 h", "18 h 30" read back)."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\b(\d{1,2}) h(?: (\d{2}))?\b", lambda m: f"{m[1]}:{m[2] or '00'}", text)


async def _answers(h: Harness) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in BEFORE:
        (note,) = await h.say(line)
        out[line] = _plain(note.text)
    return out


async def _register(url: str) -> list[Any]:
    """The register's rows, without their ids (the backfill numbers its own)."""
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            entries = (await conn.execute(sa.select(t.register_entries).order_by(
                t.register_entries.c.ritual_kind, t.register_entries.c.ritual_number))).all()
            by_id = {r.id: r.number for r in entries}
            versions = (await conn.execute(sa.select(t.register_versions))).all()
            answers = (await conn.execute(sa.select(t.register_answers))).all()
    finally:
        await engine.dispose()
    return [
        [tuple(r)[1:] for r in entries],
        sorted((by_id[r.entry_id], *tuple(r)[1:]) for r in versions),
        sorted((by_id[r.entry_id], *tuple(r)[2:]) for r in answers),
    ]


async def _back_to_0006(url: str) -> None:
    """The store as the release before the register left it: the same log, no register."""
    engine = create_engine_for(url)

    def down(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")

    try:
        async with engine.begin() as conn:
            await conn.run_sync(down)
        assert await current_revision(engine) == "0006"
    finally:
        await engine.dispose()


async def test_the_backfill_gives_the_register_the_engine_wrote_and_the_same_decisions(
        store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, MONDAY, tmp_path) as h:
        await _three_decisions(h)
        assert await _answers(h) == BEFORE
    live = await _register(store_url)
    assert len(live[0]) == 3 and len(live[1]) == 4 and len(live[2]) == 6
    await _back_to_0006(store_url)
    engine = create_engine_for(store_url)
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), t.metadata))
        assert diffs == []
    finally:
        await engine.dispose()
    assert await _register(store_url) == live
    async with Harness(BASE_CONFIG, store_url, MONDAY + timedelta(days=6), tmp_path) as h:
        assert await _answers(h) == BEFORE


async def test_decisions_reaches_past_the_logs_window(sqlite_url: str, tmp_path: Path) -> None:
    """`decisions` reads the register, not the last 90 days of the log."""
    async with Harness(BASE_CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        m1 = _proposal(await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à mercredi 18h"))
        await h.say(f"bob: ?{m1} consent")
        await h.advance(timedelta(days=200))
        (listing,) = await h.say("chloe: !reseau decisions")
        assert "« Adopter la charte v2 » (v1) — adoptée" in _plain(listing.text)
        (detail,) = await h.say("chloe: !reseau decisions #1")
        assert "Consentement : Bob" in _plain(detail.text)
