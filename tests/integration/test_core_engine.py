"""The engine's promises through the real store and the console adapter, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.kernel.model import InboundCommand
from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
WEEKLY_CHARTER = BASE_CONFIG + """
[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]
where = "post"
rrule = "FREQ=WEEKLY;BYDAY=TU"
time = "18:00"
"""


async def test_weekly_ritual_stays_at_18h_local_across_dst(store_url: str, tmp_path: Path) -> None:
    # Start mid-March 2026: the clocks go forward on 29 March, so eight weeks cross it.
    start = datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)
    async with Harness(WEEKLY_CHARTER, store_url, start, tmp_path) as h:
        posted_at: list[datetime] = []
        for _ in range(8):
            before = len(h.sent)
            await h.advance(timedelta(days=7))
            new = h.sent[before:]
            assert len(new) == 1, [s.text for s in new]
            assert "Pourquoi nous sommes ensemble" in new[0].text
        assert h.engine is not None
        async with h.store.read() as conn:  # type: ignore[union-attr]
            rows = (await conn.execute(select(t.outbox.c.sent_at).where(t.outbox.c.status == "sent")
                                       .order_by(t.outbox.c.id))).all()
        posted_at = [r.sent_at.astimezone(PARIS) for r in rows]
        assert len(posted_at) == 8
        assert all(p.hour == 18 and p.minute == 0 and p.weekday() == 1 for p in posted_at), posted_at
        offsets = {p.utcoffset() for p in posted_at}
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}, "the run must cross the DST change"


async def test_same_inbound_event_twice_is_handled_once(store_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    async with Harness(BASE_CONFIG, store_url, start, tmp_path) as h:
        assert h.engine is not None
        ev = InboundCommand(platform="console", event_id="evt-42", channel="general", sender="bob",
                            sender_name="bob", text="aide")
        assert await h.engine.submit(ev) is True
        assert await h.engine.submit(ev) is False
        await h.engine.drain_outbox()
        assert len(h.sent) == 1
        assert h.engine.stats["duplicates"] == 1


async def test_unknown_command_and_missing_argument_get_clear_answers(store_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    async with Harness(BASE_CONFIG, store_url, start, tmp_path) as h:
        out = await h.say("bob: !reseau bonjour")
        assert len(out) == 1 and "Je ne connais pas la commande « bonjour »" in spaces(out[0].text)
        out = await h.say("bob: !reseau aidee")
        assert "Vouliez-vous dire aide" in out[0].text
        out = await h.say('bob: !reseau aide "pas fermé')
        assert "guillemet fermant" in out[0].text
        # The bot is still running and answers the next command.
        out = await h.say("bob: !reseau aide")
        assert "Commandes de Maillage" in out[0].text
        assert out[0].kind == "note" and out[0].recipient == "bob"


async def test_help_is_generated_and_in_the_members_language(store_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    async with Harness(BASE_CONFIG, store_url, start, tmp_path) as h:
        out = await h.say("bob: !reseau profil langue en")
        assert "English" in out[0].text
        out = await h.say("bob: !reseau help")
        assert "Maillage commands" in out[0].text
        out = await h.say("alice: !reseau aide aide")
        assert "Ouverte à chaque membre du réseau" in out[0].text


async def test_non_member_cannot_drive_rituals(store_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    async with Harness(BASE_CONFIG, store_url, start, tmp_path, members={"general": ["alice", "bob"]}) as h:
        out = await h.say("mallory: !reseau aide")
        assert len(out) == 1 and "réservée aux membres" in out[0].text


async def test_three_days_down_no_burst_and_nothing_silently_lost(store_url: str, tmp_path: Path) -> None:
    daily = BASE_CONFIG + """
