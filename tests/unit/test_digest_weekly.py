"""The weekly digest of a simulated week: content, participation chart, escaping, schedule."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from PIL import Image as PILImage

from bot.kernel.i18n import Msg
from bot.kernel.model import DirectMessage, Joined, Post, PrivateNote, Ref, SetTimer, Started
from bot.kernel.scenario import Capabilities, Context, LogEntry, RitualSummary
from scenarios.digest import KIND as DIGEST
from scenarios.digest.chart import ANSWERS_COLOUR, PRESENCE_COLOUR, size_for
from scenarios.meeting import KIND as MEETING
from scenarios.welcome import KIND as WELCOME
from tests.unit.register_support import register_of
from tests.unit.test_meeting_support import (
    ALICE,
    BOB,
    CHLOE,
    MEMBERS,
    TZ,
    Sim,
    chose,
    command,
    context,
    member,
    paris,
    render,
    text,
    used_keys,
)

DIGEST_CONFIG = {"channels": ["general"], "rrule": "FREQ=WEEKLY;BYDAY=FR", "time": "16:00"}
MEETINGS = {"channels": ["general"], "title": "Comité", "rrule": "FREQ=MONTHLY;BYDAY=4TU", "time": "18:00",
            "place": "Maison des associations"}
EVE = member("eve", "Coop Beta")
EVERYONE = {**MEMBERS, "eve": EVE}
FRIDAY = paris(2026, 3, 27, 16, 0)


def entry(at: Any, kind: str, ritual: str, number: int = 1, **summary: Any) -> LogEntry:
    return LogEntry(at=at, kind=kind, ritual_kind=ritual, ritual_number=number, summary=summary)


REGISTER_KINDS = ("decision", "draw", "election", "meeting", "attendance", "minutes")


def digest_context(config: Mapping[str, Any], *, log: Sequence[LogEntry] = (), **kw: Any) -> Context:
    """A digest's context as the engine builds it: what the register keeps of the records
    (projected as the engine projects them), the rest of the log (welcomes) as it is."""
    members = kw.get("members", EVERYONE)
    ctx = context(config, log=[e for e in log if e.kind not in REGISTER_KINDS], **kw)
    register = register_of([(e.kind, e.ritual_kind, e.ritual_number, e.at, dict(e.summary))
                            for e in log if e.kind in REGISTER_KINDS], list(members.values()))
    return replace(ctx, register=register)


@cache
def simulated_week() -> tuple[list[LogEntry], list[RitualSummary]]:
    """Run the meeting calendar and the welcome for a week, and add what the other rituals
    (consent rounds, a draw, an election) recorded, as the engine's log would hold it."""
    meetings = Sim(MEETING, context(MEETINGS), paris(2026, 3, 16, 9, 0))
    meetings.send(Started())
    meetings.run_until(paris(2026, 3, 20, 17, 0))
    meetings.send(chose(ALICE, "main.20260324|r0", "yes"))
    meetings.send(chose(BOB, "main.20260324|r0", "yes"))
    meetings.send(chose(CHLOE, "main.20260324|r0", "no"))
    meetings.send(command(ALICE, "reunion", title="AG extraordinaire", text="le 7 avril à 18h30 à la mairie"))
    meetings.run_until(paris(2026, 3, 24, 20, 30))
    meetings.send(chose(BOB, "main.20260324|att", "missed"))
    meetings.send(chose(CHLOE, "main.20260324|att", "came"))
    meetings.run_until(FRIDAY - timedelta(minutes=1))

    welcome = Sim(WELCOME, context({"channels": ["general"]}, members=EVERYONE), paris(2026, 3, 25, 10, 0))
    welcome.send(Started())
    welcome.send(Joined(member=EVE, channel="general"))
    welcome.now = paris(2026, 3, 26, 11, 0)
    welcome.send(Joined(member=EVE, channel="general"))  # rejoin: greeted once, counted once

    # As the rituals record them: a round's counts, names by choice and where it ran; a
    # draw's panel; an election's outcome.
    others = [
        entry(paris(2026, 3, 18, 12, 0), "decision", "consent", 1, title="Last week's decision",
              outcome="adopted", circle_size=4, answered=4),
        entry(paris(2026, 3, 23, 18, 0), "decision", "consent", 2, title="Charte graphique", outcome="amended",
              circle_size=4, answered=1),
        entry(paris(2026, 3, 25, 18, 0), "decision", "consent", 2, title="Charte graphique", outcome="adopted",
              circle_size=4, answered=3, channels=["general"],
              names={"consent": ["Alice", "Bob"], "concern": ["Chloe"], "objection": [], "stand_aside": []}),
        entry(paris(2026, 3, 26, 9, 0), "decision", "consent", 3, title="@room <b>x</b>", outcome="objections",
              circle_size=4, answered=2, channels=["general"], names={"consent": ["Alice"], "objection": ["Bob"]}),
        entry(paris(2026, 3, 26, 12, 0), "draw", "draw", role="Délégué·e au conseil", status="done",
              panel=["chloe"], final_panel=["chloe"]),
        entry(paris(2026, 3, 27, 10, 0), "election", "election", role="Trésorerie", title="Trésorerie",
              outcome="elected", elected="Bob"),
    ]
    log = sorted([*meetings.log_entries("meeting"), *welcome.log_entries("welcome"), *others],
                 key=lambda e: e.at)
    open_rituals = [
        meetings.summary(),
        RitualSummary(kind="consent", number=4, status="open", summary={
            "title": "Budget 2027", "deadline": "2026-04-03T18:00:00+02:00", "answered": 2, "status": "open"}),
        RitualSummary(kind="election", number=2, status="open", summary={
            "title": "Secrétariat", "deadline": "2026-03-31T12:00:00+02:00", "status": "nominating"}),
    ]
    return log, open_rituals


