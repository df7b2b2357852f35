"""One bad event never fails the others of its batch: savepoints, dead letters, refusals."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.kernel.model import InboundCommand, InboundEvent, InboundReaction
from bot.store import schema as t
from tests.fixtures.poison_kind import POISON, registry_with_poison
from tests.harness import BASE_CONFIG, Harness

ROOT = Path(__file__).resolve().parents[2]
PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)


def cmd(event_id: str, sender: str, text: str) -> InboundCommand:
    return InboundCommand(platform="console", event_id=event_id, channel="general", sender=sender,
                          sender_name=sender, text=text)


async def count(h: Harness, table: t.Table) -> int:  # type: ignore[name-defined]
    assert h.store is not None
    async with h.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def dead_letters(h: Harness) -> list[tuple[str, str, str]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.dead_letters.c.event_id, t.dead_letters.c.sender,
                                          t.dead_letters.c.error).order_by(t.dead_letters.c.id))).all()
    return [(r[0], r[1], r[2]) for r in rows]


async def commit_together(h: Harness, events: list[InboundEvent]) -> list[bool]:
    """Hand every event to the engine's writer while it is busy with a commit: they queue
    behind it and go together, in one group commit (a lone event on an idle engine is
    committed by its submitter, alone)."""
    assert h.engine is not None
    await h.engine.start()
    try:
        batches = h.engine.stats["batches"]
        async with h.engine._write_lock:  # the commit in flight
            pending = [asyncio.create_task(h.engine.submit(e)) for e in events]
            await asyncio.sleep(0)
        results = await asyncio.gather(*pending)
        assert h.engine.stats["batches"] == batches + 1, "the events were not committed together"
        await h.engine.drain_outbox()
    finally:
        await h.engine.stop()
    return list(results)


async def test_poison_in_a_batch_fails_alone(store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, START, tmp_path, kinds=registry_with_poison()) as h:
        events: list[InboundEvent] = [
            cmd("e1", "alice", "boum premier"),
            cmd("e2", "bob", f"boum {POISON}"),
            cmd("e3", "chloe", "aide"),
            cmd("e4", "bob", f"boum {POISON}"),
            cmd("e5", "alice", "boum second"),
            InboundReaction(platform="console", event_id="e6", channel="general", sender="chloe",
                            target="nowhere", key="✅", reaction_id="r6"),
            cmd("e7", "chloe", "boum scenario-poison"),
        ]
        results = await commit_together(h, events)
        assert results == [True] * len(events), "every event is acknowledged, the poison ones too"
        letters = await dead_letters(h)
        assert [(e, s) for e, s, _ in letters] == [("e2", "bob"), ("e4", "bob"), ("e7", "chloe")]
        assert all("ValueError" in err for _, _, err in letters)
        # Valid events committed exactly once, numbers given only to rituals that started.
        assert h.store is not None
        async with h.store.read() as conn:
            numbers = sorted(r[0] for r in (await conn.execute(
                select(t.rituals.c.number).where(t.rituals.c.kind == "boum"))).all())
        assert numbers == [1, 2]
        assert await count(h, t.inbound_events) == len(events)
        to = {s.recipient or s.where: s for s in h.sent}
        assert any("Commandes" in s.text or "commandes" in s.text for s in h.sent if s.recipient == "chloe")
        sorry = [s for s in h.sent if s.recipient == "bob"]
        assert len(sorry) == 2 and all("l'équipe d'animation est prévenue" in s.text for s in sorry), to
        # A replay of the poison (Matrix resending its sync) is a duplicate, not a second letter.
        assert h.engine is not None
        assert await h.engine.submit(cmd("e2", "bob", f"boum {POISON}")) is False
        assert len(await dead_letters(h)) == 3
        assert h.engine.stats["dead_letters"] == 3


async def test_refused_launch_uses_no_number(store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, START, tmp_path) as h:
        refused = await h.say("alice: !reseau decision « Test » jusqu'à la saint-glinglin")
        assert len(refused) == 1 and refused[0].recipient == "alice", [s.text for s in refused]
        await h.say("alice: !reseau decision « Vraie proposition » vendredi 18h")
        assert h.store is not None
        async with h.store.read() as conn:
            rows = (await conn.execute(select(t.rituals.c.number, t.rituals.c.status).where(
                t.rituals.c.kind == "consent"))).all()
        assert [(r[0], r[1]) for r in rows] == [(1, "open")]
        assert not await dead_letters(h)


async def test_a_failing_timer_does_not_stop_the_others(store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, START, tmp_path, kinds=registry_with_poison()) as h:
        await h.say("alice: !reseau boum tic-poison")
        await h.say("alice: !reseau boum calme")
        before = len(h.sent)
        await h.advance(timedelta(hours=2))
        fired = h.sent[before:]
        assert len(fired) == 1 and fired[0].where.lstrip("#") == "general"
        letters = await dead_letters(h)
        assert len(letters) == 1 and "RuntimeError" in letters[0][2]
        assert letters[0][0].startswith("1:tic:")
        assert await count(h, t.timers) == 0


async def test_answer_elsewhere_does_not_add_a_channel(store_url: str, tmp_path: Path) -> None:
    config = BASE_CONFIG + """
