"""Two accounts of one person, on Slack and on Matrix, merged by an animateur: one person everywhere, one vote per person in a consent round (through the real engine and store, SQLite and PostgreSQL)."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.console import ConsoleAdapter, Sent
from bot.config import PlatformConfig, validate
from bot.engine import Engine
from bot.kernel.clock import FakeClock
from bot.kernel.model import InboundEvent
from bot.store import Store, open_store
from bot.store import schema as t
from scenarios import registry
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
FRIDAY_18H = datetime(2026, 11, 27, 18, 0, tzinfo=PARIS)
CONFIG = """
[network]
name = "Réseau à deux plateformes"

[[channels]]
id = "general"
platform = "slack"
room = "CGENERAL"

[[channels]]
id = "salon"
platform = "matrix"
room = "!salon:example.org"

[[members]]
id = "alice"
name = "Alice"
accounts = ["slack:UALICE"]

[[members]]
id = "bruno"
name = "Bruno"
accounts = ["slack:UBRUNO"]
territoire = "Sud"

[[members]]
id = "chloe"
name = "Chloé"
accounts = ["matrix:@chloe:example.org"]

[roles]
animateurs = ["alice"]
"""


class PlatformConsole(ConsoleAdapter):
    """The console standing for another platform: its events and accounts are that platform's."""

    def __init__(self, platform: str, room: str, members: list[str], write: list[str]) -> None:
        super().__init__([room], {room: members}, write=write.append)
        self.platform = platform  # type: ignore[misc]

    def parse(self, line: str) -> InboundEvent:
        return super().parse(line).model_copy(update={"platform": self.platform})


class Network:
    def __init__(self, engine: Engine, slack: PlatformConsole, matrix: PlatformConsole, store: Store,
                 clock: FakeClock) -> None:
        self.engine, self.slack, self.matrix, self.store, self.clock = engine, slack, matrix, store, clock

    async def say(self, adapter: PlatformConsole, line: str) -> list[Sent]:
        self.clock.advance(timedelta(minutes=1))
        before = len(adapter.sent)
        await adapter.feed(line)
        await self.engine.drain_outbox()
        return adapter.sent[before:]

    async def decisions(self) -> list[dict[str, Any]]:
        async with self.store.read() as conn:
            rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "decision")
                                       .order_by(t.log.c.id))).all()
        return [dict(r.summary) for r in rows]


@asynccontextmanager
async def network(store_url: str, tmp: Path) -> AsyncIterator[Network]:
    platforms = (PlatformConfig("slack"), PlatformConfig("matrix"))
    config = validate(tomllib.loads(CONFIG), registry(), tmp / "c.toml", platforms)
    lines: list[str] = []
    slack = PlatformConsole("slack", "CGENERAL", ["UALICE", "UBRUNO"], lines)
    # Bruno is also on Matrix, under an account the config does not know.
    matrix = PlatformConsole("matrix", "!salon:example.org", ["@chloe:example.org", "@bruno:example.org"], lines)
    store = await open_store(store_url)
    clock = FakeClock(MONDAY)
    engine = Engine(store, registry(), config, clock, {"slack": slack, "matrix": matrix})
    try:
        await engine.boot()
        await slack.start(engine.submit)
        await matrix.start(engine.submit)
        await engine.seed_members()
        await engine.drain_outbox()
        yield Network(engine, slack, matrix, store, clock)
    finally:
        await store.close()


async def _round(net: Network) -> tuple[str, str]:
    """A round posted in both channels; the proposal's message id on Slack and on Matrix."""
    out = await net.say(net.slack, 'UALICE: !reseau decision "Budget 2027" jusqu\'à vendredi 18h salons=general,salon')
    (on_slack,) = [s for s in out if s.kind == "post" and s.choices]
    (on_matrix,) = [s for s in net.matrix.sent if s.kind == "post" and s.choices]
    return on_slack.message_id, on_matrix.message_id


