"""Slack's HTTP requests land on either of two processes sharing one PostgreSQL: a round
started on one is answered on the other, and a retry reaching the other process is dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.kernel.clock import FakeClock
from bot.store import open_store
from tests.e2e.test_slack_bot import (
    GENERAL,
    MONDAY,
    PEOPLE,
    SECRET,
    TEAM,
    SlackBot,
    populate,
    slack_bot,
)
from tests.fakes.slack_fake import FakeSlack, signed_event
from tests.fixtures.postgres import TempPostgres

pytestmark = [pytest.mark.postgres]


async def deliver_event(bot: SlackBot, body: dict[str, object], retry_num: int | None = None) -> int:
    request = signed_event(body, SECRET, retry_num=retry_num)
    assert bot.adapter.http is not None
    async with bot.http.post(bot.adapter.http.url + "/slack/events", data=request.body.encode(),
                             headers=request.headers) as resp:
        return resp.status


async def test_requests_spread_over_two_processes_count_once(
        pg_server: TempPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await asyncio.to_thread(pg_server.create_database, "slackshared")
    fake = FakeSlack()
    await fake.start()
    populate(fake)
    store_a, store_b = await open_store(url), await open_store(url)
    clock = FakeClock(MONDAY)
    try:
        async with (slack_bot(tmp_path / "a", monkeypatch, "http", fake=fake, store=store_a, clock=clock) as a,
                    slack_bot(tmp_path / "b", monkeypatch, "http", fake=fake, store=store_b, clock=clock) as b):
            await a.command("alice", "decision «Acheter un four à pain» jusqu'à vendredi 18h")
            (proposal,) = a.with_buttons()
            # The clicks reach whichever process the load balancer picks.
            await b.click("bob", proposal, "consent")
            await a.click("chloe", proposal, "concern")
            await b.click("david", proposal, "stand_aside")
            await b.settle()
            # Each click answered once, by the process that took it (a réserve: its reason asked).
            assert [sum("C'est noté" in x for x in s.ephemeral_to(who))
                    for s, who in ((b, "bob"), (b, "david"))] == [1, 1]
            # The réserve's reason asked once, in the thread, naming Chloe without a mention.
            assert sum(m.text.startswith("Chloe, vous consentez avec une réserve")
                       for m in a.bot_messages() if m.thread_ts == proposal.ts) == 1

            # A message event handled by one process, and Slack's retry of it landing on the other.
            event = fake.event_callback(TEAM, fake.user_message(TEAM, GENERAL, PEOPLE["bob"], "!reseau aide"))
            assert await deliver_event(a, event) == 200
            assert await deliver_event(b, event, retry_num=1) == 200
            await a.settle()
            await b.settle()
            helps = [c for c in fake.calls_to("chat.postEphemeral")
                     if c.params.get("user") == PEOPLE["bob"] and "aide" in c.params.get("text", "").lower()]
            assert len(helps) == 1, [c.params.get("text") for c in helps]
            # Dropped by the database's unique key, not by the other process's memory.
            assert b.running.engine.stats["duplicates"] == 1

            # Both processes fire the coalesced live-count timer; it is edited once, with all answers.
            clock.advance(timedelta(minutes=2))
            fired = await asyncio.gather(a.running.engine.run_due(), b.running.engine.run_due())
            assert sorted(fired)[0] == 0 and sum(fired) >= 1
            await a.settle()
            await b.settle()
            live = fake.message(GENERAL, proposal.ts, team_id=TEAM)
            assert live is not None and live.edited is not None
            assert "✅ 1 · ⚠️ 1 · ✋ 0 · 🙊 1 — 3 sur 4" in live.text
            assert len(a.with_buttons()) == 1
    finally:
        await store_a.close()
        await store_b.close()
        await fake.stop()