def weekly_digest(**config: Any) -> tuple[Sim, list[Post]]:
    log, open_rituals = simulated_week()
    sim = Sim(DIGEST, digest_context({**DIGEST_CONFIG, **config}, log=log, open_rituals=open_rituals),
              paris(2026, 3, 20, 17, 0))
    sim.send(Started())
    out = sim.run_until(FRIDAY)
    return sim, [a for a in out if isinstance(a, Post)]


EXPECTED = """\
📰 Résumé de la semaine — Tiers-Lieux du Val, du vendredi 20 mars au vendredi 27 mars

Décisions
• Charte graphique : adoptée ✅ (mercredi 25 mars)
• @\u2060room <b>x</b> : non adoptée (objections) (jeudi 26 mars)

En cours
• Secrétariat — échéance mar. 31 mars à 12 h
• Budget 2027 — échéance ven. 3 avr. à 18 h — 2 réponses

Tirages au sort et élections
🎲 Délégué·e au conseil : Chloe
🗳 Trésorerie : Bob

Réunions à venir (14 prochains jours)
• mar. 7 avr. à 18 h 30 — AG extraordinaire (la mairie)

Bienvenue à Eve

Participation
• Tout le réseau : réponses 5/8 (63 %) ; présence 2/4 (50 %)"""

BY_ORGANISATION = """\
• Asso Alpha : réponses 3/4 (75 %) ; présence 2/2 (100 %)
• Coop Beta : réponses 2/2 (100 %) ; présence 0/1 (0 %)
• Sans organisation : réponses 0/2 (0 %) ; présence 0/1 (0 %)"""


def test_the_digest_says_what_happened_in_the_simulated_week() -> None:
    sim, digest = weekly_digest()
    assert [p.channel for p in digest] == ["general"]
    assert text(digest[0]) == EXPECTED
    assert len(EXPECTED.splitlines()) <= 30  # one screen
    assert sim.timers == {Ref(role="weekly"): paris(2026, 4, 3, 16, 0)}  # next Friday, summer time, 16:00 local


def test_the_chart_is_the_networks_trend_dated_with_no_organisation_in_it() -> None:
    _, digest = weekly_digest()
    image = digest[0].image
    assert image is not None and image.filename == "participation.png"
    png = base64.b64decode(image.png_b64)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with PILImage.open(io.BytesIO(png)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == size_for(2) == (640, 360)
        pixels = decoded.convert("RGB")
        # Both series are drawn, each in its colour-blind-safe colour.
        assert coloured(pixels, ANSWERS_COLOUR) > 200 and coloured(pixels, PRESENCE_COLOUR) > 100
    # The text equivalent: week by week, dated; last week's decision (4 of 4) then this week.
    alt = text_of(image.alt)
    assert alt == ("Graphique de la participation de tout le réseau, semaine par semaine :\n"
                   "• semaine jusqu'au vendredi 20 mars : réponses 100 %, présence —\n"
                   "• semaine jusqu'au vendredi 27 mars : réponses 63 %, présence 50 %")
    for org in ("Asso Alpha", "Coop Beta", "Sans organisation"):
        assert org not in alt


def test_per_organisation_figures_go_to_animateurs_privately_only() -> None:
    log, open_rituals = simulated_week()
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, open_rituals=open_rituals), FRIDAY)
    sim.send(Started())
    animateur = sim.send(command(ALICE, "resume", channel="dm"))
    assert isinstance(animateur[0], DirectMessage) and text(animateur[0]).endswith(
        EXPECTED.split("Participation\n")[1] + "\n" + BY_ORGANISATION)
    for out in (sim.send(command(BOB, "resume", channel="dm")), sim.send(command(BOB, "resume")),
                sim.send(command(ALICE, "resume"))):
        assert "Asso Alpha" not in text(out[0]) and "Tout le réseau" in text(out[0])  # type: ignore[arg-type]


