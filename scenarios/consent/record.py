"""What a round keeps of its versions and writes in the network's log (`Record`): dates,
outcomes, counts, objections and, when it is not anonymous, who answered what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.kernel.model import Record
from scenarios.consent.state import RoundState, VersionRecord
from scenarios.consent.tally import Tally


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def archive(st: RoundState, outcome: str, closed_at: datetime) -> None:
    """The current version closes (or is replaced): its dates, outcome and counts go to the
    history; its objections stay in its answers."""
    if st.history and st.history[-1].version == st.version:
        st.history[-1] = st.history[-1].model_copy(update={"outcome": outcome, "closed_at": closed_at})
        return
    st.history.append(VersionRecord(
        version=st.version, title=st.title, opened_at=st.opened_at or closed_at, deadline=st.deadline or closed_at,
        closed_at=closed_at, outcome=outcome, counts=dict(st.counts)))


def record(tally: Tally, outcome: str, now: datetime, circle_size: int,
           late_members: tuple[str, ...] = ()) -> Record:
    """The log entry: JSON-ready (ISO instants), names only when not anonymous. It reads
    everyone's answers (the engine loads them on the events that close a round); a late answer
    given in this very event is in `late_members`."""
    st = tally.st
    counts = dict(st.counts)
    objections = tally.objections()
    history = [{**v.model_dump(mode="json", exclude={"objections"}), "objections": tally.past_objections(v)}
               for v in st.history]
    current = {
        "version": st.version,
        "title": st.title,
        "opened_at": _iso(st.opened_at),
        "deadline": _iso(st.deadline),
        "closed_at": _iso(st.closed_at or now),
        "outcome": outcome,
        "counts": counts,
        "objections": objections,
    }
    if not history or history[-1]["version"] != st.version:
        history.append(current)
    summary: dict[str, Any] = {
        "subject": st.subject,
        "number": st.number,
        "title": st.title,
        "version": st.version,
        "outcome": outcome,
        "author": st.author_name,
        "channels": list(st.channels),
        "group": st.group,
        "started_at": _iso(st.started_at),
        "opened_at": _iso(st.opened_at),
        "deadline": _iso(st.deadline),
        "closed_at": _iso(st.closed_at or now),
        "recorded_at": _iso(now),
        "anonymous": st.anonymous,
        "quorum": st.quorum,
        "circle_size": circle_size,
        "answered": st.answered,
        "counts": counts,
        "objections": objections,
        "questions": st.questions,
        "history": history,
    }
    if st.subject_data:
        summary.update(st.subject_data)
    if not st.anonymous:
        summary["names"] = tally.names()
    # For the register's pages: the proposal's text, and the réserves' reasons when given.
    if st.description:
        summary["description"] = st.description
    concerns = [{"by": (tally.name(a.member) or None) if not st.anonymous else None, "reason": a.reason}
                for a in sorted(tally.current(), key=lambda a: a.member or "") if a.value == "concern" and a.reason]
    if concerns:
        summary["concerns"] = concerns
    if st.late:
        late = [tally.name(a.member) for a in tally.late()] + [tally.name(k) for k in late_members]
        summary["late_answers"] = {
            "count": st.late,
            "note": "received after the deadline, not counted",
            **({} if st.anonymous else {"names": [n for n in late if n]}),
        }
    if st.closed_late_by:
        summary["closed_late_by_seconds"] = int(st.closed_late_by.total_seconds())
        summary["closed_note"] = ("deadline passed while the bot was down; closed on restart with the answers "
                                  "received before the deadline")
    return Record(kind="decision", summary=summary)
