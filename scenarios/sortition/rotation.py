"""Rotation from the network's log: earlier draws of a role, who they drew, who is excluded
now and how often each person served."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.kernel.commands import fold
from bot.kernel.scenario import LogEntry
from scenarios.sortition.draw import Exclusion
from scenarios.sortition.pool import Person


class PastDraw(BaseModel):
    number: int
    at: datetime
    final_panel: list[str]


def previous_draws(log: Sequence[LogEntry], role: str) -> list[PastDraw]:
    """Earlier draws of the same role, oldest first; the latest record of each draw wins
    (a draw records when drawn, then when its panel is settled)."""
    latest: dict[int, LogEntry] = {}
    for e in log:
        if e.kind != "draw" or e.ritual_kind != "draw":
            continue
        if fold(str(e.summary.get("role", ""))) != fold(role):
            continue
        if e.ritual_number not in latest or latest[e.ritual_number].at <= e.at:
            latest[e.ritual_number] = e
    draws = [
        PastDraw(number=n, at=e.at, final_panel=sorted(str(m) for m in e.summary.get("final_panel", [])))
        for n, e in latest.items()
        if e.summary.get("status") != "cancelled"
    ]
    return sorted(draws, key=lambda d: (d.at, d.number))


def exclusions(past: Sequence[PastDraw], rotation: int, people: Sequence[Person]) -> list[Exclusion]:
    """Members of the pool drawn in the last `rotation` draws of the role."""
    if rotation <= 0:
        return []
    by_id = {p.id: p for p in people}
    out: dict[str, Exclusion] = {}
    for d in past[-rotation:]:
        for m in d.final_panel:
            if m in by_id:
                out[m] = Exclusion(by_id[m], "rotation", d.number)
    return [out[m] for m in sorted(out)]


def history_counts(past: Sequence[PastDraw], pool: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in past:
        for m in d.final_panel:
            if m in pool:
                counts[m] = counts.get(m, 0) + 1
    return dict(sorted(counts.items()))


EXCLUDE_REASONS = ("max_consecutive", "holds_seat", "excluded")
"""Why a starter leaves someone out (`params["exclude"]`): reached the role's limit of terms in
a row, keeps a seat of the role, or left out by the animateurs."""


def asked_exclusions(asked: Any, people: Sequence[Person]) -> list[Exclusion]:
    """`params["exclude"]`: member keys, or `{"id": key, "reason": ...}`; those of the pool are
    left out with their reason (anyone else is not in the draw anyway)."""
    by_id = {p.id: p for p in people}
    out: dict[str, Exclusion] = {}
    for item in asked if isinstance(asked, list | tuple) else []:
        key, reason = (item, "excluded") if isinstance(item, str) else (
            (item.get("id"), item.get("reason")) if isinstance(item, dict) else (None, None))
        if isinstance(key, str) and key in by_id and key not in out:
            out[key] = Exclusion(by_id[key], reason if reason in EXCLUDE_REASONS else "excluded")
    return [out[k] for k in sorted(out)]