def test_the_chart_is_deterministic() -> None:
    _, first = weekly_digest()
    _, second = weekly_digest()
    assert first[0].image is not None and second[0].image is not None
    assert first[0].image.png_b64 == second[0].image.png_b64
    png = base64.b64decode(first[0].image.png_b64)
    assert b"tIME" not in png and b"Software" not in png


def test_member_content_is_inert_on_both_platforms() -> None:
    _, digest = weekly_digest()
    html = render(digest[0].text, "html")
    mrkdwn = render(digest[0].text, "mrkdwn")
    for out in (html, mrkdwn):
        assert "@room" not in out and "@\u2060room" in out
        assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<b>Décisions</b>" in html  # the template's own bold still works
    assert "*Décisions*" in mrkdwn


def test_a_week_with_nothing_says_so_in_one_line_or_stays_silent() -> None:
    quiet = Sim(DIGEST, context({**DIGEST_CONFIG, "when_empty": "say"}), paris(2026, 3, 20, 17, 0))
    quiet.send(Started())
    out = [a for a in quiet.run_until(FRIDAY) if isinstance(a, Post)]
    assert [text(p) for p in out] == ["📰 Résumé de la semaine — Tiers-Lieux du Val : rien de neuf cette semaine."]

    silent = Sim(DIGEST, context(DIGEST_CONFIG), paris(2026, 3, 20, 17, 0))  # silent by default
    silent.send(Started())
    assert [a for a in silent.run_until(FRIDAY) if isinstance(a, Post)] == []
    # Asked for, it always answers (bob privately: he is not an animateur).
    asked = silent.send(command(BOB, "resume"))
    assert [text(p) for p in asked if isinstance(p, PrivateNote)] == [
        "📰 Résumé de la semaine — Tiers-Lieux du Val : rien de neuf cette semaine."]


def test_resume_answers_a_member_privately_and_an_animateur_in_the_channel() -> None:
    log, open_rituals = simulated_week()
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, open_rituals=open_rituals), paris(2026, 3, 26, 8, 30))
    sim.send(Started())
    mine = sim.send(command(BOB, "resume"))
    # A member's `resume` answers them alone: the figures are in the text, no chart, no post.
    assert [(type(a).__name__, getattr(a, "member", None)) for a in mine] == [("PrivateNote", "bob")]
    out = sim.send(command(ALICE, "resume"))
    assert [type(a).__name__ for a in out] == ["Post"] and out[0].image is not None  # type: ignore[union-attr]
    assert text(mine[0]) == text(out[0])  # type: ignore[arg-type]
    body = text(out[0])  # type: ignore[arg-type]
    assert body.startswith("📰 Résumé de la semaine — Tiers-Lieux du Val, du jeudi 19 mars au jeudi 26 mars")
    assert "@\u2060room" not in body  # recorded at 9:00 on Thursday: not yet
    assert "Trésorerie" not in body
    dm = sim.send(command(BOB, "resume", channel="dm"))
    assert isinstance(dm[0], DirectMessage) and dm[0].member == "bob"


def test_no_image_where_the_platform_cannot_show_one_the_figures_are_in_the_text() -> None:
    log, open_rituals = simulated_week()
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, open_rituals=open_rituals,
                                     capabilities=Capabilities(images=False)), paris(2026, 3, 27, 16, 0))
    out = sim.send(command(ALICE, "resume"))
    assert isinstance(out[0], Post) and out[0].image is None
    assert "Tout le réseau : réponses 5/8 (63 %) ; présence 2/4 (50 %)" in text(out[0])


