"""From a ritual's record (a `log` row's kind and summary) to what it writes in the register.

The rituals' summaries are read tolerantly (a missing key or one of an unexpected type is
left out, never a crash): the engine projects each `Record` as it is appended, and migration
0007 projects every log row written before the register existed, with the same function.
People named in a summary (by member key, or by display name where the summary has only
names) become person ids when the directory can tell who they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.register_rows import Objection, RegisterAnswer, RegisterVersion, RegisterWrite

CHOICES = ("consent", "concern", "objection", "stand_aside")
DRAW_OVER = frozenset({"done", "incomplete", "cancelled"})


@dataclass(frozen=True)
class Someone:
    id: int
    key: str
    name: str
    organisation: str | None


class PeopleIndex:
    """The network's people by key (a merged key leads to whom it was merged into) and by
    display name (only names that one person bears)."""

    def __init__(self, people: Iterable[Someone], aliases: Mapping[str, int] | None = None) -> None:
        """`people`: the network's persons (none merged away); `aliases`: other keys that
        mean one of them (a key merged into another person)."""
        self._by_id = {s.id: s for s in people}
        self._keys = {s.key: s for s in self._by_id.values()}
        for key, pid in (aliases or {}).items():
            if key not in self._keys and pid in self._by_id:
                self._keys[key] = self._by_id[pid]
        names: dict[str, list[Someone]] = {}
        for s in self._by_id.values():
            names.setdefault(s.name, []).append(s)
        self._names = {n: found[0] for n, found in names.items() if len(found) == 1}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, str, str | None, int | None]]) -> PeopleIndex:
        """From the `persons` table: (id, key, name, organisation, merged into)."""
        items = list(rows)
        merged = {pid: into for pid, _, _, _, into in items if into is not None}
        aliases: dict[str, int] = {}
        for pid, key, _, _, into in items:
            if into is None:
                continue
            target, hops = pid, 0
            while target in merged and hops < 32:
                target, hops = merged[target], hops + 1
            aliases[key] = target
        return cls((Someone(pid, key, name, org) for pid, key, name, org, into in items if into is None), aliases)

    def by_key(self, key: Any) -> Someone | None:
        return self._keys.get(key) if isinstance(key, str) else None

    def by_name(self, name: Any) -> Someone | None:
        return self._names.get(name) if isinstance(name, str) else None

    def named(self, who: Any, version: int, choice: str, reason: str | None = None,
              subject: Any = None) -> RegisterAnswer:
        """An answer by someone a summary names (a key or a display name)."""
        person = self.by_key(who) or self.by_name(who)
        target = self.by_key(subject) or self.by_name(subject)
        return RegisterAnswer(
            version=version, choice=choice, person_id=person.id if person else None,
            name=None if person else _str(who), organisation=person.organisation if person else None,
            reason=reason, subject_id=target.id if target else None,
            subject_name=None if target or subject is None else _str(subject))


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def _int(v: Any, default: int = 0) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _at(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else None
    if isinstance(v, str):
        try:
            parsed = datetime.fromisoformat(v)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _counts(v: Any) -> dict[str, int]:
    if not isinstance(v, Mapping):
        return {}
    return {str(k): _int(n) for k, n in v.items() if isinstance(k, str)}


def _list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else []


def _objections(v: Any) -> tuple[Objection, ...]:
    out: list[Objection] = []
    for o in _list(v):
        if isinstance(o, Mapping):
            out.append(Objection(choice=_str(o.get("choice")) or "objection", reason=_str(o.get("reason")),
                                 by=_str(o.get("by"))))
    return tuple(out)


def project(kind: str, ritual_id: int | None, ritual_kind: str, ritual_number: int, at: datetime,
            summary: Mapping[str, Any], people: PeopleIndex) -> RegisterWrite | None:
    """What a record of this kind writes in the register; None for records the register does
    not keep (a welcome, a skipped reminder)."""
    base = {"ritual_id": ritual_id, "ritual_kind": ritual_kind, "ritual_number": ritual_number, "recorded_at": at}
    if kind == "decision":
        return _decision(base, at, summary, people)
    if kind == "election":
        return _election(base, at, summary, people)
    if kind == "draw":
        return _draw(base, at, summary)
    if kind in ("meeting", "attendance", "minutes"):
        return _meeting(kind, base, summary, people)
    return None


def _decision(base: dict[str, Any], at: datetime, s: Mapping[str, Any], people: PeopleIndex) -> RegisterWrite:
    version = _int(s.get("version"), 1)
    anonymous = s.get("anonymous") is True
    versions: list[RegisterVersion] = []
    for v in _list(s.get("history")):
        if not isinstance(v, Mapping):
            continue
        n = _int(v.get("version"), 1)
        versions.append(RegisterVersion(
            version=n, title=_str(v.get("title")) or "",
            text=_str(v.get("description")) or (_str(s.get("description")) if n == version else None),
            opened_at=_at(v.get("opened_at")), deadline=_at(v.get("deadline")), closed_at=_at(v.get("closed_at")),
            outcome=_str(v.get("outcome")), counts=_counts(v.get("counts")),
            objections=_objections(v.get("objections")) + (_concerns(s) if n == version else ())))
    if not any(v.version == version for v in versions):
        versions.append(RegisterVersion(
            version=version, title=_str(s.get("title")) or "", text=_str(s.get("description")),
            opened_at=_at(s.get("opened_at")), deadline=_at(s.get("deadline")), closed_at=_at(s.get("closed_at")),
            outcome=_str(s.get("outcome")), counts=_counts(s.get("counts")),
            objections=_objections(s.get("objections")) + _concerns(s)))
    answers: dict[int, tuple[RegisterAnswer, ...]] = {}
    names = s.get("names")
    if not anonymous and isinstance(names, Mapping):
        reasons = {o.by: o.reason for o in versions[-1].objections if o.by} if versions else {}
        given = {c: [str(n) for n in _list(names.get(c)) if _str(n)] for c in CHOICES}
        answers[version] = tuple(people.named(n, version, c, reasons.get(n) if c in ("objection", "concern") else None)
                                 for c in CHOICES for n in given[c])
    data: dict[str, Any] = {
        "subject": _str(s.get("subject")) or "proposal",
        "author": _str(s.get("author")),
        "channels": [c for c in _list(s.get("channels")) if isinstance(c, str)],
        "group": _str(s.get("group")),
        "quorum": s.get("quorum") if isinstance(s.get("quorum"), int | float) else None,
        "questions": _int(s.get("questions")),
        "answered": _int(s.get("answered")),
        "circle_size": _int(s.get("circle_size")),
        "version": version,
        "deadline": _str(s.get("deadline")),
    }
    late = s.get("late_answers")
    if isinstance(late, Mapping):
        data["late"] = _int(late.get("count"))
    if "closed_late_by_seconds" in s:
        data["closed_late_by_seconds"] = _int(s.get("closed_late_by_seconds"))
    for k in ("role", "nominee", "election"):
        if _str(s.get(k)):
            data[k] = s[k]
    return RegisterWrite(
        kind="decision", **base, title=_str(s.get("title")) or "", status=_str(s.get("outcome")) or "unknown",
        opened_at=_at(s.get("started_at")) or _at(s.get("opened_at")), closed_at=_at(s.get("closed_at")) or at,
        anonymous=anonymous, counts=_counts(s.get("counts")), data=data, versions=tuple(versions), answers=answers)


def _concerns(s: Mapping[str, Any]) -> tuple[Objection, ...]:
    """Réserves with their reasons, when the summary gives them (`concerns`)."""
    return tuple(Objection(choice="concern", reason=o.reason, by=o.by) for o in _objections(s.get("concerns")))


def _election(base: dict[str, Any], at: datetime, s: Mapping[str, Any], people: PeopleIndex) -> RegisterWrite:
    answers: list[RegisterAnswer] = []
    for n in _list(s.get("nominations")):
        if isinstance(n, Mapping):
            answers.append(people.named(n.get("by"), 1, "nomination", _str(n.get("reason")), n.get("nominee")))
    for c in _list(s.get("changes")):
        if isinstance(c, Mapping):
            answers.append(people.named(c.get("by"), 1, "change", _str(c.get("reason")), c.get("to")))
    elected = people.by_name(s.get("elected"))
    data: dict[str, Any] = {
        "role": _str(s.get("role")),
        "author": _str(s.get("author")),
        "channels": [c for c in _list(s.get("channels")) if isinstance(c, str)],
        "nominations_until": _str(s.get("nominations_until")),
        "elected_id": elected.id if elected else None,
        "elected_name": None if elected else _str(s.get("elected")),
        "attempts": [
            {"outcome": _str(a.get("outcome")), "at": _str(a.get("at")),
             **_person_ref(people, a.get("nominee"))}
            for a in _list(s.get("attempts")) if isinstance(a, Mapping)],
        "tally": [{**_person_ref(people, name), "count": _int(n)}
                  for name, n in (s.get("final_tally") or {}).items()] if isinstance(s.get("final_tally"), Mapping) else [],
    }
    return RegisterWrite(
        kind="election", **base, title=_str(s.get("title")) or _str(s.get("role")) or "",
        status=_str(s.get("outcome")) or "unknown", opened_at=_at(s.get("started_at")),
        closed_at=_at(s.get("closed_at")) or at, anonymous=False,
        counts={"nominations": sum(1 for a in answers if a.choice == "nomination"),
                "changes": sum(1 for a in answers if a.choice == "change")},
        data=data, answers={1: tuple(answers)})


def _person_ref(people: PeopleIndex, who: Any) -> dict[str, Any]:
    """A person named in a summary as the register keeps them: their id, else their name."""
    found = people.by_key(who) or people.by_name(who)
    return {"person_id": found.id} if found else {"name": _str(who)}


def _draw(base: dict[str, Any], at: datetime, s: Mapping[str, Any]) -> RegisterWrite:
    status = _str(s.get("status")) or "unknown"
    record = s.get("record") if isinstance(s.get("record"), Mapping) else None
    data: dict[str, Any] = {
        "k": _int(s.get("k")),
        "panel": [m for m in _list(s.get("panel")) if isinstance(m, str)],
        "final_panel": [m for m in _list(s.get("final_panel")) if isinstance(m, str)],
    }
    if record is not None:
        data["record"] = dict(record)
    pool = len(_list(record.get("pool"))) if record else 0
    return RegisterWrite(
        kind="draw", **base, title=_str(s.get("role")) or _str((record or {}).get("title")) or "", status=status,
        opened_at=None, closed_at=at if status in DRAW_OVER else None, anonymous=False,
        counts={"seats": _int(s.get("k")), "pool": pool, "final": len(data["final_panel"])}, data=data)


def _meeting(kind: str, base: dict[str, Any], s: Mapping[str, Any], people: PeopleIndex) -> RegisterWrite | None:
    key = _str(s.get("meeting"))
    if key is None:
        return None
    if kind == "minutes":
        return RegisterWrite(kind="meeting", **base, key=key, title=_str(s.get("title")),
                             opened_at=_at(s.get("start")), data={"minutes": _str(s.get("url"))})
    if kind == "attendance":
        present = {k for k in _list(s.get("present")) if isinstance(k, str)}
        expected = [k for k in _list(s.get("expected")) if isinstance(k, str)]
        everyone = sorted(set(expected) | present)
        answers = tuple(people.named(k, 1, "present" if k in present else "absent") for k in everyone)
        table = s.get("by_organisation")
        return RegisterWrite(
            kind="meeting", **base, key=key, title=_str(s.get("title")), opened_at=_at(s.get("start")),
            counts={"present": len(present), "expected": len(everyone)},
            data={"by_organisation": dict(table) if isinstance(table, Mapping) else {},
                  "attendance_source": _str(s.get("source")), "attendance_at": base["recorded_at"].isoformat()},
            answers={1: answers})
    data: dict[str, Any] = {
        "series": _str(s.get("series")),
        "start": _str(s.get("start")),
        "end": _str(s.get("end")),
        "place": _str(s.get("place")),
        "link": _str(s.get("link")),
        "channels": [c for c in _list(s.get("channels")) if isinstance(c, str)],
        "agenda": [a for a in _list(s.get("agenda")) if isinstance(a, str)],
    }
    if _str(s.get("minutes")):
        data["minutes"] = s["minutes"]
    if "reason" in s:
        data["reason"] = _str(s.get("reason"))
    roles = [{"role": r["role"], "member": r["member"]} for r in _list(s.get("roles"))
             if isinstance(r, Mapping) and isinstance(r.get("role"), str) and isinstance(r.get("member"), str)]
    if roles:
        # The meeting's rotating roles: member keys, named as the directory says them when read.
        data["roles"] = roles
    return RegisterWrite(
        kind="meeting", **base, key=key, title=_str(s.get("title")) or "", status=_str(s.get("status")) or "held",
        opened_at=_at(s.get("start")), closed_at=_at(s.get("end")), anonymous=False, data=data)
