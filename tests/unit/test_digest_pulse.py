"""The satisfaction pulse in the weekly digest, fr/en, from the pulse's own records on a fake clock:
the score with one decimal, the trend in text and in the chart, the splits and anonymous comments;
once only, never from fewer than 5 answers."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from PIL import Image as PILImage

from bot.kernel.model import Post, Started
from bot.kernel.scenario import LogEntry
from scenarios.digest import KIND as DIGEST
from scenarios.digest.chart import PULSE_COLOUR, size_for
from tests.unit.test_digest_weekly import coloured, digest_context
from tests.unit.test_meeting_support import Sim, paris, text
from tests.unit.test_pulse import BY_KEY, CONFIG, PEOPLE, answer, started

DIGEST_CONFIG = {"channels": ["general"], "rrule": "FREQ=WEEKLY;BYDAY=FR", "time": "16:00"}
ALPHA = ("alice", "bruno", "chloe", "dina", "eloi")
BETA = ("fanny", "gael", "hana", "ines", "jules")


def months_of_pulses(typed: dict[int, dict[str, str]], locale: str = "fr") -> list[LogEntry]:
    """The pulse run over the months given (month → who typed what), its records as the log keeps them."""
    sim = started(locale, CONFIG)
    for month, answers in typed.items():
        opens = sim.kind.upcoming(CONFIG, paris(2027, 1, 1).tzinfo, paris(2027, month, 1, 0, 0), 1)[0][0]  # type: ignore[arg-type]
        sim.run_until(opens)
        for who, line in answers.items():
            answer(sim, who, line)
        sim.run_until(opens + timedelta(days=6))
    return sim.log_entries("pulse")


def digests(log: list[LogEntry], until: datetime, locale: str = "fr",
            members_of: dict[str, list[str]] | None = None, **config: Any) -> list[tuple[datetime, Post]]:
    ctx = digest_context({**DIGEST_CONFIG, **config}, log=log, locale=locale, members=BY_KEY,
                         channels=members_of or {"general": sorted(BY_KEY)})
    sim = Sim(DIGEST, ctx, paris(2027, 2, 26, 17, 0))
    sim.send(Started())
    sim.run_until(until)
    return [(e.at, e.action) for e in sim.emitted if isinstance(e.action, Post)]


THREE_MONTHS = {1: {k: "meteo 3" for k in ALPHA},
                2: {k: "meteo 4" for k in (*ALPHA, "fanny")},
                3: {**{k: "meteo 4 « le café de mars »" if k == "alice" else "meteo 5" for k in ALPHA},
                    **{k: "meteo 2 « trop de réunions »" if k == "fanny" else "meteo 3" for k in BETA}}}


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_first_digest_after_the_close_carries_the_score_its_trend_and_the_comments(locale: str) -> None:
    log = months_of_pulses(THREE_MONTHS, locale)
    posted = digests(log, paris(2027, 3, 20, 17, 0), locale)
    carrying = [(at, p) for at, p in posted if "🌦" in text(p, locale)]
    # March's pulse closes on Sunday 7 March: the digest of Friday 12 March carries it, and only that one.
    assert [at for at, _ in carrying] == [paris(2027, 3, 12, 16, 0)]
    body = text(carrying[0][1], locale).splitlines()
    if locale == "fr":
        assert "🌦 Météo du réseau de mars 2027 : 3,8 sur 5 (10 réponses sur 11)" in body
        assert "Tendance : janvier 2027 3,0 → février 2027 4,0 → mars 2027 3,8" in body
        assert "Par organisation : Alpha 4,8 (5 réponses), Beta 2,8 (5 réponses)" in body
        assert "Commentaires (anonymes) :" in body
        assert {"« le café de mars »", "« trop de réunions »"} <= set(body)
    else:
        assert "🌦 Network weather, March 2027: 3.8 out of 5 (10 answers of 11)" in body
        assert "Trend: January 2027 3.0 → February 2027 4.0 → March 2027 3.8" in body
        assert "By organisation: Alpha 4.8 (5 answers), Beta 2.8 (5 answers)" in body
        assert {"“le café de mars”", "“trop de réunions”"} <= set(body)
    assert not any(line.startswith(("Par territoire", "By territory")) for line in body)  # Nord 6, Sud 4
    flat = "\n".join(body)
    assert not any(m.name in flat for m in PEOPLE)  # nobody named


def test_the_chart_has_the_pulse_panel_and_its_alt_text_says_the_months() -> None:
    log = months_of_pulses(THREE_MONTHS)
    (_, post) = next((at, p) for at, p in digests(log, paris(2027, 3, 12, 17, 0)) if "🌦" in text(p))
    assert post.image is not None
    png = PILImage.open(io.BytesIO(base64.b64decode(post.image.png_b64))).convert("RGB")
    assert png.size == size_for(0, pulse=True)  # no week measured: the pulse's panel alone
    assert coloured(png, PULSE_COLOUR) > 100
    from tests.unit.test_digest_weekly import text_of

    alt = text_of(post.image.alt)
    assert alt.startswith("Météo du réseau, note moyenne de 1 à 5, mois par mois :\n• janvier 2027 : 3,0")
    assert alt.endswith("• mars 2027 : 3,8")


def test_a_longer_period_still_shows_the_results_once() -> None:
    log = months_of_pulses(THREE_MONTHS)
    posted = digests(log, paris(2027, 3, 27, 17, 0), days=14)
    assert [at for at, p in posted if "🌦" in text(p)] == [paris(2027, 3, 12, 16, 0)]


def test_fewer_than_five_answers_show_nothing_in_the_digest() -> None:
    log = months_of_pulses({3: {k: "meteo 1 « nul »" for k in ALPHA[:4]}})
    assert [e.summary["answered"] for e in log] == [0, 0, 4]
    assert digests(log, paris(2027, 3, 20, 17, 0)) == []  # a week with nothing: the digest stays silent
    assert digests(log, paris(2027, 3, 20, 17, 0), when_empty="say")[0][1].text.key == "digest.empty"


def test_a_digest_per_channel_carries_the_pulse_in_the_channels_it_asked() -> None:
    log = months_of_pulses(THREE_MONTHS)  # the pulse asks the members of "general"
    posted = digests(log, paris(2027, 3, 12, 17, 0), members_of={"general": sorted(BY_KEY), "bureau": ["alice"]},
                     scope="channel", when_empty="say", channels=["general", "bureau"])
    told = {p.channel: "🌦" in text(p) for at, p in posted if at == paris(2027, 3, 12, 16, 0)}
    assert told == {"general": True, "bureau": False}
