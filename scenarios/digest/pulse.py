"""The satisfaction pulse in the digest: its closed record read back (tolerantly), said in text
(the score, the trend, the splits, the anonymous comments) and drawn as the chart's lower panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kernel.i18n import Lines, Month, Msg, Param

SHOWN_FROM = 5
"""The pulse's own threshold, checked again here: a record that says fewer is never shown."""


@dataclass(frozen=True)
class Split:
    group: str
    """An organisation or a territory; "" when not given."""
    answers: int
    tenths: int


@dataclass(frozen=True)
class MonthScore:
    year: int
    month: int
    tenths: int | None
    """The first question's mean in tenths; None when fewer than 5 answered (not shown)."""


@dataclass(frozen=True)
class PulseNews:
    """A closed pulse with enough answers to be shown: only totals, never a person."""

    at: datetime
    month: Month
    answered: int
    asked: int
    tenths: tuple[int, ...]
    labels: tuple[str, ...]
    """The configured questions (empty: the catalog's one question)."""
    comments: tuple[str, ...]
    by_organisation: tuple[Split, ...]
    by_territory: tuple[Split, ...]
    trend: tuple[MonthScore, ...]


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _month(v: Any) -> tuple[int, int] | None:
    if not isinstance(v, str) or len(v) != 7 or v[4] != "-" or not (v[:4] + v[5:]).isdigit():
        return None
    year, month = int(v[:4]), int(v[5:])
    return (year, month) if 1 <= month <= 12 else None


def _splits(v: Any) -> tuple[Split, ...]:
    if not isinstance(v, list):
        return ()
    out: list[Split] = []
    for item in v:
        if not isinstance(item, Mapping) or not isinstance(item.get("group"), str):
            return ()
        answers, scores = _int(item.get("answers")), item.get("tenths")
        first = _int(scores[0]) if isinstance(scores, list) and scores else None
        if answers is None or answers < SHOWN_FROM or first is None:
            return ()  # a split is shown whole or not at all
        out.append(Split(group=item["group"], answers=answers, tenths=first))
    return tuple(out)


def read(summary: Mapping[str, Any], at: datetime) -> PulseNews | None:
    """A "pulse" record → what the digest may show; None when it has fewer than 5 answers or
    cannot be read."""
    answered, asked, month = _int(summary.get("answered")), _int(summary.get("asked")), _month(summary.get("month"))
    tenths = summary.get("tenths")
    if (summary.get("shown") is not True or answered is None or answered < SHOWN_FROM or month is None
            or not isinstance(tenths, list) or not tenths or not all(_int(t) is not None for t in tenths)):
        return None
    labels = summary.get("labels")
    comments = summary.get("comments")
    trend: list[MonthScore] = []
    for p in summary.get("trend") or []:
        if isinstance(p, Mapping) and (m := _month(p.get("month"))) is not None:
            shown = _int(p.get("tenths")) if (_int(p.get("answered")) or 0) >= SHOWN_FROM else None
            trend.append(MonthScore(year=m[0], month=m[1], tenths=shown))
    return PulseNews(
        at=at, month=Month(year=month[0], month=month[1]), answered=answered, asked=asked or answered,
        tenths=tuple(int(t) for t in tenths),
        labels=tuple(x for x in labels if isinstance(x, str)) if isinstance(labels, list) else (),
        comments=tuple(c for c in comments if isinstance(c, str) and c.strip()) if isinstance(comments, list) else (),
        by_organisation=_splits(summary.get("by_organisation")), by_territory=_splits(summary.get("by_territory")),
        trend=tuple(trend))


def score(tenths: int) -> Msg:
    """A mean with one decimal, in the reader's language (« 3,8 », "3.8")."""
    return Msg("digest.pulse.score", units=tenths // 10, tenth=tenths % 10)


def _split_line(key: str, splits: Sequence[Split], nobody: str) -> Msg:
    items: list[Param] = [Msg("digest.pulse.split_item", group=s.group or Msg(nobody), score=score(s.tenths),
                              answers=s.answers) for s in splits]
    return Msg(key, items=Lines(items=items, sep=", "))


def section(p: PulseNews, max_items: int) -> Msg:
    """The digest's pulse section: the score (each question's), the trend in text, the splits
    shown, the comments (anonymous, in the pulse's seeded order, capped)."""
    lines: list[Param] = []
    if len(p.tenths) > 1:
        for i, t in enumerate(p.tenths):
            label: Param = p.labels[i] if i < len(p.labels) else Msg("digest.pulse.question", n=i + 1)
            lines.append(Msg("digest.pulse.question_line", question=label, score=score(t)))
    trend = [m for m in p.trend if m.tenths is not None]
    if len(trend) > 1:
        items: list[Param] = [Msg("digest.pulse.trend_item", month=Month(year=m.year, month=m.month),
                                  score=score(m.tenths)) for m in trend if m.tenths is not None]
        lines.append(Msg("digest.pulse.trend", items=Lines(items=items, sep=" → ")))
    if p.by_organisation:
        lines.append(_split_line("digest.pulse.by_organisation", p.by_organisation, "digest.pulse.no_organisation"))
    if p.by_territory:
        lines.append(_split_line("digest.pulse.by_territory", p.by_territory, "digest.pulse.no_territory"))
    if p.comments:
        quoted: list[Param] = [Msg("digest.pulse.comment", text=c) for c in p.comments[:max_items]]
        if len(p.comments) > max_items:
            quoted.append(Msg("digest.more", count=len(p.comments) - max_items))
        lines.append(Msg("digest.pulse.comments", items=Lines(items=quoted)))
    head = (Msg("digest.pulse.head_one", month=p.month, score=score(p.tenths[0]), answered=p.answered, asked=p.asked)
            if len(p.tenths) == 1 else
            Msg("digest.pulse.head_several", month=p.month, answered=p.answered, asked=p.asked))
    return Msg("digest.section.pulse", lines=Lines(items=[head, *lines]))
