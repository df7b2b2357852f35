"""The charter reminder: posted on its schedule with who does what, naming people without pinging them."""

from __future__ import annotations

from bot.kernel.i18n import Mention, Msg
from bot.kernel.model import Post, Record, Started
from scenarios.charter import KIND as CHARTER
from tests.unit.test_meeting_support import Sim, context, paris, posts, text


def reminder() -> Sim:
    ctx = context({"channels": ["general"], "rrule": "FREQ=MONTHLY;BYDAY=1MO", "time": "09:00"})
    sim = Sim(CHARTER, ctx, paris(2026, 3, 2, 10, 0))
    sim.send(Started())
    return sim


def mentions(msg: object) -> list[Mention]:
    found: list[Mention] = []

    def walk(p: object) -> None:
        if isinstance(p, Mention):
            found.append(p)
        elif isinstance(p, Msg):
            for v in p.params.values():
                walk(v)
        elif hasattr(p, "items"):
            for v in p.items:  # Lines
                walk(v)

    walk(msg)
    return found


def test_the_monthly_post_says_who_does_what_and_mentions_nobody() -> None:
    sim = reminder()
    [post] = posts(sim.run_until(paris(2026, 4, 6, 9, 30)))  # the first Monday of April
    assert post.channel == "general" and post.valid_until == paris(2026, 4, 6, 15, 0)
    shown = text(post)
    assert "Pourquoi nous sommes ensemble" in shown and "Alice" in shown
    # Role holders are named in words: a monthly reminder pings no one.
    assert mentions(post.text) == []


def test_a_reminder_missed_during_downtime_is_skipped_and_logged_not_posted_late() -> None:
    sim = reminder()
    out = sim.run_until(paris(2026, 4, 6, 18, 0), down_until=paris(2026, 4, 6, 16, 0))
    assert [a for a in out if isinstance(a, Post)] == []
    [skipped] = [a for a in out if isinstance(a, Record)]
    assert skipped.kind == "skipped" and sim.timers  # and the next one is scheduled
