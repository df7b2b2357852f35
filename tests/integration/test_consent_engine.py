"""Consent rounds through the real engine, store and console adapter, on a fake clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.kernel.model import InboundChoice
from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
FRIDAY_18H = datetime(2026, 11, 27, 18, 0, tzinfo=PARIS)

# Alice (animateur), Bob, Chloé and 27 more: 30 members in #general.
EXTRA = [f"m{i:02d}" for i in range(3, 30)]
CONFIG = BASE_CONFIG + "".join(
    f'\n[[members]]\nid = "{m}"\nname = "{m.upper()}"\naccounts = ["console:{m}"]\n' for m in EXTRA
)
EVERYONE = ["alice", "bob", "chloe", *EXTRA]


async def _decisions(h: Harness) -> list[dict[str, Any]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "decision")
                                   .order_by(t.log.c.id))).all()
    return [dict(r.summary) for r in rows]


async def _start_round(h: Harness) -> str:
    out = await h.say('alice: !reseau decision "Adopter la charte v2" jusqu\'à vendredi 18h')
    (proposal,) = [s for s in out if s.kind == "post" and s.choices]
    assert "Adopter la charte v2" in proposal.text and "vendredi 27 novembre 2026 à 18 h" in spaces(proposal.text)
    assert set(proposal.choices) == {"consent", "concern", "objection", "stand_aside"}
    return proposal.message_id


async def test_thirty_members_answering_concurrently_are_each_counted_once(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        assert len(h.members["general"]) == 30
        mid = await _start_round(h)
        # Everyone answers at once: buttons and reactions (with emoji variants) mixed.
        expected: dict[str, str] = {}
        lines: list[str] = []
        for i, name in enumerate(EVERYONE):
            if i % 3 == 0:
                lines.append(f"{name}: ?{mid} consent")
                expected[name] = "consent"
            elif i % 3 == 1:
                lines.append(f"{name}: +{'✅' if i % 2 else '✅️'} {mid}")
                expected[name] = "consent"
            else:
                lines.append(f"{name}: ?{mid} concern")
                expected[name] = "concern"
        # A platform retry: the same event delivered twice, concurrently with the rest.
        retry = InboundChoice(platform="console", event_id="retry-1", channel="general", sender="m29",
                              sender_name="m29", target=mid, choices=["stand_aside"])
        expected["m29"] = "stand_aside"
        assert h.engine is not None
        await h.engine.start()  # the group-commit writer: concurrent events share transactions
        try:
            results = await asyncio.gather(
                *(h.console.feed(line) for line in lines if not line.startswith("m29:")),
                h.engine.submit(retry), h.engine.submit(retry),
            )
        finally:
            await h.engine.stop()
        assert sorted(results) == [False] + [True] * 30, "every event committed, the retry once"
        await h.engine.drain_outbox()
        # Then a few change their minds, one withdraws a reaction, one objects with a reason.
        await h.say(f"bob: -✅ {mid}")
        del expected["bob"]
        await h.say(f"chloe: ?{mid} stand_aside")
        expected["chloe"] = "stand_aside"
        await h.say(f"m04: +🙊 {mid}")
        await h.say(f"m04: -✅ {mid}")  # the older reaction goes: the newer answer stands
        expected["m04"] = "stand_aside"
        out = await h.say(f"m05: ?{mid} objection")
        assert any(s.target == mid and "Pouvez-vous dire pourquoi" in s.text for s in out), "reason asked in thread"
        await h.say(f"m05: > {mid} le budget n'est pas chiffré")
        expected["m05"] = "objection"

        out = await h.advance_to(FRIDAY_18H + timedelta(minutes=1))
        (outcome,) = [s for s in out if s.kind == "post" and "Objections à intégrer" in s.text]
        assert "M05 : le budget n'est pas chiffré" in spaces(outcome.text)
        # The outcome is a reply in the proposal's thread; the proposal's post says it first.
        assert outcome.target == mid
        (closed,) = [s for s in out if s.kind == "edit" and s.target == mid and "Objections à intégrer" in s.text]
        assert closed.text.splitlines()[0].startswith("✋")
        (rec,) = await _decisions(h)
        assert rec["outcome"] == "objections" and rec["answered"] == len(expected) == 29
        assert rec["circle_size"] == 30
        counts = Counter(expected.values())
        assert rec["counts"] == {c: counts.get(c, 0) for c in ("consent", "concern", "objection", "stand_aside")}
        named = [n for names in rec["names"].values() for n in names]
        assert len(named) == len(set(named)) == 29, "each member once"
        assert rec["closed_at"] == FRIDAY_18H.isoformat()
        # Live counts were kept on the proposal by a few coalesced edits, not one per answer.
        edits = [s for s in h.sent if s.kind == "edit" and s.target == mid]
        assert 1 <= len(edits) < 10


async def test_a_deadline_passed_while_the_bot_was_down_closes_on_restart(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        mid = await _start_round(h)
        await h.say(f"bob: ?{mid} consent")
        await h.say(f"chloe: +⚠️ {mid}")
        await h.advance(timedelta(days=2))
        # Down from Wednesday to Saturday: the reminders and the deadline pass meanwhile.
        before = len(h.sent)
        await h.restart(downtime=timedelta(days=3))
        await h.engine.drain_outbox()  # type: ignore[union-attr]
        after = h.sent[before:]
        assert not [s for s in after if "attend votre réponse" in s.text], "no stale reminders"
        (outcome,) = [s for s in after if s.kind == "post" and "Adoptée" in s.text]
        assert outcome.target == mid, "in the proposal's thread"
        assert "J'étais indisponible à l'échéance" in outcome.text
        (rec,) = await _decisions(h)
        assert rec["outcome"] == "adopted" and rec["names"]["consent"] == ["Bob"]
        assert rec["names"]["concern"] == ["Chloé"] and rec["closed_at"] == FRIDAY_18H.isoformat()
        assert rec["closed_late_by_seconds"] > 0
        # The round is finished: later answers reach nothing.
        await h.say(f"m03: ?{mid} objection")
        assert len(await _decisions(h)) == 1


async def test_decisions_query_and_english_members(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        mid = await _start_round(h)
        await h.say(f"bob: ?{mid} consent")
        await h.advance_to(FRIDAY_18H + timedelta(minutes=1))
        out = await h.say("chloe: !reseau decisions")
        (note,) = out
        assert note.kind == "note" and note.recipient == "chloe"
        assert "« Adopter la charte v2 » (v1) — adoptée" in spaces(note.text)
        out = await h.say("chloe: !reseau decisions #1")
        assert "Consentement : Bob" in spaces(out[0].text)
        out = await h.say('alice: !reseau decision "Trop tard" jusqu\'à hier')
        assert out[0].kind == "note" and "déjà passée" in out[0].text


async def test_a_nomination_without_a_command_goes_to_the_one_open_election(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        assert await h.say("[dm] bob: chloe parce qu'elle connaît le comité") == [], "no election: answers nothing"
        await h.say('alice: !reseau election "trésorier"')
        await h.say('alice: !reseau election "secrétaire"')
        assert await h.say("[dm] bob: chloe parce qu'elle connaît le comité") == [], "two open: never a guess"


async def test_an_election_through_the_engine(store_url: str, tmp_path: Path) -> None:
    config = CONFIG.replace("[roles]", '[defaults.election]\nchange = "1j"\n\n[roles]')
    async with Harness(config, store_url, MONDAY, tmp_path) as h:
        out = await h.say('alice: !reseau election "délégué au comité régional" jusqu\'à mercredi 18h')
        # The call post carries the invitation: nobody is written to (issue 15).
        assert [s.kind for s in out] == ["post"] and "@Amina parce qu" in out[0].text
        # Written to the bot privately, without a command: the one open election takes it.
        out = await h.say("[dm] bob: chloe parce qu'elle connaît le comité")
        assert "vous proposez Chloé" in out[0].text and "en me répondant ici" in out[0].text
        await h.say("[dm] chloe: !reseau election nommer bob car il est disponible")
        await h.say("[dm] m03: !reseau election nommer chloe")
        await h.say("[dm] m03: elle a du temps")  # the reason asked for, answered in private
        out = await h.advance_to(datetime(2026, 11, 25, 18, 1, tzinfo=PARIS))
        (reveal,) = [s for s in out if s.kind == "post"]
        assert "Chloé (2)" in reveal.text and "Bob : « elle connaît le comité »" in spaces(reveal.text)
        # The change round: nobody is written to; Chloé answers the acknowledgement of her
        # nomination, which told her of it.
        assert not [s for s in out if s.kind == "dm"]
        await h.say("[dm] chloe: m04 parce qu'il a plus de temps")
        out = await h.advance(timedelta(days=1))
        assert any("Chloé : Bob → M04" in spaces(s.text) for s in out)
        out = await h.say("alice: !reseau election proposer chloe")
        (proposal,) = [s for s in out if s.kind == "post" and s.choices]
        for name in EVERYONE[:20]:
            await h.say(f"{name}: ?{proposal.message_id} consent")
        out = await h.say("alice: !reseau decisions")
        assert "Élection #1 « délégué au comité régional » — consentement sur Chloé" in spaces(out[0].text)
        out = await h.advance(timedelta(days=3))
        assert any("Chloé est élu·e délégué au comité régional" in s.text for s in out)
        assert h.store is not None
        async with h.store.read() as conn:
            kinds = [r.kind for r in (await conn.execute(select(t.log.c.kind).order_by(t.log.c.id))).all()]
        assert kinds == ["decision", "election"]
        out = await h.say("bob: !reseau decisions")
        assert "Élection #1 « Chloé — délégué au comité régional » — adoptée" in spaces(out[0].text)
