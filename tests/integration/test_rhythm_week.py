"""A week of the network's rhythm through the real engine, store and console adapter: a meeting
set up by command, RSVPs, agenda, a newcomer, attendance, then the Friday digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 3, 23, 9, 0, tzinfo=PARIS)

CONFIG = BASE_CONFIG + """
[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité"
rrule = "FREQ=MONTHLY;BYDAY=-1TU"
time = "18:00"
place = "Maison des associations"
attendance_window = "12h"

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"

[[rituals]]
id = "accueil"
kind = "welcome"
channels = ["general"]
"""


async def _log(h: Harness, kind: str) -> list[dict[str, Any]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == kind).order_by(t.log.c.id))).all()
    return [dict(r.summary) for r in rows]


async def test_a_week_of_meetings_welcome_and_digest(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        assert h.sent == []  # configured rituals start silently

        ack = await h.say('bob: !reseau ordre-du-jour "Budget 2027"')
        assert [(s.kind, s.recipient) for s in ack] == [("note", "bob")]
        assert "« Budget 2027 » est à l'ordre du jour de « Comité » (mardi 31 mars 2026 à 18 h)" in spaces(ack[0].text)

        out = await h.say("alice: !reseau reunion « AG extraordinaire » le 26 mars à 18h30 à la mairie")
        (announce,) = [s for s in out if s.kind == "post"]
        assert "AG extraordinaire" in announce.text and "jeudi 26 mars 2026 à 18 h 30" in spaces(announce.text)
        assert set(announce.choices) == {"yes", "no", "maybe"}
        refused = await h.say("bob: !reseau reunion « Pique-nique » demain à 12h")
        assert "seule l'équipe d'animation" in refused[0].text

        noted = await h.say(f"bob: ?{announce.message_id} yes")
        assert [s.kind for s in noted] == ["note"] and "Présent·e" in noted[0].text
        assert await h.say(f"chloe: +✅ {announce.message_id}") == []

        # A newcomer gets one private message: the greeting, with the next meeting, and the
        # invitation to complete their profile; nothing in public. Leaving and coming back: silence.
        joined = await h.say("+dave")
        (greeting,) = joined
        assert greeting.kind == "dm" and greeting.recipient == "dave"
        assert "Bienvenue" in greeting.text and "AG extraordinaire" in greeting.text
        assert "Nous coopérons pour le territoire." in greeting.text and "profil organisation" in greeting.text
        await h.say("-dave")
        assert await h.say("+dave") == []

        # Personal reminders are asked for: Chloé does, in private.
        asked = await h.say("chloe: !reseau reunion rappels perso")
        assert [(s.kind, s.recipient) for s in asked] == [("note", "chloe")]

        # Tuesday: the Comité's post, a week ahead, with its agenda. The eve of the AG: its
        # post is edited ("demain"), and only Chloé gets a personal reminder.
        eve = await h.advance_to(datetime(2026, 3, 25, 18, 31, tzinfo=PARIS))
        (comite,) = [s for s in eve if s.kind == "post"]
        assert "Comité, dans 7 jours" in comite.text.replace("\u00a0", " ")
        assert "1. Budget 2027 (bob)" in comite.text or "1. Budget 2027 (Bob)" in comite.text
        ag = [s for s in eve if s.kind == "edit" and "AG extraordinaire" in s.text]
        assert ag and "AG extraordinaire, demain" in spaces(ag[-1].text)
        assert sorted(s.recipient or "" for s in eve if s.kind == "dm") == ["chloe"]

        last = await h.advance_to(datetime(2026, 3, 26, 17, 31, tzinfo=PARIS))
        assert [s for s in last if s.kind == "post"] == []
        (reminder,) = [s for s in last if s.kind == "edit"]
        assert "Qui vient ?" in spaces(reminder.text) and "✅ Bob, Chloé" in reminder.text
        assert "dave" not in reminder.text.lower()  # who has not answered is counted, not named

        after = await h.advance_to(datetime(2026, 3, 26, 20, 31, tzinfo=PARIS))
        (question,) = [s for s in after if s.kind == "post"]
        assert question.target == announce.message_id  # in the thread of the meeting's post
        assert "Qui était là ?" in spaces(question.text) and "D'après vos réponses : Bob, Chloé." in spaces(question.text)
        await h.say(f"alice: ?{question.message_id} came")

        friday = await h.advance_to(datetime(2026, 3, 27, 16, 1, tzinfo=PARIS))
        edits = [s for s in friday if s.kind == "edit"]
        assert edits and "Présent·es (3) : Alice, Bob, Chloé" in spaces(edits[0].text)
        (digest,) = [s for s in friday if s.kind == "post"]
        assert digest.text.startswith("📰 Résumé de la semaine — Réseau test")
        assert "Bienvenue à dave" in digest.text
        assert "Comité (Maison des associations)" in digest.text  # next Tuesday, within two weeks
        assert "• Tout le réseau : pas de consultation close ; présence 3/4 (75" in spaces(digest.text)
        # The chart is the network's trend, its alt text week by week.
        assert digest.image_alt is not None and "semaine jusqu'au vendredi 27 mars : réponses —, présence 75 %" \
            in spaces(digest.image_alt)

        minutes = await h.say("dave: !reseau reunion cr https://pad.example.org/ag")
        assert any(s.kind == "edit" and "pad.example.org/ag" in s.text for s in minutes)

        # A member's `resume` answers them alone; an animateur's is posted in the channel.
        mine = await h.say("bob: !reseau resume")
        assert [(s.kind, s.recipient) for s in mine] == [("note", "bob")] and "présence 3/4" in mine[0].text
        now = await h.say("alice: !reseau resume")
        assert [s.kind for s in now] == ["post"] and "présence 3/4" in now[0].text

        attendance = await _log(h, "attendance")
        assert [a["present"] for a in attendance] == [sorted(attendance[0]["present"])]
        assert len(attendance[0]["present"]) == 3 and attendance[0]["title"] == "AG extraordinaire"
        assert [w["name"] for w in await _log(h, "welcome")] == ["dave"]
        assert [m["url"] for m in await _log(h, "minutes")] == ["https://pad.example.org/ag"]


async def test_reminders_survive_a_restart_and_stale_ones_are_dropped(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        # Down from Monday until after the Comité's day-before reminder (30 March 18:00).
        await h.restart(downtime=timedelta(days=7, hours=10))
        await h.advance(timedelta(minutes=1))
        posts = [s for s in h.sent if s.kind == "post"]
        # The digest of Friday (over 12 h late) and the 7-day reminder are skipped: only the
        # day-before reminder, which is still true, goes out.
        assert len(posts) == 1 and "Comité, demain" in spaces(posts[0].text)
        assert "mardi 31 mars 2026 à 18 h" in spaces(posts[0].text)