async def test_merged_before_the_vote_one_person_answers_from_either_platform(store_url: str, tmp_path: Path) -> None:
    async with network(store_url, tmp_path) as net:
        slack_id, matrix_id = await _round(net)
        out = await net.say(net.slack, "UALICE: !reseau membre fusionner bruno @bruno:example.org")
        (note,) = [s for s in out if s.recipient == "UALICE"]
        assert note.text == ("C'est fait\u00a0: @bruno:example.org et Bruno ne font plus qu'une personne, "
                             "Bruno. Ses comptes\u00a0: slack:UBRUNO, matrix:@bruno:example.org.")
        await net.say(net.slack, f"UBRUNO: ?{slack_id} consent")
        await net.say(net.matrix, f"@bruno:example.org: +✋ {matrix_id}")  # changes his mind on Matrix
        await net.say(net.matrix, f"@chloe:example.org: +✅ {matrix_id}")
        # Bruno is himself on Matrix too: his profile, not a stranger's.
        out = await net.say(net.matrix, "@bruno:example.org: !reseau profil")
        (profile,) = [s for s in out if s.recipient == "@bruno:example.org"]
        assert "Nom : Bruno" in spaces(profile.text) and "territoire = Sud" in profile.text
        net.clock.set(FRIDAY_18H + timedelta(minutes=1))
        await net.engine.run_due()
        (record,) = await net.decisions()
        assert record["circle_size"] == 3, "Alice, Bruno (two accounts, one person) and Chloé"
        assert record["answered"] == 2
        assert record["counts"] == {"consent": 1, "concern": 0, "objection": 1, "stand_aside": 0}
        assert record["names"]["objection"] == ["Bruno"]


async def test_merged_after_both_accounts_answered_the_surviving_answer_counts_once(store_url: str,
                                                                                   tmp_path: Path) -> None:
    async with network(store_url, tmp_path) as net:
        slack_id, matrix_id = await _round(net)
        await net.say(net.slack, f"UBRUNO: ?{slack_id} consent")
        await net.say(net.matrix, f"@bruno:example.org: +🙊 {matrix_id}")
        await net.say(net.matrix, f"@chloe:example.org: +⚠️ {matrix_id}")
        await net.say(net.slack, "UALICE: !reseau membre fusionner bruno @bruno:example.org")
        net.clock.set(FRIDAY_18H + timedelta(minutes=1))
        await net.engine.run_due()
        (record,) = await net.decisions()
        assert record["circle_size"] == 3 and record["answered"] == 2
        # Bruno's own (Slack) answer is kept; the one given as a stranger on Matrix is dropped.
        assert record["counts"] == {"consent": 1, "concern": 1, "objection": 0, "stand_aside": 0}
        assert record["names"]["consent"] == ["Bruno"]


async def test_a_merge_of_the_stranger_into_nobody_declared_is_refused_and_nothing_moves(store_url: str,
                                                                                       tmp_path: Path) -> None:
    async with network(store_url, tmp_path) as net:
        out = await net.say(net.slack, "UALICE: !reseau membre fusionner @bruno:example.org bruno")
        (note,) = [s for s in out if s.recipient == "UALICE"]
        assert "Bruno est déclaré·e dans la configuration et doit rester" in note.text
        assert "membre fusionner bruno matrix:@bruno:example.org" in note.text
        out = await net.say(net.slack, "UALICE: !reseau membre fusionner bruno Bruno")
        (note,) = [s for s in out if s.recipient == "UALICE"]
        assert note.text == "C'est déjà la même personne (Bruno)."
        out = await net.say(net.slack, "UALICE: !reseau membre fusionner bruno @dora:example.org")
        (note,) = [s for s in out if s.recipient == "UALICE"]
        assert spaces(note.text) == "Je ne trouve pas « @dora:example.org » parmi les membres du réseau."
        out = await net.say(net.matrix, "@bruno:example.org: !reseau profil")
        (profile,) = [s for s in out if s.recipient == "@bruno:example.org"]
        assert "Nom : @bruno:example.org" in spaces(profile.text), "still a person of his own"
