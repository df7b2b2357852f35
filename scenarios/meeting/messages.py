"""How a meeting is said: its details, agenda, answers and page of record, as catalog messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.kernel.i18n import Lines, Link, Msg, Param, When
from bot.kernel.model import Choice
from scenarios.meeting.state import Occurrence

RSVP_EMOJI = {"yes": "✅", "no": "❌", "maybe": "🤔"}
ATTENDANCE_EMOJI = {"came": "✅", "missed": "❌"}
MUTE_EMOJI = "🔕"


def rsvp_choices(with_mute: bool = False) -> list[Choice]:
    out = [Choice(id=c, label=Msg(f"meeting.choice.{c}"), emoji=e) for c, e in RSVP_EMOJI.items()]
    if with_mute:
        out.append(Choice(id="mute", label=Msg("meeting.choice.mute"), emoji=MUTE_EMOJI))
    return out


def attendance_choices() -> list[Choice]:
    return [Choice(id=c, label=Msg(f"meeting.choice.{c}"), emoji=e) for c, e in ATTENDANCE_EMOJI.items()]


def details(o: Occurrence) -> Msg:
    items: list[Param] = [Msg("meeting.details.when", when=When(at=o.start, style="datetime"))]
    if o.place:
        items.append(Msg("meeting.details.place", place=o.place))
    if o.link:
        items.append(Msg("meeting.details.link", link=Link(url=o.link)))
    return Msg("meeting.details.block", lines=Lines(items=items))


def names_or_nobody(names: Sequence[str]) -> Param:
    if not names:
        return Msg("meeting.answers.nobody")
    return Lines(items=list(names), sep=", ")


def agenda(o: Occurrence, cutoff: datetime, now: datetime) -> Msg:
    items: list[Param] = [
        Msg("meeting.agenda.item", n=i, text=item.text, by=item.by_name)
        for i, item in enumerate(o.agenda, start=1)
    ]
    still_open = now < cutoff
    if not items:
        if still_open:
            return Msg("meeting.agenda.empty_open", cutoff=When(at=cutoff, style="short"))
        return Msg("meeting.agenda.empty")
    listing = Msg("meeting.agenda.list", items=Lines(items=items))
    if still_open:
        return Msg("meeting.agenda.list_open", listing=listing, cutoff=When(at=cutoff, style="short"))
    return listing


def how_to_answer(style: str) -> Msg:
    return Msg("meeting.how.reactions" if style == "reactions" else "meeting.how.buttons")


def answer_counts(o: Occurrence) -> Msg:
    counts = {a: o.rsvp_counts.get(a, 0) for a in RSVP_EMOJI}
    return Msg("meeting.answers.counts", yes=counts["yes"], no=counts["no"], maybe=counts["maybe"])


def answer_names(rsvps: Mapping[str, str], name_of: Mapping[str, str], circle: Sequence[str]) -> Msg:
    """Who answered what (`rsvps`: member key → yes, no, maybe), and how many did not."""
    by: dict[str, list[str]] = {a: [] for a in RSVP_EMOJI}
    for member in sorted(rsvps, key=lambda k: name_of.get(k, k).casefold()):
        by[rsvps[member]].append(name_of.get(member, member))
    silent = [k for k in circle if k not in rsvps]
    return Msg(
        "meeting.answers.names",
        yes=names_or_nobody(by["yes"]),
        no=names_or_nobody(by["no"]),
        maybe=names_or_nobody(by["maybe"]),
        none=len(silent),
    )


def page(o: Occurrence, name_of: Mapping[str, str], roles: Sequence[Mapping[str, Any]] = ()) -> Msg:
    """The meeting's page of record: date, place, who came, its roles, agenda, minutes."""
    present = sorted((name_of.get(k, k) for k in o.attendees), key=str.casefold)
    items: list[Param] = [Msg("meeting.agenda.item", n=i, text=a.text, by=a.by_name)
                          for i, a in enumerate(o.agenda, start=1)]
    return Msg(
        "meeting.page.body",
        title=o.title,
        details=details(o),
        count=len(present),
        present=names_or_nobody(present),
        roles=Msg("meeting.page.roles", items=Lines(items=[
            Msg("meeting.roles.item", role=str(r["role"]), name=str(r["name"])) for r in roles], sep=" ; "))
        if roles else Msg("meeting.roles.none"),
        agenda=Msg("meeting.agenda.list", items=Lines(items=items)) if items else Msg("meeting.agenda.empty"),
        minutes=Msg("meeting.page.minutes", link=Link(url=o.minutes)) if o.minutes else Msg("meeting.page.no_minutes"),
    )
