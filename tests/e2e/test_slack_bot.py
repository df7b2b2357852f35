"""The whole bot on Slack (the loopback FakeSlack): a consent round by buttons and a modal, RSVPs, a draw's acceptance."""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.adapter import SlackAdapter, build
from adapters.slack.blocks import ACTION_PREFIX, FORM_CALLBACK_PREFIX
from bot.cli.adapters import platform_configs
from bot.config import Config, validate
from bot.engine.running import RunningBot, running_bot
from bot.kernel.clock import FakeClock
from bot.store import Store, open_store
from bot.store import schema as t
from scenarios import registry
from tests.fakes.slack_fake import (
    FakeSlack,
    StoredMessage,
    signed_command,
    signed_event,
    signed_interaction,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
TEAM = "T0RESEAU"
BOT_TOKEN = "xoxb-1-reseau-e2e"
BOT_USER = "U0MAILLAGE"
SECRET = "e2e-signing-secret-0123456789abcdef"
GENERAL = "C0GENERAL"
PEOPLE = {"alice": "U0ALICE", "bob": "U0BOB", "chloe": "U0CHLOE", "david": "U0DAVID"}
ACK_LIMIT_S = 3.0
ENV = {
    "MAILLAGE_E2E_SLACK_BOT": BOT_TOKEN,
    "MAILLAGE_E2E_SLACK_SECRET": SECRET,
}

CONFIG = """
[network]
name = "Réseau des Tiers-Lieux"
locale = "fr"
timezone = "Europe/Paris"

[slack]
mode = "{mode}"
bot_token_env = "MAILLAGE_E2E_SLACK_BOT"
app_token_env = "MAILLAGE_E2E_SLACK_APP"
signing_secret_env = "MAILLAGE_E2E_SLACK_SECRET"
http_port = 0
api_base_url = "{base_url}"

[[channels]]
id = "general"
platform = "slack"
room = "C0GENERAL"
name = "Général"

[roles]
animateurs = ["alice"]

[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité"
rrule = "FREQ=MONTHLY;BYDAY=-1TU"
time = "18:00"

[defaults.draw]
min_contributors = 1
commit_hours = 24
reveal_hours = 12
accept_hours = 48
""" + "".join(
    f'\n[[members]]\nid = "{name}"\nname = "{name.capitalize()}"\naccounts = ["slack:{user}"]\n'
    f'organisation = "Structure {name}"\nterritoire = "{terr}"\n'
    for (name, user), terr in zip(PEOPLE.items(), ("Nord", "Sud", "Est", "Ouest"), strict=True)
)


def populate(fake: FakeSlack) -> None:
    fake.add_workspace(TEAM, BOT_TOKEN, BOT_USER, team_name="Réseau des Tiers-Lieux")
    for name, user in PEOPLE.items():
        fake.add_user(TEAM, user, name=name, real_name=name.capitalize())
    fake.add_channel(TEAM, GENERAL, list(PEOPLE.values()), name="general")


@dataclass
class SlackBot:
    """FakeSlack, the whole bot on a fake clock, and a member's hands: commands, clicks, forms."""

    fake: FakeSlack
    running: RunningBot
    adapter: SlackAdapter
    clock: FakeClock
    mode: Literal["socket", "http"]
    http: aiohttp.ClientSession
    ack_times: list[float] = field(default_factory=list)
    response_urls: dict[str, str] = field(default_factory=dict)
    """response_url → the member whose command or click it answers."""

    async def _deliver(
        self, kind: Literal["events_api", "slash_commands", "interactive"], payload: dict[str, Any]
    ) -> tuple[int, str]:
        if self.mode == "socket":
            envelope = await self.fake.send_envelope(kind, payload)
            ack = await self.fake.wait_ack(envelope, timeout=ACK_LIMIT_S)
            self.ack_times.append(ack.latency_s)
            return 200, json.dumps(ack.payload or {}, ensure_ascii=False)
        request = {
            "events_api": signed_event,
            "slash_commands": signed_command,
            "interactive": signed_interaction,
        }[kind](payload, SECRET)  # type: ignore[operator]
        assert self.adapter.http is not None
        started = time.monotonic()
        async with self.http.post(
            self.adapter.http.url + "/slack/events",
            data=request.body.encode(),
            headers=request.headers,
        ) as resp:
            body = await resp.text()
        self.ack_times.append(time.monotonic() - started)
        return resp.status, body

    async def command(self, who: str, text: str) -> None:
        payload = self.fake.slash_command(TEAM, PEOPLE[who], GENERAL, text)
        self.response_urls[payload["response_url"]] = who
        status, _ = await self._deliver("slash_commands", payload)
        assert status == 200
        await self.settle()

    async def click(self, who: str, message: StoredMessage, choice: str) -> None:
        payload = self.fake.block_action(
            TEAM, PEOPLE[who], message.channel, message.ts, ACTION_PREFIX + choice
        )
        self.response_urls[payload["response_url"]] = who
        status, _ = await self._deliver("interactive", payload)
        assert status == 200
        await self.settle()

    async def submit(self, who: str, view_id: str, values: dict[str, Any]) -> str:
        status, body = await self._deliver(
            "interactive", self.fake.view_submission(TEAM, PEOPLE[who], view_id, values)
        )
        assert status == 200
        await self.settle()
        return body

    async def settle(self) -> None:
        """Let the outbox empty: every action the engine decided is on Slack."""
        engine = self.running.engine
        for _ in range(3):
            await asyncio.sleep(0.05)
            await engine.drain_outbox()

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.running.engine.run_due()
        await self.settle()

    def bot_messages(self, channel: str = GENERAL) -> list[StoredMessage]:
        return [m for m in self.fake.messages(channel, team_id=TEAM) if m.user == BOT_USER]

    def with_buttons(self, channel: str = GENERAL) -> list[StoredMessage]:
        return [
            m
            for m in self.bot_messages(channel)
            if any(b["type"] == "actions" for b in m.blocks or [])
        ]

    def ephemeral_to(self, who: str) -> list[str]:
        """Private notes a member saw, through a response_url or chat.postEphemeral."""
        by_url = [
            r.body.get("text", "")
            for r in self.fake.responses
            if self.response_urls.get(r.url) == who and r.body.get("response_type") == "ephemeral"
        ]
        direct = [
            c.params.get("text", "")
            for c in self.fake.calls_to("chat.postEphemeral")
            if c.params.get("user") == PEOPLE[who]
        ]
        return by_url + direct


def config_for(fake: FakeSlack, mode: str, tmp: Path) -> Config:
    text = CONFIG.format(mode=mode, base_url=fake.base_url)
    return validate(tomllib.loads(text), registry(), tmp / "config.toml", platform_configs())


@asynccontextmanager
async def slack_bot(
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: Literal["socket", "http"] = "socket",
    fake: FakeSlack | None = None,
    store: Store | None = None,
    clock: FakeClock | None = None,
    wrap: Callable[[SlackAdapter], SlackAdapter] | None = None,
) -> AsyncIterator[SlackBot]:
    own_fake = fake is None
    the_fake = fake or FakeSlack()
    if own_fake:
        await the_fake.start()
        populate(the_fake)
    for name, value in {**ENV, "MAILLAGE_E2E_SLACK_APP": the_fake.app_token}.items():
        monkeypatch.setenv(name, value)
    config = config_for(the_fake, mode, tmp)
    own_store = store is None
    the_store = store or await open_store(f"sqlite+aiosqlite:///{tmp / 'maillage.db'}")
    the_clock = clock or FakeClock(MONDAY)
    adapter = build(config, the_store.kv(), the_store)
    if wrap is not None:
        adapter = wrap(adapter)
    try:
        async with (
            running_bot(
                config,
                registry(),
                {"slack": adapter},
                clock=the_clock,
                store=the_store,
                alarm=False,
            ) as running,
            aiohttp.ClientSession() as http,
        ):
            yield SlackBot(the_fake, running, adapter, the_clock, mode, http)
    finally:
        if own_store:
            await the_store.close()
        if own_fake:
            await the_fake.stop()


async def _decisions(store: Store) -> list[dict[str, Any]]:
    async with store.read() as conn:
        rows = (
            await conn.execute(
                select(t.log.c.summary).where(t.log.c.kind == "decision").order_by(t.log.c.id)
            )
        ).all()
    return [dict(r.summary) for r in rows]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_consent_round_by_buttons_and_a_modal_objection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: Literal["socket", "http"]
) -> None:
    async with slack_bot(tmp_path, monkeypatch, mode) as s:
        await s.command("alice", "decision «Acheter un four à pain» jusqu'à vendredi 18h")
        (proposal,) = s.with_buttons()
        assert "Acheter un four à pain" in proposal.text
        assert (
            proposal.metadata is not None and proposal.metadata["event_type"] == "maillage_action"
        )

        await s.click("bob", proposal, "consent")
        await s.click("chloe", proposal, "concern")
        await s.click("alice", proposal, "stand_aside")
        await s.click("alice", proposal, "consent")  # the latest answer counts
        # Each answer is confirmed to its author only; a réserve is asked its reason instead
        # (optional), in the thread, naming its author without a mention (issue 15).
        noted = [
            sum("C'est noté" in text for text in s.ephemeral_to(who))
            for who in ("bob", "chloe", "alice")
        ]
        assert noted == [1, 0, 2]
        (why,) = [m for m in s.bot_messages() if m.thread_ts == proposal.ts]
        assert why.text.startswith("Chloe, vous consentez avec une réserve") and "<@U0CHLOE>" not in why.text
        assert "si vous le souhaitez" in why.text

        # David objects: the bot asks why, in the thread and with a modal (reason required).
        await s.click("david", proposal, "objection")
        asked = [m for m in s.bot_messages() if m.thread_ts == proposal.ts]
        assert asked and "<@U0DAVID>" in asked[-1].text
        (view_id,) = [
            v
            for v, view in s.fake.views(team_id=TEAM).items()
            if view["callback_id"] == FORM_CALLBACK_PREFIX + "objection"
        ]
        refused = await s.submit(
            "david", view_id, {"field_reason": {"reason": {"type": "plain_text_input"}}}
        )
        assert "obligatoire" in refused
        await s.submit(
            "david",
            view_id,
            {
                "field_reason": {
                    "reason": {
                        "type": "plain_text_input",
                        "value": "Le four à bois <b>pollue</b> & coûte cher",
                    }
                }
            },
        )

        # Live counts on the proposal (one coalesced edit).
        await s.advance(timedelta(minutes=2))
        live = s.fake.message(GENERAL, proposal.ts, team_id=TEAM)
        assert live is not None and live.edited is not None
        assert "✅ 2 · ⚠️ 1 · ✋ 1 · 🙊 0 — 4 sur 4" in live.text
        assert any(b["type"] == "actions" for b in live.blocks or [])

        # The deadline: objections to integrate, buttons gone, outcome posted and recorded.
        await s.advance(timedelta(days=5))
        closed = s.fake.message(GENERAL, proposal.ts, team_id=TEAM)
        assert closed is not None and not any(b["type"] == "actions" for b in closed.blocks or [])
        outcome = s.bot_messages()[-1]
        assert "Objections à intégrer" in outcome.text
        assert (
            "&lt;b&gt;pollue&lt;/b&gt; &amp; coûte cher" in outcome.text
        )  # member text stays inert
        (decision,) = await _decisions(s.running.store)
        assert decision["outcome"] == "objections"
        assert any("pollue" in str(o) for o in decision["objections"])

        assert max(s.ack_times) < ACK_LIMIT_S
        assert s.fake.errors == []
        # One message per outbox entry: nothing was posted twice.
        keys = [
            m.metadata["event_payload"]["key"]
            for m in s.bot_messages() + s.bot_messages()
            if m.metadata
        ]
        assert len(keys) == 2 * len(set(keys))