[[channels]]
id = "comite"
platform = "console"
room = "comite"
name = "Comité"

[[rituals]]
id = "hebdo"
kind = "digest"
channels = ["general"]
when_empty = "say"
"""
    async with Harness(config, store_url, START, tmp_path) as h:
        await h.say("[comite] alice: !reseau resume")
        assert h.store is not None
        async with h.store.read() as conn:
            channels = (await conn.execute(select(t.rituals.c.channels).where(
                t.rituals.c.kind == "digest"))).scalar_one()
        assert channels == ["general"]
        await h.restart()
        before = len(h.sent)
        await h.advance(timedelta(days=8))
        weekly = [s for s in h.sent[before:] if s.kind == "post"]
        assert weekly and {s.where.lstrip("#") for s in weekly} == {"general"}, [(s.where, s.text[:40]) for s in weekly]


DIGEST = BASE_CONFIG + """
[[rituals]]
id = "hebdo"
kind = "digest"
channels = ["general"]
"""


async def test_digest_at_a_deadline_lists_the_outcome_not_the_round(store_url: str, tmp_path: Path) -> None:
    # The weekly digest (Fridays 16:00) and the round's deadline fall at the same instant.
    async with Harness(DIGEST, store_url, START, tmp_path) as h:
        await h.say("alice: !reseau decision « Budget » vendredi 16h")
        await h.say("bob: +✅ m1")
        out = await h.advance(timedelta(days=5))
        (digest,) = [s for s in out if "Résumé de la semaine" in s.text]
        assert "Budget" in digest.text and "En cours" not in digest.text, digest.text


async def test_an_edit_that_changes_nothing_is_not_sent(store_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, store_url, START, tmp_path, kinds=registry_with_poison()) as h:
        await h.say("alice: !reseau boum echo")
        await h.advance(timedelta(hours=2))
        edits = [s for s in h.sent if s.kind == "edit"]
        assert len(edits) == 1 and "aide" in edits[0].text, [e.text for e in edits]


async def test_no_edit_repeats_what_the_message_already_says(store_url: str, tmp_path: Path) -> None:
    async with Harness(DIGEST, store_url, START, tmp_path) as h:
        await h.say("alice: !reseau decision « Budget » vendredi 18h")
        await h.say("bob: +✅ m1")
        await h.say("chloe: +⚠️ m1")
        await h.say("chloe: -⚠️ m1")
        await h.say("chloe: +⚠️ m1")
        await h.advance(timedelta(days=7))
        last: dict[str, str] = {}
        for s in h.sent:
            if s.kind == "post":
                last[s.message_id] = s.text
            elif s.kind == "edit" and s.target is not None:
                assert last.get(s.target) != s.text, f"an edit of {s.target} changes nothing: {s.text!r}"
                last[s.target] = s.text
        assert any(s.kind == "edit" for s in h.sent)


async def test_dead_letters_are_counted_and_listed(sqlite_url: str, tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from bot.web.ops import OpsServer
    from tests.integration.test_ops import get

    store = tmp_path / "maillage.db"
    config = BASE_CONFIG.replace('[network]', f'[store]\nurl = "sqlite+aiosqlite:///{store}"\n\n[network]')
    async with Harness(config, sqlite_url, START, tmp_path,
                       kinds=registry_with_poison()) as h:
        await h.say(f"bob: !reseau boum {POISON}")
        assert h.engine is not None
        async with OpsServer([h.engine], host="127.0.0.1", port=0) as ops:
            status, _, body = await get(ops, "/metrics")
        assert status == 200
        samples = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
        assert samples["maillage_dead_letters"] == 1
    (tmp_path / "c.toml").write_text(config, "utf-8")
    res = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "db", "dead-letters", "-c", str(tmp_path / "c.toml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    out, err = await res.communicate()
    assert res.returncode == 0, err.decode()
    text = out.decode()
    assert "mis de côté" in text and "ValueError" in text and "bob" in text, text
