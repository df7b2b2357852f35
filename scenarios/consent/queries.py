"""`decisions`: the network's outcomes, read from the decision register, and its open rounds (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.kernel.i18n import Lines, Msg, When
from bot.kernel.inputs import DECISIONS_COUNT
from bot.kernel.model import Action, Member, PrivateNote, ReplyHandle
from bot.kernel.register import Entry
from bot.kernel.scenario import Context

DEFAULT_COUNT = 10
MAX_COUNT = DECISIONS_COUNT.hi
OUTCOMES = ("adopted", "objections", "no_quorum", "withdrawn", "lapsed", "cancelled")


def _when(value: Any) -> When | None:
    if isinstance(value, datetime):
        return When(at=value, style="short")
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
        return When(at=at, style="short") if at.tzinfo is not None else None
    return None


def _outcome_word(outcome: Any) -> Msg:
    return Msg(f"consent.outcome.word_{outcome}" if outcome in OUTCOMES else "consent.outcome.word_unknown")


def _latest(entries: list[Entry]) -> list[Entry]:
    """Decisions, the one whose last record is newest first (an amended round is one entry)."""
    return sorted(entries, key=lambda e: e.recorded_at, reverse=True)


def _closed(e: Entry) -> When:
    return When(at=e.closed_at or e.recorded_at, style="short")


def _line(e: Entry) -> Msg:
    if e.data.get("subject") == "election":
        return Msg("consent.decisions.line_election", number=e.number, title=e.title,
                   outcome=_outcome_word(e.status), when=_closed(e))
    return Msg("consent.decisions.line", number=e.number, title=e.title, version=e.version,
               outcome=_outcome_word(e.status), when=_closed(e))


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _detail(e: Entry) -> Msg:
    counts = e.counts
    lines: list[Msg] = [
        Msg("consent.decisions.detail_head", number=e.number, title=e.title, outcome=_outcome_word(e.status),
            author=str(e.data.get("author") or "")),
        Msg("consent.outcome.counts", consent=counts.get("consent", 0), concern=counts.get("concern", 0),
            objection=counts.get("objection", 0), stand_aside=counts.get("stand_aside", 0),
            answered=_int(e.data.get("answered")), circle=_int(e.data.get("circle_size"))),
    ]
    if not e.anonymous:
        answers = e.answers_of()
        for choice in ("consent", "concern", "objection", "stand_aside"):
            people = [a.name for a in answers if a.choice == choice]
            if people:
                lines.append(Msg(f"consent.outcome.names_{choice}", names=Lines(items=list(people), sep=", ")))
    else:
        lines.append(Msg("consent.proposal.anonymous"))
    current = e.versions[-1] if e.versions else None
    for o in current.objections if current else ():
        if o.choice != "objection":
            continue
        reason: Msg | str = o.reason if o.reason else Msg("consent.objection.no_reason")
        if o.by:
            lines.append(Msg("consent.outcome.objection_line", who=o.by, reason=reason))
        else:
            lines.append(Msg("consent.outcome.objection_line_anonymous", reason=reason))
    if len(e.versions) > 1:
        lines.append(Msg("consent.decisions.history_head"))
        for v in e.versions:
            lines.append(Msg(
                "consent.decisions.history_line", version=v.version, title=v.title,
                outcome=_outcome_word(v.outcome) if v.outcome != "amended" else Msg("consent.outcome.word_amended"),
                when=When(at=v.closed_at or e.recorded_at, style="short")))
    if _int(e.data.get("late")):
        lines.append(Msg("consent.outcome.late", count=_int(e.data.get("late"))))
    return Msg("consent.decisions.detail", lines=Lines(items=list(lines)))


def answer_decisions(
    ctx: Context,
    member: Member,
    args: Mapping[str, Any],
    now: datetime,
    *,
    channel: str = "dm",
    reply_to: ReplyHandle | None = None,
) -> list[Action]:
    """The answer to `decisions [#N | count]`, privately to who asked. `ctx.register` holds
    every decision of the register, `ctx.open_rituals` the open rounds' summaries."""
    entries = ctx.register.of_kind("decision")
    text: Msg
    if "number" in args:
        number = int(args["number"])
        found = [e for e in entries if e.number == number and e.ritual_kind == "consent"]
        if not found:
            found = [e for e in entries if e.number == number]
        text = _detail(found[-1]) if found else Msg("consent.decisions.unknown", number=number)
        return [PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)]
    count = max(1, min(int(args.get("count", DEFAULT_COUNT)), MAX_COUNT))
    lines: list[Msg] = []
    pending = [
        r
        for r in ctx.open_rituals
        if (r.kind == "consent" and r.summary.get("status") in ("questions", "answers"))
        or (r.kind == "election" and r.summary.get("phase") == "consent" and r.summary.get("deadline"))
    ]
    if pending:
        lines.append(Msg("consent.decisions.open_head"))
        for r in sorted(pending, key=lambda r: (r.kind, r.number)):
            deadline = _when(r.summary.get("deadline"))
            lines.append(
                Msg(
                    "consent.decisions.open_line_election" if r.kind == "election" else "consent.decisions.open_line",
                    number=r.number,
                    title=str(r.summary.get("title", "")),
                    nominee=str(r.summary.get("proposed") or ""),
                    deadline=deadline if deadline is not None else Msg("consent.decisions.no_deadline"),
                    answered=int(r.summary.get("answered", 0)),
                )
            )
    latest = _latest(entries)[:count]
    if latest:
        lines.append(Msg("consent.decisions.recent_head"))
        lines.extend(_line(e) for e in latest)
    if not lines:
        text = Msg("consent.decisions.none")
    else:
        lines.append(Msg("consent.decisions.footer"))
        text = Msg("consent.decisions.list", lines=Lines(items=list(lines)))
    return [PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)]
