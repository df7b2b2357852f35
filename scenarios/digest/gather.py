"""What happened in the network over a period, read from the decision register, the log and
the open rituals.

- The register (`ctx.register`): decisions whose last record falls in the period (a new
  version or a cancelled round, "amended" and "cancelled", is not news yet), with their
  participation: answers by member from the register, the circle from the directory (the
  round's `channels` or `group`) when it still has the round's size, else the whole-network
  counts `answered` and `circle_size`; draws and elections (their title and whom they named);
  meetings whose attendance was taken in the period (present and expected, by organisation).
- The log (`ctx.log`, read tolerantly: a missing key or one of an unexpected type is skipped):
  "welcome" records (`member`, `name`, `channel`); "cafe" records (a count); "pulse" records (totals
  only, `scenarios.digest.pulse`).
- Open rituals: a "meeting" summary's `upcoming` list (`title`, `start`, `place`, `link`,
  `channels`); any other open ritual whose summary has a `title` is "in progress", with
  `deadline` (ISO), `answered` and `circle_size` when present; `over: true` ones are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.kernel.register import Entry
from bot.kernel.scenario import Context, RitualSummary
from scenarios.digest.pulse import PulseNews
from scenarios.digest.pulse import read as read_pulse

OWN_KINDS = {"digest", "welcome", "meeting"}
NOT_FINAL = {"amended", "cancelled"}
SETTLED_DRAW = {"done", "incomplete"}


@dataclass(frozen=True)
class Decided:
    title: str
    outcome: str
    at: datetime
    link: str | None = None


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
    link: str | None = None


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
    counting: list[str] = field(default_factory=list)
    """Meetings held whose attendance is still being taken (counted in the next digest)."""
    cafes: int = 0
    """Cafés-réseau proposed in the period (the café ritual's records: a count, never names)."""
    pulse: PulseNews | None = None
    """The satisfaction pulse closed in the period, when it had enough answers to be shown."""

    def is_empty(self) -> bool:
        return not (self.decided or self.pending or self.selections or self.meetings
                    or self.newcomers or self.total.asked or self.total.expected or self.counting
                    or self.cafes or self.pulse)


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


def _draw_people(e: Entry) -> tuple[str, ...]:
    """Whom a draw named, once its panel is settled: the final panel (after declines and
    replacements), never the first drawn; nobody while it waits for answers or once cancelled."""
    if e.status not in SETTLED_DRAW or not _keys(e.data.get("final_panel")):
        return ()
    # `named` is the final panel as shown today (a forgotten person's pseudonym).
    return tuple(e.named)


def _at(v: Any, default: datetime) -> datetime:
    return _instant(v) or default


class Gatherer:
    """Reads a context's register, log and open rituals for one period and (optionally) one
    channel."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def gather(self, start: datetime, end: datetime, ahead_until: datetime,
               channel: str | None = None) -> Content:
        c = Content(start=start, end=end)
        for e in sorted(self.ctx.register.entries, key=lambda e: e.recorded_at):
            if not _concerns(e.data, channel):
                continue
            if e.kind == "meeting":
                if start < _at(e.data.get("attendance_at"), e.recorded_at) <= end and e.answers:
                    self._attendance(c, e)
            elif not start < e.recorded_at <= end:
                continue
            elif e.kind == "decision":
                self._decision(c, e)
            elif e.kind == "draw":
                c.selections.append(Selection(kind=e.kind, title=e.title, people=_draw_people(e),
                                              outcome=e.status, link=e.link))
            elif e.kind == "election" and e.status != "cancelled":
                c.selections.append(Selection(kind=e.kind, title=e.title, people=tuple(e.named),
                                              outcome=e.status, link=e.link))
        for le in self.ctx.log:
            if le.kind == "cafe" and start < le.at <= end and channel is None:
                # The pairs were introduced privately: the network hears only how many.
                c.cafes += _int(le.summary.get("cafes")) or 0
                continue
            if le.kind == "pulse":
                # In the digests of the channels it asked (all of them for a network digest);
                # the latest when two closed in the period.
                if start < le.at <= end and _concerns(le.summary, channel):
                    c.pulse = read_pulse(le.summary, le.at) or c.pulse
                continue
            if le.kind != "welcome" or not start < le.at <= end or not _concerns(le.summary, channel):
                continue
            name = _str(le.summary.get("name")) or self._name_of(le.summary.get("member"))
            if name and name not in c.newcomers:
                c.newcomers.append(name)
        for r in self.ctx.open_rituals:
            self._open(c, r, end, ahead_until, channel)
        c.pending.sort(key=lambda p: (p.deadline is None, p.deadline or end, p.title))
        c.meetings.sort(key=lambda u: (u.start, u.title))
        return c

    def _name_of(self, key: Any) -> str | None:
        if not isinstance(key, str) or not key.strip():
            return None
        member = self.ctx.directory.member(key)
        return member.name if member else key

    def _decision(self, c: Content, e: Entry) -> None:
        if e.status in NOT_FINAL:
            # A new version of the proposal (votes reset) or a cancelled round: not news yet.
            return
        if e.title:
            c.decided.append(Decided(title=e.title, outcome=e.status, at=e.recorded_at, link=e.link))
        size, answered = _int(e.data.get("circle_size")), _int(e.data.get("answered"))
        if size is None or answered is None or not size:
            return
        if not e.anonymous and self._by_members(c, e, size, answered):
            return
        c.total.asked += size
        c.total.answered += min(answered, size)

    def _by_members(self, c: Content, e: Entry, size: int, n_answered: int) -> bool:
        """Per-organisation answer rates: the circle read from the directory (the round's
        channels or group), the answers from the register. Used only when both agree with the
        round's own `circle_size` and `answered` counts."""
        circle = self.ctx.directory.circle(_keys(e.data.get("channels")) or [], group=_str(e.data.get("group")))
        keys = {m.key for m in circle}
        answered = {a.member for a in e.answers_of() if a.member is not None}
        if len(circle) != size or len(answered) != n_answered or not answered <= keys:
            return False
        for member in circle:
            row = c.by_org.setdefault(member.organisation or "", Figures())
            row.asked += 1
            row.answered += member.key in answered
        c.total.asked += size
        c.total.answered += n_answered
        return True

    def _attendance(self, c: Content, e: Entry) -> None:
        for a in e.answers:
            row = c.by_org.setdefault(self._org(a.member, a.organisation), Figures())
            row.expected += 1
            row.present += a.choice == "present"
        c.total.expected += len(e.answers)
        c.total.present += sum(1 for a in e.answers if a.choice == "present")

    def _org(self, key: str | None, recorded: str | None) -> str:
        member = self.ctx.directory.member(key) if key else None
        return (member.organisation if member else recorded) or ""

    def _open(self, c: Content, r: RitualSummary, now: datetime, ahead_until: datetime,
              channel: str | None) -> None:
        s = r.summary
        if r.kind == "meeting":
            for item in s.get("counting") or []:
                # Held, its attendance still being taken: not "no meeting".
                if isinstance(item, Mapping) and _concerns(item, channel) and _str(item.get("title")):
                    c.counting.append(str(item["title"]))
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
