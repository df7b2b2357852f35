"""The date poll through the real engine and store: answers and a change edit the one table post, the
deadline closes it into a one-off meeting whose RSVPs are the answers and which is in the `.ics`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from bot.engine.calendar import network_calendar
from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)
CONFIG = BASE_CONFIG + """
[defaults.datepoll]
reminder = "1 jour"
"""


async def _answers(h: Harness, topic: str) -> list[tuple[str, int, str | None, bool]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(
            select(t.persons.c.key, t.answers.c.part, t.answers.c.value, t.answers.c.superseded_at)
            .join(t.persons, t.persons.c.id == t.answers.c.person_id)
            .where(t.answers.c.topic == topic).order_by(t.answers.c.id))).all()
    return [(r.key, r.part, r.value, r.superseded_at is None) for r in rows]


async def test_a_date_poll_answered_changed_and_closed_becomes_a_meeting_with_its_rsvps_and_ics(
        sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, START, tmp_path) as h:
        out = await h.say("alice: !reseau dates « Comité de pilotage » mar 12/01 18h, jeu 14/01 12h30, "
                          "lun 18/01 18h jusqu'à vendredi")
        (table,) = out
        assert table.kind == "post" and spaces(table.text).startswith("📅 Sondage de dates : Comité de pilotage")
        # Answers edit the table and nothing else: no private confirmation.
        await h.advance(timedelta(minutes=1))  # past the table's `refresh`
        out = await h.say("bob: !reseau dates 1 oui, 2 si besoin, 3 non")
        assert [(s.kind, s.target) for s in out] == [("edit", table.message_id)]
        assert "1. mar. 12 janv. à 18 h — ✅ 1 · 🤔 0 · ❌ 0" in spaces(out[0].text)
        await h.advance(timedelta(minutes=1))  # past the table's `refresh`
        await h.say("chloe: !reseau dates 2 oui")
        await h.advance(timedelta(minutes=1))  # past the table's `refresh`
        out = await h.say("bob: !reseau dates 2 oui")  # a change
        assert "2. jeu. 14 janv. à 12 h 30 — ✅ 2 · 🤔 0 · ❌ 0" in spaces(out[0].text)
        assert "2 personnes ont répondu." in spaces(out[0].text)
        assert await _answers(h, "dates") == [("bob", 1, "yes", True), ("bob", 2, "maybe", False),
                                              ("bob", 3, "no", True), ("chloe", 2, "yes", True),
                                              ("bob", 2, "yes", True)]
        # A bad answer is refused privately, in the member's language.
        (refused,) = await h.say("chloe: !reseau dates 7 oui")
        assert refused.kind != "post" and "Il n'y a pas de créneau 7" in spaces(refused.text)
        # The day before the deadline nobody is reminded who answered, nor Alice who launched it.
        reminded = await h.advance_to(datetime(2027, 1, 7, 18, 1, tzinfo=PARIS))
        assert [s for s in reminded if s.kind == "dm"] == []
        # The close: the table says the chosen slot, then the meeting's own post.
        closed = await h.advance_to(datetime(2027, 1, 8, 18, 1, tzinfo=PARIS))
        assert [s.kind for s in closed] == ["edit", "post"], [(s.kind, s.text) for s in closed]
        assert closed[0].target == table.message_id
        assert "Clos : la réunion aura lieu jeu. 14 janv. à 12 h 30." in spaces(closed[0].text)
        meeting = closed[1]
        assert spaces(meeting.text).startswith("📅 Nouvelle réunion : Comité de pilotage (proposée par Alice)")
        assert "jeudi 14 janvier 2027 à 12 h 30" in spaces(meeting.text)
        # Its RSVPs are the answers to the chosen slot.
        assert [(k, v) for k, _, v, cur in await _answers(h, "rsvp") if cur] == [
            ("bob", "yes"), ("chloe", "yes")]
        assert h.store is not None
        async with h.store.read() as conn:
            rows = (await conn.execute(select(t.log.c.kind, t.log.c.summary).where(t.log.c.kind == "datepoll"))).all()
            kinds = (await conn.execute(select(t.rituals.c.kind, t.rituals.c.status))).all()
        assert [r.summary["outcome"] for r in rows] == ["closed"]
        assert ("datepoll", "finished") in [(k.kind, k.status) for k in kinds]
        # The meeting is in the network's calendar.
        ics = await network_calendar(h.store, h.config, h.kinds, h.clock.now())
        assert ics is not None
        (event,) = Calendar.from_ical(ics).walk("VEVENT")
        assert str(event["summary"]) == "Comité de pilotage"
        assert event.decoded("dtstart").astimezone(UTC) == datetime(2027, 1, 14, 11, 30, tzinfo=UTC)
        # And its usual reminders: the last one names who comes, from the pre-filled answers.
        later = await h.advance_to(datetime(2027, 1, 14, 11, 31, tzinfo=PARIS))
        last = [s for s in later if s.kind == "edit" and s.target == meeting.message_id]
        assert last and "Bob" in last[-1].text and "Chloé" in last[-1].text, [(s.kind, s.text) for s in later]
        assert not [s for s in later if s.kind == "post" and s.where == meeting.where and "Sondage" in s.text]
        assert timedelta(0) < datetime(2027, 1, 14, 12, 30, tzinfo=PARIS) - h.clock.now()
        # Held, its attendance closed: the meeting's own ritual is over, and stays in the calendar.
        await h.advance_to(datetime(2027, 1, 15, 15, 0, tzinfo=PARIS))
        async with h.store.read() as conn:
            meetings = (await conn.execute(select(t.rituals.c.origin, t.rituals.c.status)
                                           .where(t.rituals.c.kind == "meeting"))).all()
        assert [(m.origin, m.status) for m in meetings] == [("command", "finished")]
        ics = await network_calendar(h.store, h.config, h.kinds, h.clock.now())
        assert ics is not None and [str(e["summary"]) for e in Calendar.from_ical(ics).walk("VEVENT")] == [
            "Comité de pilotage"]
