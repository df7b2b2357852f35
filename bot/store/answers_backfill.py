"""From a ritual's state as releases before answers were rows wrote it, to its answers as rows
and its slimmed state (migration 0008): consent rounds (a decision's, an election's), an
election's nominations, a meeting calendar's RSVPs and attendance, a draw's contributions and
acceptances. Pure: the migration reads and writes; nothing recorded is lost (what cannot be
tied to a person keeps its answer without one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CHOICES = ("consent", "concern", "objection", "stand_aside")
RSVPS = ("yes", "no", "maybe")


@dataclass(frozen=True)
class Row:
    """One answer to write: by a member key (or a display name, for late answers the old state
    named only so); `person` is resolved by the migration."""

    topic: str
    value: str | None
    at: datetime
    member: str | None = None
    name: str | None = None
    part: int = 0
    version: int = 1
    reason: str | None = None
    subject: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    superseded_at: datetime | None = None


Converter = Callable[[dict[str, Any], datetime, int | None], tuple[dict[str, Any], list[Row]]]


def _at(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return default
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return default


OPEN_ROUND = frozenset({"new", "questions", "answers"})


def consent_round(st: dict[str, Any], updated: datetime, circle: int | None = None
                  ) -> tuple[dict[str, Any], list[Row]]:
    """A round's answers map and late answers become rows; it keeps counts, and once closed
    how many counted for it (`circle`, from its closing record: the releases before counted a
    closed anonymous round's renamed answers on top of its circle in the records that followed)."""
    if "answers" not in st and "late" not in st:
        return st, []
    st = dict(st)
    if circle is not None and st.get("status") not in OPEN_ROUND:
        st["circle"] = circle
    part = st.get("ref_n") or 0
    version = st.get("version") or 1
    rows: list[Row] = []
    counts = dict.fromkeys(CHOICES, 0)
    for key, a in sorted((st.pop("answers", None) or {}).items()):
        if not isinstance(a, dict) or a.get("choice") not in CHOICES:
            continue
        counts[a["choice"]] += 1
        # A closed anonymous round kept its answers under "#1", "#2"…: no one to tie them to.
        member = None if key.startswith("#") else key
        rows.append(Row("consent", a["choice"], _at(a.get("at"), updated), member=member, part=part, version=version,
                        reason=a.get("reason"), data={"asked": True} if a.get("asked") else {}))
    late = st.pop("late", None) or []
    for a in late:
        if isinstance(a, dict):
            rows.append(Row("late", a.get("choice"), _at(a.get("at"), updated), name=a.get("name"), part=part,
                            version=version))
    st.pop("ballots", None)
    st["counts"] = counts
    st["late"] = len(late)
    return st, rows


def decision(st: dict[str, Any], updated: datetime, circle: int | None = None) -> tuple[dict[str, Any], list[Row]]:
    return consent_round(st, updated, circle)


def election(st: dict[str, Any], updated: datetime, circle: int | None = None) -> tuple[dict[str, Any], list[Row]]:
    """Nominations (as revealed, or as they stand before the reveal), the change round's
    changes in order, names awaiting their reason, and the current consent round."""
    if not {"nominations", "revealed", "changes", "pending"} & set(st):
        rnd = st.get("round")
        if isinstance(rnd, dict):
            new_round, round_rows = consent_round(rnd, updated, circle)
            return {**st, "round": new_round}, round_rows
        return st, []
    st = dict(st)
    nominations = st.pop("nominations", None) or {}
    revealed = st.pop("revealed", None) or {}
    changes = st.pop("changes", None) or []
    pending = st.pop("pending", None) or {}
    phase = st.get("phase")
    rows: list[Row] = []
    given = revealed if revealed or phase not in ("new", "nominating") else nominations
    for by, n in sorted(given.items()):
        if isinstance(n, dict):
            rows.append(Row("nomination", "nominated", _at(n.get("at"), updated), member=by, subject=n.get("nominee"),
                            reason=n.get("reason")))
    last: dict[str, int] = {}
    for c in changes:
        if not isinstance(c, dict) or not c.get("by"):
            continue
        at = _at(c.get("at"), updated)
        if c["by"] in last:
            i = last[c["by"]]
            rows[i] = Row(**{**rows[i].__dict__, "superseded_at": at})
        last[c["by"]] = len(rows)
        rows.append(Row("change", "changed", at, member=c["by"], subject=c.get("nominee"), reason=c.get("reason")))
    for by, nominee in sorted(pending.items()):
        rows.append(Row("pending", "pending", updated, member=by, subject=nominee,
                        version=2 if phase == "changing" else 1))
    st["nominators"] = len(nominations)
    rnd = st.get("round")
    if isinstance(rnd, dict):
        st["round"], more = consent_round(rnd, updated, circle)
        rows += more
    return st, rows


def meeting(st: dict[str, Any], updated: datetime, circle: int | None = None) -> tuple[dict[str, Any], list[Row]]:
    """Each occurrence gets its number; its RSVPs and attendance become rows (the old state
    kept no time for them: the state's last write stands for it)."""
    occurrences = st.get("occurrences")
    if not isinstance(occurrences, list):
        return st, []
    st = dict(st)
    n = st.get("next_n") or 1
    rows: list[Row] = []
    out: list[dict[str, Any]] = []
    for occ in occurrences:
        if not isinstance(occ, dict):
            out.append(occ)
            continue
        occ = dict(occ)
        if not occ.get("n"):
            occ["n"] = n
            n += 1
        rsvp = occ.pop("rsvp", None) or {}
        came = occ.pop("came", None) or {}
        counts = dict.fromkeys(RSVPS, 0)
        for member, answer in sorted(rsvp.items()):
            if answer in counts:
                counts[answer] += 1
                rows.append(Row("rsvp", answer, updated, member=member, part=occ["n"]))
        for member, was in sorted(came.items()):
            rows.append(Row("attendance", "came" if was else "missed", updated, member=member, part=occ["n"]))
        occ.setdefault("rsvp_counts", counts)
        out.append(occ)
    st["occurrences"] = out
    st["next_n"] = max(n, max((o.get("n", 0) for o in out if isinstance(o, dict)), default=0) + 1)
    return st, rows


def draw(st: dict[str, Any], updated: datetime, circle: int | None = None) -> tuple[dict[str, Any], list[Row]]:
    """A draw keeps its contributions (its verifiable record needs them): they, and who
    accepted, are copied as rows."""
    rows: list[Row] = []
    for c in st.get("contributions") or []:
        if isinstance(c, dict) and c.get("member"):
            rows.append(Row("contribution", c.get("commitment"), updated, member=c["member"],
                            data={"status": c.get("status", "committed"), "assisted": bool(c.get("assisted"))}))
    for member in st.get("accepted") or []:
        rows.append(Row("acceptance", "accepted", updated, member=member))
    return st, rows


CONVERTERS: dict[str, Converter] = {"consent": decision, "election": election, "meeting": meeting, "draw": draw}