[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]
where = "post"
rrule = "FREQ=DAILY"
time = "18:00"
"""
    start = datetime(2026, 6, 1, 12, 0, tzinfo=PARIS)
    async with Harness(daily, store_url, start, tmp_path) as h:
        out = await h.advance(timedelta(hours=7))  # 19:00: the 18:00 post went out
        assert len(out) == 1
        # Down from Monday 19:00 to Thursday 20:00: three 18:00 posts were missed.
        await h.restart(downtime=timedelta(days=3, hours=1))
        assert h.sent[1:] == [], "no burst of stale reminders after the downtime"
        async with h.store.read() as conn:  # type: ignore[union-attr]
            skipped = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "skipped"))).all()
            timers = (await conn.execute(select(t.timers.c.due_at))).all()
        # Recorded, not silently lost: the missed firing is in the log, and the next is set.
        assert len(skipped) == 1
        assert [r.due_at.astimezone(PARIS) for r in timers] == [datetime(2026, 6, 5, 18, 0, tzinfo=PARIS)]
        out = await h.advance(timedelta(hours=23))
        assert len(out) == 1, "the ritual resumes at its next occurrence"


async def test_stale_outbox_entry_is_dropped_not_sent(store_url: str, tmp_path: Path) -> None:
    daily = BASE_CONFIG + """
[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]
where = "post"
rrule = "FREQ=DAILY"
time = "18:00"
"""
    start = datetime(2026, 6, 1, 12, 0, tzinfo=PARIS)
    async with Harness(daily, store_url, start, tmp_path) as h:
        assert h.engine is not None
        # The timer fires and commits its post, but the process dies before sending it.
        h.clock.set(datetime(2026, 6, 1, 18, 0, tzinfo=PARIS))
        await h.engine.run_due()
        await h.restart(downtime=timedelta(days=2))
        assert h.sent == [], "a reminder committed before a two-day outage is not posted late"
        async with h.store.read() as conn:  # type: ignore[union-attr]
            statuses = (await conn.execute(select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status))).all()
        assert dict(statuses) == {"dropped": 1}


def test_fake_clock_is_utc_aware() -> None:
    from bot.kernel.clock import FakeClock

    c = FakeClock(datetime(2026, 1, 1, tzinfo=PARIS))
    assert c.now().tzinfo == UTC


async def test_a_command_flood_gets_a_polite_answer(sqlite_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    async with Harness(BASE_CONFIG, sqlite_url, start, tmp_path) as h:
        answers = [(await h.say("bob: !reseau profil"))[0].text for _ in range(12)]
        assert all("Votre fiche" in a for a in answers[:10])
        assert all("Doucement" in a for a in answers[10:])
        h.clock.advance(timedelta(seconds=7))
        assert "Votre fiche" in (await h.say("bob: !reseau profil"))[0].text
        # Another member is not slowed down by Bob's flood.
        assert "Votre fiche" in (await h.say("chloe: !reseau profil"))[0].text


async def test_a_changed_config_takes_effect_at_boot_not_at_the_next_timer(sqlite_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)  # a Monday
    async with Harness(WEEKLY_CHARTER, sqlite_url, start, tmp_path) as h:
        assert h.engine is not None
        assert (await h.engine.next_due()) == datetime(2026, 5, 5, 18, 0, tzinfo=PARIS)
    (tmp_path / "again").mkdir()
    (tmp_path / "third").mkdir()
    moved = WEEKLY_CHARTER.replace('rrule = "FREQ=WEEKLY;BYDAY=TU"', 'rrule = "FREQ=WEEKLY;BYDAY=WE"')
    async with Harness(moved, sqlite_url, start, tmp_path / "again") as h2:
        assert h2.engine is not None
        assert (await h2.engine.next_due()) == datetime(2026, 5, 6, 18, 0, tzinfo=PARIS)
    # Unchanged config: a restart does not re-run the ritual's start.
    async with Harness(moved, sqlite_url, start, tmp_path / "third") as h3:
        async with h3.store.read() as conn:  # type: ignore[union-attr]
            versions = (await conn.execute(select(t.rituals.c.version))).scalars().all()
        assert versions == [2]


async def test_a_ritual_removed_then_restored_in_the_config_reopens(sqlite_url: str, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    for step, text in enumerate((WEEKLY_CHARTER, BASE_CONFIG, WEEKLY_CHARTER)):
        (tmp_path / str(step)).mkdir()
        async with Harness(text, sqlite_url, start, tmp_path / str(step)) as h:
            assert h.engine is not None
            async with h.store.read() as conn:  # type: ignore[union-attr]
                rows = (await conn.execute(select(t.rituals.c.key, t.rituals.c.status))).all()
            assert [tuple(r) for r in rows] == [("cfg:charte", "retired" if step == 1 else "open")]
            due = await h.engine.next_due()
            assert (due is None) if step == 1 else due == datetime(2026, 5, 5, 18, 0, tzinfo=PARIS)