def test_a_late_digest_is_skipped_never_doubled() -> None:
    sim = Sim(DIGEST, context(DIGEST_CONFIG), paris(2026, 3, 20, 17, 0))
    sim.send(Started())
    out = sim.run_until(paris(2026, 3, 28, 9, 0), down_until=paris(2026, 3, 28, 9, 0))  # 17 h late
    assert [a for a in out if isinstance(a, Post)] == []
    assert [a for a in out if isinstance(a, SetTimer)] == [SetTimer(name="weekly", due_at=paris(2026, 4, 3, 16, 0))]
    sim2 = Sim(DIGEST, context({**DIGEST_CONFIG, "when_empty": "say"}), paris(2026, 3, 20, 17, 0))
    sim2.send(Started())
    out2 = sim2.run_until(paris(2026, 3, 27, 20, 0), down_until=paris(2026, 3, 27, 20, 0))  # 4 h late
    assert len([a for a in out2 if isinstance(a, Post)]) == 1


def test_long_sections_are_capped() -> None:
    log = [entry(paris(2026, 3, 23, 9, i), "decision", "consent", i + 1, title=f"Décision {i}", outcome="adopted")
           for i in range(9)]
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log), FRIDAY)
    body = text(sim.send(command(BOB, "resume"))[0])  # type: ignore[arg-type]
    assert "• Décision 4 : adoptée ✅ (lundi 23 mars)\n… et 4 de plus" in body
    assert "Décision 5" not in body


def test_per_channel_scope_shows_each_channel_its_news() -> None:
    log = [
        entry(paris(2026, 3, 23, 9, 0), "decision", "consent", 1, title="Pour le comité", outcome="adopted",
              channels=["comite"]),
        entry(paris(2026, 3, 23, 10, 0), "decision", "consent", 2, title="Pour tous", outcome="adopted"),
    ]
    ctx = digest_context({"channels": ["general", "comite"], "scope": "channel"}, log=log,
                  channels={"general": ["alice", "bob"], "comite": ["alice"]})
    sim = Sim(DIGEST, ctx, FRIDAY - timedelta(hours=1))
    sim.send(Started())
    out = [a for a in sim.run_until(FRIDAY) if isinstance(a, Post)]
    by_channel = {p.channel: text(p) for p in out}
    assert "Pour le comité" in by_channel["comite"] and "Pour tous" in by_channel["comite"]
    assert "Pour le comité" not in by_channel["general"] and "Pour tous" in by_channel["general"]


def test_schedule_shows_the_digest_firings_in_local_time() -> None:
    got = DIGEST.upcoming(DIGEST_CONFIG, TZ, paris(2026, 3, 20, 17, 0), 3)
    assert [(at.isoformat(), what) for at, what in got] == [
        ("2026-03-27T16:00:00+01:00", "digest.schedule.post"),
        ("2026-04-03T16:00:00+02:00", "digest.schedule.post"),
        ("2026-04-10T16:00:00+02:00", "digest.schedule.post"),
    ]


def test_english_digest() -> None:
    log, open_rituals = simulated_week()
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, open_rituals=open_rituals, locale="en"), FRIDAY)
    out = sim.send(command(BOB, "resume"))
    body = text(out[0], "en")  # type: ignore[arg-type]
    assert body.startswith("📰 Weekly digest — Tiers-Lieux du Val, from Friday 20 March to Friday 27 March")
    assert "• Whole network: answers 5/8 (63%); attendance 2/4 (50%)" in body


def test_every_key_the_digest_uses_exists_in_both_languages() -> None:
    from bot.kernel.i18n import has_key

    _, digest = weekly_digest()
    keys = used_keys(digest)
    assert {k for k in keys if not (has_key(k, "fr") and has_key(k, "en"))} == set()


def text_of(msg: Msg) -> str:
    from bot.kernel.i18n import render_plain

    return render_plain(msg).replace("\u00a0", " ").replace("\u202f", " ")


def coloured(image: PILImage.Image, colour: str) -> int:
    """How many pixels have exactly this colour."""
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for px in image.getdata() if px == target)




def _draw(at: Any, number: int, status: str, panel: list[str], final: list[str], **more: Any) -> LogEntry:
    return entry(at, "draw", "draw", number, role=f"Rôle {number}", status=status, k=len(panel), panel=panel,
                 final_panel=final, **more)


def selections_of(log: Sequence[LogEntry], locale: str = "fr") -> list[str]:
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, locale=locale), FRIDAY)
    body = text(sim.send(command(BOB, "resume"))[0], locale)  # type: ignore[arg-type]
    return [line for line in body.splitlines() if line.startswith("🎲")]