async def test_rsvp_buttons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with slack_bot(tmp_path, monkeypatch, "http") as s:
        await s.command("alice", "reunion « AG extraordinaire » le 26 novembre à 18h30 à la mairie")
        announce = s.with_buttons()[-1]
        values = [
            e["value"]
            for b in announce.blocks or []
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert {"yes", "no", "maybe"} <= set(values)
        await s.click("bob", announce, "yes")
        await s.click("chloe", announce, "maybe")
        await s.click("chloe", announce, "no")
        notes = s.ephemeral_to("bob")
        assert any("Présent" in n for n in notes), notes
        async with s.running.store.read() as conn:
            state = (
                await conn.execute(select(t.rituals.c.state).where(t.rituals.c.kind == "meeting"))
            ).all()
        flat = str([dict(r.state) for r in state])
        assert "bob" in flat and "chloe" in flat
        assert s.fake.errors == [] and max(s.ack_times) < ACK_LIMIT_S


async def test_a_draw_is_accepted_by_button_in_a_direct_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scenarios.sortition.seed import commitment_of

    async with slack_bot(tmp_path, monkeypatch, "socket") as s:
        await s.command("alice", 'tirage 2 role "délégué"')
        await s.command("bob", f"tirage graine {commitment_of('tournesol')}")
        await s.command("alice", "tirage clore")
        await s.command("bob", "tirage révéler tournesol")
        asks = {user: s.with_buttons(s.fake.dm_channel_id(TEAM, user)) for user in PEOPLE.values()}
        drawn = {user: msgs[-1] for user, msgs in asks.items() if msgs}
        assert len(drawn) == 2, {u: [m.text for m in ms] for u, ms in asks.items()}
        for user, ask in drawn.items():
            who = next(name for name, uid in PEOPLE.items() if uid == user)
            await s.click(who, ask, "accept")
        assert any("au complet" in m.text for m in s.bot_messages())
        assert s.fake.errors == [] and max(s.ack_times) < ACK_LIMIT_S


async def test_a_retried_event_reaches_the_engine_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_bot(tmp_path, monkeypatch, "http") as s:
        await s.command("alice", "decision «Adopter la charte» vendredi 18h")
        (proposal,) = s.with_buttons()
        reply = s.fake.user_message(
            TEAM, GENERAL, PEOPLE["bob"], "!reseau objection trop vague", thread_ts=proposal.ts
        )
        body = s.fake.event_callback(TEAM, reply)
        assert s.adapter.http is not None
        for retry in (None, 1, 2):
            request = signed_event(body, SECRET, retry_num=retry)
            async with s.http.post(
                s.adapter.http.url + "/slack/events",
                data=request.body.encode(),
                headers=request.headers,
            ) as resp:
                assert resp.status == 200
        await s.settle()
        assert s.running.engine.stats["duplicates"] == 2
        recorded = [n for n in s.ephemeral_to("bob") if "objection" in n]
        assert len(recorded) == 1, recorded


async def test_a_rate_limited_post_waits_for_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_bot(tmp_path, monkeypatch, "socket") as s:
        s.fake.rate_limit_next("chat.postMessage", retry_after_s=30)
        await s.command("alice", "decision «Adopter la charte» vendredi 18h")
        assert s.with_buttons() == []
        async with s.running.store.read() as conn:
            (row,) = (
                await conn.execute(select(t.outbox).where(t.outbox.c.status == "pending"))
            ).all()
        assert row.attempts == 1 and "rate limited" in (row.error or "")
        assert (row.not_before - s.clock.now()).total_seconds() == pytest.approx(30, abs=1)
        await s.advance(timedelta(seconds=10))
        assert s.with_buttons() == []  # still waiting, as Slack asked
        await s.advance(timedelta(seconds=25))
        assert len(s.with_buttons()) == 1
        assert [c.status for c in s.fake.calls_to("chat.postMessage")] == [429, 200]


async def test_a_bare_decision_opens_the_proposal_form_and_its_submission_starts_the_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_bot(tmp_path, monkeypatch) as s:
        await s.command("bob", "decision")  # not an animateur: refused, no form
        assert any("seule l'équipe d'animation" in t for t in s.ephemeral_to("bob"))
        assert s.fake.views(team_id=TEAM) == {}

        await s.command("alice", "decision")
        (view_id,) = [
            v
            for v, view in s.fake.views(team_id=TEAM).items()
            if view["callback_id"] == FORM_CALLBACK_PREFIX + "proposal"
        ]
        assert s.fake.views(team_id=TEAM)[view_id]["title"]["text"] == "Nouvelle proposition"
        deadline = int((MONDAY + timedelta(days=4)).timestamp())
        await s.submit(
            "alice",
            view_id,
            {
                "field_title": {"title": {"type": "plain_text_input", "value": "Ouvrir le samedi"}},
                "field_text": {
                    "text": {"type": "plain_text_input", "value": "Pour les salariés <des> assos"}
                },
                "field_deadline": {
                    "deadline": {"type": "datetimepicker", "selected_date_time": deadline}
                },
            },
        )
        (proposal,) = s.with_buttons()
        assert "Ouvrir le samedi" in proposal.text
        assert "Pour les salariés &lt;des&gt; assos" in proposal.text
        assert s.fake.errors == []
