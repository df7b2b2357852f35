"""The charter reminder: said once a month in the weekly digest (or posted, `where = "post"`)
with who does what, naming people without pinging them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.kernel.i18n import Mention, Msg
from bot.kernel.model import Post, Record, Started
from scenarios.charter import KIND as CHARTER
from scenarios.digest import KIND as DIGEST
from tests.unit.test_digest_weekly import DIGEST_CONFIG, digest_context, entry
from tests.unit.test_meeting_support import Sim, context, paris, posts, text


def reminder(**config: Any) -> Sim:
    ctx = context({"channels": ["general"], "rrule": "FREQ=MONTHLY;BYDAY=1MO", "time": "09:00", **config})
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


def test_by_default_the_reminder_is_no_post_but_a_record_the_digest_reads() -> None:
    # Issue 15: a monthly post for everyone is one interruption more; the weekly digest says it.
    sim = reminder()
    out = sim.run_until(paris(2026, 4, 6, 9, 30))  # the first Monday of April
    assert posts(out) == []
    [rec] = [a for a in out if isinstance(a, Record)]
    assert rec.kind == "charter" and rec.summary == {"channels": ["general"], "due_at": paris(2026, 4, 6, 9, 0).isoformat()}
    assert sim.timers, "the next one is scheduled"


def _digest(log_at: Any, **kw: Any) -> list[Post]:
    ctx = digest_context(DIGEST_CONFIG, log=[entry(log_at, "charter", "charter", channels=["general"])], **kw)
    sim = Sim(DIGEST, ctx, paris(2026, 4, 6, 8, 0))
    sim.send(Started())
    return posts(sim.run_until(paris(2026, 4, 17, 17, 0)))  # two Fridays: the 10th and the 17th


def test_the_first_digest_after_the_reminder_says_the_charter_once_and_mentions_nobody() -> None:
    [first] = _digest(paris(2026, 4, 6, 9, 0))
    # A week with nothing else is not silent: the month's reminder is news enough.
    assert first.text.key == "digest.body"
    shown = text(first)
    assert "Pourquoi nous sommes ensemble (le rappel du mois)" in shown and "Nous coopérons" in shown
    assert "Qui fait quoi" in shown and "animation : Alice" in shown
    assert mentions(first.text) == []
    en = text(first, "en")
    assert "Why we are together (this month's reminder)" in en and "facilitation: Alice" in en


def test_a_per_channel_digest_says_the_charter_only_in_the_reminder_s_channels() -> None:
    config = {**DIGEST_CONFIG, "channels": ["general", "bureau"], "scope": "channel"}
    ctx = digest_context(config, log=[entry(paris(2026, 4, 6, 9, 0), "charter", "charter", channels=["general"])],
                         channels={"general": ["alice", "bob"], "bureau": ["alice"]})
    sim = Sim(DIGEST, ctx, paris(2026, 4, 6, 8, 0))
    sim.send(Started())
    out = posts(sim.run_until(paris(2026, 4, 10, 17, 0)))
    assert [p.channel for p in out] == ["general"]


def test_no_reminder_in_the_period_no_charter_in_the_digest() -> None:
    assert _digest(paris(2026, 4, 6, 9, 0) - timedelta(days=30)) == []


def test_where_post_posts_the_reminder_in_its_channels() -> None:
    sim = reminder(where="post")
    [post] = posts(sim.run_until(paris(2026, 4, 6, 9, 30)))  # the first Monday of April
    assert post.channel == "general" and post.valid_until == paris(2026, 4, 6, 15, 0)
    shown = text(post)
    assert "Pourquoi nous sommes ensemble" in shown and "Alice" in shown
    # Role holders are named in words: a monthly reminder pings no one.
    assert mentions(post.text) == []


def test_a_reminder_missed_during_downtime_is_skipped_and_logged_not_posted_late() -> None:
    sim = reminder(where="post")
    out = sim.run_until(paris(2026, 4, 6, 18, 0), down_until=paris(2026, 4, 6, 16, 0))
    assert [a for a in out if isinstance(a, Post)] == []
    [skipped] = [a for a in out if isinstance(a, Record)]
    assert skipped.kind == "skipped" and sim.timers  # and the next one is scheduled