@pytest.mark.parametrize(
    ("records", "fr", "en"),
    [
        # Drawn, someone declined and was replaced, then settled: the final panel only.
        ([_draw(paris(2026, 3, 23, 9, 0), 1, "drawn", ["alice", "bob"], ["alice", "bob"]),
          _draw(paris(2026, 3, 24, 9, 0), 1, "done", ["alice", "bob"], ["alice", "chloe"])],
         "🎲 Rôle 1 : Alice, Chloe", "🎲 Rôle 1: Alice, Chloe"),
        # Still waiting for answers: nobody named yet (one of them may decline).
        ([_draw(paris(2026, 3, 23, 9, 0), 2, "drawn", ["alice", "bob"], ["alice", "bob"])],
         "🎲 Rôle 2 : tirage fait, en attente des réponses des personnes tirées",
         "🎲 Rôle 2: drawn, waiting for the answers of those drawn"),
        # Cancelled (at any phase): said so, never ": —".
        ([_draw(paris(2026, 3, 23, 9, 0), 3, "cancelled", ["alice"], [])],
         "🎲 Rôle 3 : annulé", "🎲 Rôle 3: cancelled"),
        ([_draw(paris(2026, 3, 23, 9, 0), 4, "drawn", ["alice", "bob"], ["alice", "bob"]),
          _draw(paris(2026, 3, 24, 9, 0), 4, "cancelled", ["alice", "bob"], [], cancelled_by="alice")],
         "🎲 Rôle 4 : annulé", "🎲 Rôle 4: cancelled"),
        # Settled short of seats: who holds one, and that it is incomplete; nobody at all.
        ([_draw(paris(2026, 3, 24, 9, 0), 5, "incomplete", ["alice", "bob"], ["bob"])],
         "🎲 Rôle 5 : Bob (panel incomplet)", "🎲 Rôle 5: Bob (incomplete panel)"),
        ([_draw(paris(2026, 3, 24, 9, 0), 6, "incomplete", ["alice", "bob"], [])],
         "🎲 Rôle 6 : panel incomplet", "🎲 Rôle 6: incomplete panel"),
    ],
)
def test_a_draw_shows_its_final_panel_or_what_became_of_it(records: list[LogEntry], fr: str, en: str) -> None:
    assert selections_of(records) == [fr]
    assert selections_of(records, "en") == [en]


def test_a_meeting_whose_attendance_is_still_taken_is_not_no_meeting() -> None:
    log = [entry(paris(2026, 3, 25, 18, 0), "decision", "consent", 1, title="Budget", outcome="adopted",
                 circle_size=4, answered=2)]
    counting = RitualSummary(kind="meeting", number=1, status="open", summary={
        "upcoming": [], "recent": [],
        "counting": [{"title": "AG", "start": "2026-03-26T18:30:00+01:00", "channels": ["general"]}]})
    for locale, line in (("fr", "• Tout le réseau : réponses 2/4 (50 %) ; présence en cours de pointage (AG)"),
                         ("en", "• Whole network: answers 2/4 (50%); attendance still being taken (AG)")):
        sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, open_rituals=[counting], locale=locale), FRIDAY)
        body = text(sim.send(command(BOB, "resume"))[0], locale)  # type: ignore[arg-type]
        assert line in body.splitlines()
        assert "pas de réunion" not in body and "no meeting" not in body


@pytest.mark.parametrize(("locale", "cafes", "line"), [
    ("fr", 1, "☕ Café-réseau : 1 café entre organisations ce mois-ci"),
    ("fr", 12, "☕ Café-réseau : 12 cafés entre organisations ce mois-ci"),
    ("en", 12, "☕ Network coffee: 12 coffees across organisations this month"),
])
def test_the_cafes_of_the_month_are_one_line_with_a_count_and_no_names(locale: str, cafes: int, line: str) -> None:
    # The café's record says how many pairs were introduced (privately); the digest says only that.
    log = [entry(paris(2026, 3, 23, 10, 0), "cafe", "cafe", 1, round="2026-03-23", cafes=cafes, people=2 * cafes,
                 alone=0, trios=0, seed="s")]
    sim = Sim(DIGEST, digest_context(DIGEST_CONFIG, log=log, locale=locale), paris(2026, 3, 20, 17, 0))
    sim.send(Started())
    (post,) = [a for a in sim.run_until(FRIDAY) if isinstance(a, Post)]  # a week with only cafés is news
    assert line in text(post, locale).splitlines()
