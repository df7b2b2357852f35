"""The weekly digest through the real engine, as the network reads it (issue 15): the day after
a meeting whose attendance is still asked, a draw's final panel after a decline and a cancelled
draw; and a second draw for the same role refused while the first runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from scenarios.sortition.seed import commitment_of
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 3, 23, 9, 0, tzinfo=PARIS)

CONFIG = BASE_CONFIG + """
[defaults.draw]
min_contributors = 1
commit_hours = 24
reveal_hours = 12
accept_hours = 48

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"
"""


def participation(text: str) -> list[str]:
    return spaces(text).split("Participation\n")[1].splitlines()


async def test_the_day_after_a_meeting_its_attendance_is_being_taken_then_counted(sqlite_url: str,
                                                                                 tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        await h.say("alice: !reseau reunion « AG » le 26 mars à 18h30 à la mairie")
        await h.say('alice: !reseau decision "Budget"')
        await h.advance_to(datetime(2026, 3, 26, 21, 0, tzinfo=PARIS))  # the attendance call is out
        friday = await h.advance_to(datetime(2026, 3, 27, 16, 1, tzinfo=PARIS))
        (digest,) = [s for s in friday if s.kind == "post" and "Résumé" in s.text]
        # Before the fix: "pas de réunion" for the network and each organisation, because the
        # attendance window (a day) closes after the digest; and each organisation ranked.
        assert participation(digest.text) == [
            "• Tout le réseau : réponses 0/3 (0 %) ; présence en cours de pointage (AG)"]
        nxt = await h.advance_to(datetime(2026, 4, 3, 16, 1, tzinfo=PARIS))
        (digest,) = [s for s in nxt if s.kind == "post" and "Résumé" in s.text]
        assert participation(digest.text) == ["• Tout le réseau : pas de consultation close ; présence 0/3 (0 %)"]
        assert digest.image_alt is not None and "semaine jusqu'au vendredi 3 avril" in spaces(digest.image_alt)
        # An animateur asking privately gets each organisation's figures too.
        mine = await h.say("[dm] alice: !reseau resume")
        assert "• La Ruche : pas de consultation close ; présence 0/2 (0 %)" in participation(mine[0].text)


async def test_a_draw_shows_its_final_panel_and_a_cancelled_one_says_so(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        await h.say('alice: !reseau tirage 1 role "trésorerie"')
        # A second draw for the same role while the first runs is refused, naming it.
        out = await h.say('alice: !reseau tirage 1 role "Trésorerie"')
        assert [s.kind for s in out] == ["note"]
        assert "Un tirage pour « Trésorerie » est déjà en cours (tirage #1)" in spaces(out[0].text)
        await h.say(f"bob: !reseau tirage graine {commitment_of('pivoine')}")
        await h.say("alice: !reseau tirage clore")
        out = await h.say("bob: !reseau tirage révéler pivoine")
        (ask,) = [s for s in out if s.kind == "dm" and s.choices]
        out = await h.say(f"[dm] {ask.recipient}: ?{ask.message_id} decline")
        (again,) = [s for s in out if s.kind == "dm" and s.choices]
        await h.say(f"[dm] {again.recipient}: ?{again.message_id} accept")
        declined = {"alice": "Alice", "bob": "Bob", "chloe": "Chloé"}[ask.recipient or ""]
        kept = {"alice": "Alice", "bob": "Bob", "chloe": "Chloé"}[again.recipient or ""]

        # Another draw, cancelled by an animateur before anyone is drawn.
        out = await h.say('alice: !reseau tirage 1 role "secrétariat"')
        announce = next(s for s in out if s.kind == "post" and s.choices)
        out = await h.say("alice: !reseau tirage annuler")
        (edit,) = [s for s in out if s.kind == "edit"]
        assert edit.target == announce.message_id and spaces(edit.text).endswith("annulé — annulation demandée par Alice.")
        assert not edit.choices

        friday = await h.advance_to(datetime(2026, 3, 27, 16, 1, tzinfo=PARIS))
        (digest,) = [s for s in friday if s.kind == "post" and "Résumé" in s.text]
        lines = [x for x in spaces(digest.text).splitlines() if x.startswith("🎲")]
        assert lines == [f"🎲 trésorerie : {kept}", "🎲 secrétariat : annulé"], lines
        assert declined not in lines[0]
