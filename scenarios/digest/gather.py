"""What happened in the network over a period, read from the log and the open rituals.

Other rituals write their news as `Record`s; the digest reads them tolerantly (a key that is
missing or of an unexpected type is skipped, never a crash). Keys read:

- log "decision": `title`, `outcome` (adopted, objections, no_quorum, withdrawn, …;
  "amended" and "cancelled" are not news), and for participation either `circle` (member
  keys asked) with the answers as lists of member keys under `answered`, `consented`,
  `consent`, `concerns`, `concern`, `objected`, `objections`, `stood_aside`, `abstained`;
  or `names` ({choice: [display names]}) with `channels`/`group`, `circle_size` and
  `answered` (matched against the directory); or only the counts `answered` and
  `circle_size` (whole-network figures). `channel`/`channels` for per-channel digests.
- log "draw" and "election": `title` (else `role`, `purpose`, `name`), people under
  `selected`, `panel`, `drawn`, `elected`, `winner`, `winners`, `person` or `people` (member
  keys, names, or objects with `name`/`key`), else `outcome`.
- log "attendance" (the meeting kind): `present`, `expected` (member keys), else
  `by_organisation` {org: {present, expected}}; `title`, `start`.
- log "welcome" (the welcome kind): `member`, `name`, `channel`.
- open rituals: a "meeting" summary's `upcoming` list (`title`, `start`, `place`, `link`,
  `channels`); any other open ritual whose summary has a `title` is "in progress", with
  `deadline` (ISO), `answered` and `circle_size` when present; `over: true` ones are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.kernel.scenario import Context, LogEntry, RitualSummary

OWN_KINDS = {"digest", "welcome", "meeting"}
NOT_FINAL = {"amended", "cancelled"}
ANSWER_KEYS = ("answered", "consented", "consent", "concerns", "concern", "objected",
               "objections", "stood_aside", "abstained")
TITLE_KEYS = ("title", "role", "purpose", "name")
PEOPLE_KEYS = ("selected", "panel", "drawn", "elected", "winner", "winners", "person", "people")


@dataclass(frozen=True)
class Decided:
    title: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class Pending:
    title: str
    deadline: datetime | None
    answered: int | None
    circle: int | None


@dataclass(frozen=True)
class Selection:
    """A draw or an election and who it named."""

    kind: str
    title: str
    people: tuple[str, ...]
    outcome: str | None


@dataclass(frozen=True)
class Upcoming:
    title: str
    start: datetime
    place: str | None


@dataclass
class Figures:
    """Participation of one organisation ("" = none given) or of the whole network."""

    answered: int = 0
    asked: int = 0
    present: int = 0
    expected: int = 0


@dataclass
class Content:
    start: datetime
    end: datetime
    decided: list[Decided] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    meetings: list[Upcoming] = field(default_factory=list)
    newcomers: list[str] = field(default_factory=list)
    by_org: dict[str, Figures] = field(default_factory=dict)
    total: Figures = field(default_factory=Figures)

    def is_empty(self) -> bool:
        return not (self.decided or self.pending or self.selections or self.meetings
                    or self.newcomers or self.total.asked or self.total.expected)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _instant(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else None
    if isinstance(v, str):
        try:
            parsed = datetime.fromisoformat(v)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _keys(v: Any) -> list[str] | None:
    if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
        return list(v)
    return None


def _first(summary: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        if k in summary and summary[k] not in (None, "", []):
            return summary[k]
    return None


def _channels_of(summary: Mapping[str, Any]) -> set[str] | None:
    """The channels an entry concerns, or None when it does not say (then it is everywhere)."""
    ch = summary.get("channel")
    chs = summary.get("channels")
    out: set[str] = set()
    if isinstance(ch, str):
        out.add(ch)
    if isinstance(chs, list):
        out.update(c for c in chs if isinstance(c, str))
    return out or None


def _concerns(summary: Mapping[str, Any], channel: str | None) -> bool:
    if channel is None:
        return True
    chans = _channels_of(summary)
    return chans is None or channel in chans


class Gatherer:
    """Reads a context's log and open rituals for one period and (optionally) one channel."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def name_of(self, who: Any) -> str | None:
        if isinstance(who, Mapping):
            return _str(who.get("name")) or self.name_of(who.get("key"))
        if not isinstance(who, str) or not who.strip():
            return None
        member = self.ctx.directory.member(who)
        return member.name if member else who

    def org_of(self, key: str) -> str:
        member = self.ctx.directory.member(key)
        return (member.organisation if member else None) or ""

    def gather(self, start: datetime, end: datetime, ahead_until: datetime,
               channel: str | None = None) -> Content:
        c = Content(start=start, end=end)
        entries: Sequence[LogEntry] = [e for e in self.ctx.log if start < e.at <= end]
        # A draw (or election) may write its record more than once (drawn, then settled):
        # only the latest record of each says what happened.
        latest: dict[tuple[str, str, int], LogEntry] = {}
        for e in entries:
            if e.kind in ("draw", "election"):
                latest[(e.kind, e.ritual_kind, e.ritual_number)] = e
        entries = [e for e in entries if e.kind not in ("draw", "election")
                   or latest[(e.kind, e.ritual_kind, e.ritual_number)] is e]
        for e in entries:
            s = e.summary
            if not _concerns(s, channel):
                continue
            if e.kind == "decision":
                self._decision(c, e)
            elif e.kind in ("draw", "election"):
                self._selection(c, e)
            elif e.kind == "attendance":
                self._attendance(c, s)
            elif e.kind == "welcome":
                name = _str(s.get("name")) or self.name_of(s.get("member"))
                if name and name not in c.newcomers:
                    c.newcomers.append(name)
        for r in self.ctx.open_rituals:
            self._open(c, r, end, ahead_until, channel)
        c.pending.sort(key=lambda p: (p.deadline is None, p.deadline or end, p.title))
        c.meetings.sort(key=lambda u: (u.start, u.title))
        return c

    def _decision(self, c: Content, e: LogEntry) -> None:
        s = e.summary
        outcome = _str(s.get("outcome")) or ""
        if outcome in NOT_FINAL:
            # A new version of the proposal (votes reset) or a cancelled round: not news yet.
            return
        title = _str(s.get("title"))
        if title:
            c.decided.append(Decided(title=title, outcome=outcome, at=e.at))
        if self._by_names(c, s):
            return
        circle = _keys(s.get("circle"))
        answered: set[str] = set()
        listed = False
        for k in ANSWER_KEYS:
            keys = _keys(s.get(k))
            if keys is not None:
                answered.update(keys)
                listed = True
        if circle is not None and listed:
            for key in circle:
                row = c.by_org.setdefault(self.org_of(key), Figures())
                row.asked += 1
                row.answered += key in answered
            c.total.asked += len(circle)
            c.total.answered += len(answered & set(circle))
            return
        n_answered = _int(s.get("answered"))
        size = _int(s.get("circle_size"))
        if n_answered is not None and size:
            c.total.asked += size
            c.total.answered += min(n_answered, size)

    def _by_names(self, c: Content, s: Mapping[str, Any]) -> bool:
        """Per-organisation answer rates from a round that lists answers by display name
        (`names`: {choice: [names]}) and says where it ran (`channels` or `group`): the
        circle is read from the directory, names matched to members when unambiguous. Used
        only when it agrees with the round's own `circle_size` and `answered` counts."""
        names = s.get("names")
        size, n_answered = _int(s.get("circle_size")), _int(s.get("answered"))
        if not isinstance(names, Mapping) or size is None or n_answered is None or "circle" in s:
            return False
        group = _str(s.get("group"))
        chans = _keys(s.get("channels")) or []
        circle = self.ctx.directory.circle(chans, group=group)
        if len(circle) != size:
            return False
        by_name: dict[str, list[str]] = {}
        for member in circle:
            by_name.setdefault(member.name, []).append(member.key)
        answered: set[str] = set()
        for listed in names.values():
            for name in _keys(listed) or []:
                keys = by_name.get(name, [])
                if len(keys) != 1:
                    return False
                answered.add(keys[0])
        if len(answered) != n_answered:
            return False
        for member in circle:
            row = c.by_org.setdefault(member.organisation or "", Figures())
            row.asked += 1
            row.answered += member.key in answered
        c.total.asked += size
        c.total.answered += n_answered
        return True

    def _selection(self, c: Content, e: LogEntry) -> None:
        s = e.summary
        title = _str(_first(s, TITLE_KEYS))
        raw = _first(s, PEOPLE_KEYS)
        items = raw if isinstance(raw, list) else [raw] if raw is not None else []
        people = tuple(n for n in (self.name_of(x) for x in items) if n)
        if title or people:
            c.selections.append(Selection(kind=e.kind, title=title or "", people=people,
                                          outcome=_str(s.get("outcome"))))

    def _attendance(self, c: Content, s: Mapping[str, Any]) -> None:
        present = _keys(s.get("present"))
        expected = _keys(s.get("expected"))
        if present is not None and expected is not None:
            everyone = sorted(set(expected) | set(present))
            for key in everyone:
                row = c.by_org.setdefault(self.org_of(key), Figures())
                row.expected += 1
                row.present += key in present
            c.total.expected += len(everyone)
            c.total.present += len(set(present))
            return
        table = s.get("by_organisation")
        if isinstance(table, Mapping):
            for org, fig in table.items():
                if not isinstance(org, str) or not isinstance(fig, Mapping):
                    continue
                p, x = _int(fig.get("present")), _int(fig.get("expected"))
                if p is None or x is None:
                    continue
                row = c.by_org.setdefault(org, Figures())
                row.present += p
                row.expected += x
                c.total.present += p
                c.total.expected += x

    def _open(self, c: Content, r: RitualSummary, now: datetime, ahead_until: datetime,
              channel: str | None) -> None:
        s = r.summary
        if r.kind == "meeting":
            upcoming = s.get("upcoming")
            if not isinstance(upcoming, list):
                return
            for item in upcoming:
                if not isinstance(item, Mapping) or not _concerns(item, channel):
                    continue
                at, title = _instant(item.get("start")), _str(item.get("title"))
                if at is not None and title and now < at <= ahead_until:
                    c.meetings.append(Upcoming(title=title, start=at, place=_str(item.get("place"))))
            return
        if r.kind in OWN_KINDS or not _concerns(s, channel) or s.get("over") is True:
            return
        title = _str(s.get("title"))
        if title is None:
            return
        c.pending.append(Pending(
            title=title,
            deadline=_instant(s.get("deadline")),
            answered=_int(s.get("answered")),
            circle=_int(s.get("circle_size")),
        ))
