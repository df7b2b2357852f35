"""What members type, through the engine: numbers and sizes past their limits are answered, in
commands, thread replies, direct messages and button flows alike; the issue's poison event."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.kernel.inputs import SECRET, TEXT
from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)  # a Monday
WEEKLY_MEETING = BASE_CONFIG + """
[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité"
rrule = "FREQ=WEEKLY;BYDAY=TU"
time = "18:00"
"""


async def _dead_letters(h: Harness) -> int:
    table = getattr(t, "dead_letters", None)
    if table is None:  # pragma: no cover - before the engine kept dead letters
        return 0
    assert h.store is not None
    async with h.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_poison_numbers_from_the_issue_are_answered(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, sqlite_url, START, tmp_path) as h:
        for line, needle in [
            ("bob: !reseau decisions #²", "chiffres 0 à 9"),
            ("bob: !reseau decisions #" + "1" * 3000, "hors limites"),
            ("bob: !reseau decisions #" + "1" * 5000, "trop long"),
            ("bob: !reseau retirer #99999999999999999999999", "hors limites"),
            ("alice: !reseau tirage 1e9 parmi #general", "nombre de personnes"),
            ("alice: !reseau tirage 99999999999 parmi #general", "hors limites"),
        ]:
            out = await h.say(line)
            assert len(out) == 1 and out[0].kind == "note", (line[:60], [s.text for s in out])
            assert needle in out[0].text, out[0].text
            assert len(out[0].text) < 300
            h.clock.advance(timedelta(seconds=10))
        assert await _dead_letters(h) == 0


async def test_an_objection_reason_past_its_limit_is_answered_then_a_short_one_kept(sqlite_url: str,
                                                                                   tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, sqlite_url, START, tmp_path) as h:
        out = await h.say('alice: !reseau decision "Charte v2" jusqu\'à vendredi 18h')
        proposal = next(s for s in out if s.kind == "post")
        await h.say(f"bob: ?{proposal.message_id} objection")
        out = await h.say(f"bob: > {proposal.message_id} " + "trop " * 250)
        assert [s.kind for s in out] == ["note"], [s.text for s in out]
        assert "1\u202f000" in out[0].text or "1 000" in out[0].text
        out = await h.say(f"bob: > {proposal.message_id} le budget n'est pas chiffré")
        assert any("le budget n'est pas chiffré" in s.text for s in out)
        # As a command, the same: the reason's limit is stated.
        out = await h.say(f"chloe: !reseau objection {'x' * (TEXT.chars + 1)}")
        assert [s.kind for s in out] == ["note"] and "trop long" in out[0].text


async def test_a_secret_past_its_limit_is_asked_again(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, sqlite_url, START, tmp_path) as h:
        out = await h.say("alice: !reseau tirage 1 parmi #general")
        announce = next(s for s in out if s.kind == "post")
        out = await h.say(f"bob: ?{announce.message_id} contribute")
        assert [s.kind for s in out] == ["dm"]
        out = await h.say("[dm] bob: " + "s" * (SECRET.chars + 1))
        assert [s.kind for s in out] == ["dm"] and "200" in out[0].text, [s.text for s in out]
        out = await h.say("[dm] bob: les poules ont des dents")
        assert any("les poules" not in s.text and s.kind == "post" for s in out)
        out = await h.say("chloe: !reseau tirage révéler " + "s" * (SECRET.chars + 1))
        assert [s.kind for s in out] == ["note"] and "trop long" in out[0].text


async def test_a_nomination_past_its_limit_is_answered(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, sqlite_url, START, tmp_path) as h:
        await h.say('alice: !reseau election "délégué" jusqu\'à mercredi 18h')
        out = await h.say("[dm] bob: chloe parce que " + "elle écoute " * 100)
        assert len(out) == 1 and "trop long" in out[0].text, [s.text for s in out]
        out = await h.say("[dm] bob: chloe parce qu'elle écoute")
        assert len(out) == 1 and "trop long" not in out[0].text


async def test_cancelling_a_meeting_under_way_is_answered(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(WEEKLY_MEETING, sqlite_url, START, tmp_path) as h:
        await h.advance_to(datetime(2026, 3, 3, 18, 20, tzinfo=PARIS))  # Tuesday's meeting has begun
        out = await h.say("alice: !reseau reunion annuler grève")
        assert [s.kind for s in out] == ["note"], [s.text for s in out]
        assert "déjà commencé" in out[0].text


async def test_a_meeting_more_than_a_year_ahead_is_answered(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(BASE_CONFIG, sqlite_url, START, tmp_path) as h:
        for when in ("9999-12-31T23:59-14:00", "le 12 décembre 2030 à 18h", "2027-06-01T18:00"):
            out = await h.say(f"alice: !reseau reunion « Comité » {when}")
            assert [s.kind for s in out] == ["note"], (when, [s.text for s in out])
            assert "trop loin" in out[0].text and "12\u00a0mois" in out[0].text, out[0].text
            h.clock.advance(timedelta(seconds=10))
        out = await h.say("alice: !reseau reunion « Comité » le 12 décembre à 18h")
        assert any(s.kind == "post" and "Comité" in s.text for s in out)
        assert await _dead_letters(h) == 0
