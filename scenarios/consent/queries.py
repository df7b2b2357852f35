"""`decisions`: the network's recent outcomes and open rounds, read from the log (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.kernel.i18n import Lines, Msg, When
from bot.kernel.inputs import DECISIONS_COUNT
from bot.kernel.model import Action, Member, PrivateNote, ReplyHandle
from bot.kernel.scenario import Context, LogEntry

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


def _latest(entries: list[LogEntry]) -> list[LogEntry]:
    """The last entry of each decision (an amended round logs one entry per outcome)."""
    seen: dict[tuple[str, int], LogEntry] = {}
    for e in entries:
        seen[(e.ritual_kind, e.ritual_number)] = e  # newest last: the later one wins
    return sorted(seen.values(), key=lambda e: e.at, reverse=True)


def _line(e: LogEntry) -> Msg:
    s = e.summary
    when = _when(s.get("closed_at")) or When(at=e.at, style="short")
    if s.get("subject") == "election":
        return Msg(
            "consent.decisions.line_election",
            number=int(s.get("number", e.ritual_number)),
            title=str(s.get("title", "")),
            outcome=_outcome_word(s.get("outcome")),
            when=when,
        )
    return Msg(
        "consent.decisions.line",
        number=int(s.get("number", e.ritual_number)),
        title=str(s.get("title", "")),
        version=int(s.get("version", 1)),
        outcome=_outcome_word(s.get("outcome")),
        when=when,
    )


def _detail(e: LogEntry) -> Msg:
    s: Mapping[str, Any] = e.summary
    counts: Mapping[str, Any] = s.get("counts", {})
    lines: list[Msg] = [
        Msg(
            "consent.decisions.detail_head",
            number=int(s.get("number", e.ritual_number)),
            title=str(s.get("title", "")),
            outcome=_outcome_word(s.get("outcome")),
            author=str(s.get("author", "")),
        ),
        Msg(
            "consent.outcome.counts",
            consent=int(counts.get("consent", 0)),
            concern=int(counts.get("concern", 0)),
            objection=int(counts.get("objection", 0)),
            stand_aside=int(counts.get("stand_aside", 0)),
            answered=int(s.get("answered", 0)),
            circle=int(s.get("circle_size", 0)),
        ),
    ]
    names = s.get("names")
    if isinstance(names, Mapping):
        for choice in ("consent", "concern", "objection", "stand_aside"):
            people = [str(n) for n in names.get(choice, [])]
            if people:
                lines.append(Msg(f"consent.outcome.names_{choice}", names=Lines(items=list(people), sep=", ")))
    elif s.get("anonymous"):
        lines.append(Msg("consent.proposal.anonymous"))
    for o in s.get("objections", []):
        reason: Msg | str = str(o.get("reason")) if o.get("reason") else Msg("consent.objection.no_reason")
        if o.get("by"):
            lines.append(Msg("consent.outcome.objection_line", who=str(o["by"]), reason=reason))
        else:
            lines.append(Msg("consent.outcome.objection_line_anonymous", reason=reason))
    history = s.get("history", [])
    if len(history) > 1:
        lines.append(Msg("consent.decisions.history_head"))
        for v in history:
            lines.append(
                Msg(
                    "consent.decisions.history_line",
                    version=int(v.get("version", 1)),
                    title=str(v.get("title", "")),
                    outcome=_outcome_word(v.get("outcome")) if v.get("outcome") != "amended" else Msg("consent.outcome.word_amended"),
                    when=_when(v.get("closed_at")) or When(at=e.at, style="short"),
                )
            )
    late = s.get("late_answers")
    if isinstance(late, Mapping) and late.get("count"):
        lines.append(Msg("consent.outcome.late", count=int(late["count"])))
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
    """The answer to `decisions [#N | count]`, privately to who asked. `ctx.log` holds the
    log entries (newest last), `ctx.open_rituals` the open rounds' summaries."""
    entries = [e for e in ctx.log if e.kind == "decision"]
    text: Msg
    if "number" in args:
        number = int(args["number"])
        found = [e for e in entries if e.ritual_number == number and e.ritual_kind == "consent"]
        if not found:
            found = [e for e in entries if int(e.summary.get("number", -1)) == number]
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
