"""The meetings calendar's configuration: series, reminder leads, agenda cut-off, attendance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.kernel.i18n import Msg
from bot.kernel.localtime import shift
from bot.kernel.recurrence import Recurrence, RecurrenceError
from bot.kernel.timetext import LONGEST, parse_duration

# Keys every [[rituals]] entry has; the kind's own model validates the rest.
COMMON_KEYS = ("id", "kind", "channels")
MAX_ROLES = 10
ROLE_LENGTH = 60


class RolesRefusal(ValueError):
    """A refused `roles` key, with its catalog message (config check says it in fr or en)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


def _check_roles(value: list[str]) -> list[str]:
    """Meeting roles: at most MAX_ROLES distinct names, each 1 to ROLE_LENGTH characters."""
    names = [v.strip() for v in value]
    if len(names) > MAX_ROLES:
        raise RolesRefusal(Msg("meeting.config.too_many_roles", count=len(names), most=MAX_ROLES))
    for name in names:
        if not name or len(name) > ROLE_LENGTH:
            raise RolesRefusal(Msg("meeting.config.bad_role", value=name, most=ROLE_LENGTH))
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise RolesRefusal(Msg("meeting.config.duplicate_role", value=name))
        seen.add(name.casefold())
    return names


class Lead(BaseModel):
    """A length of time before an instant. Days and weeks count on the local calendar (a
    "7 days before 18:00" reminder is at 18:00 even across a DST change); hours and minutes
    are elapsed time."""

    model_config = ConfigDict(frozen=True)

    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Lead:
        """A lead or a length in the one grammar of durations ("7d", "1 jour", "1h30", "2 semaines",
        "PT1H"), at most ten years. Raises TimeTextError (a ValueError: the config check
        answers it under the key)."""
        span = parse_duration(text, LONGEST)
        return cls(days=span.days, seconds=round(span.seconds))

    def before(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """`instant` minus this lead: calendar days in local wall time, then elapsed seconds
        (a "1h" reminder is one real hour before, also on the nights the clocks change)."""
        return shift(instant, tz, days=-self.days, seconds=-self.seconds)

    def after(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """`instant` plus this lead, the same way (a "2h" meeting lasts two real hours)."""
        return shift(instant, tz, days=self.days, seconds=self.seconds)

    @property
    def approx(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds)


def _check_duration(value: str) -> str:
    Lead.parse(value)
    return value


def _check_rrule(value: str | None) -> str | None:
    if value is not None:
        try:
            Recurrence.parse(value, "12:00", "UTC")
        except RecurrenceError as exc:
            raise ValueError(str(exc)) from None
    return value


def _check_time(value: str | None) -> str | None:
    if value is not None:
        try:
            Recurrence.parse("FREQ=DAILY", value, "UTC")
        except RecurrenceError as exc:
            raise ValueError(str(exc)) from None
    return value


class SeriesConfig(BaseModel):
    """One recurring meeting: `[[rituals.series]]` (or the shorthand keys of the entry)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="main", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    rrule: str
    time: str
    duration: str = "2h"
    place: str | None = None
    link: str | None = None
    channels: list[str] | None = None
    """Where this series is announced; default: the entry's channels."""
    start: date | None = None
    """First day the series may occur (default: from when the bot starts)."""
    roles: list[str] = Field(default_factory=list)
    """Roles given for each meeting among those who come ("facilitation", "secrétariat"…)."""
    roles_by: Literal["rotation", "tirage"] = "rotation"
    """Rotation (whoever held the role longest ago first) or a seeded draw."""

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        return _check_roles(v)

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        return _check_duration(v)

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str) -> str:
        _check_rrule(v)
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        _check_time(v)
        return v

    def recurrence(self, tz: str) -> Recurrence:
        return Recurrence.parse(self.rrule, self.time, tz, start=self.start)


class MeetingConfig(BaseModel):
    """`[[rituals]] kind = "meeting"`: the network's calendar of meetings, configured once."""

    model_config = ConfigDict(extra="forbid")

    series: list[SeriesConfig] = Field(default_factory=list)
    # Shorthand for a calendar of one series: title/rrule/time/place/link/duration at top level.
    title: str | None = None
    rrule: str | None = None
    time: str | None = None
    place: str | None = None
    link: str | None = None
    duration: str = "2h"
    roles: list[str] = Field(default_factory=list)
    roles_by: Literal["rotation", "tirage"] = "rotation"
    leads: list[str] = Field(default_factory=lambda: ["7d", "1d", "1h"])
    """Channel reminders before each meeting."""
    personal_leads: list[str] = Field(default_factory=lambda: ["1d"])
    """Direct-message reminders to members who asked for them (`reunion rappels perso`) and
    have not said they are absent."""
    agenda_cutoff: str = "1d"
    """Agenda items are accepted until this long before the meeting."""
    attendance: Literal["ask", "rsvp", "off"] = "ask"
    """After the meeting: ask who came ("ask"), take the RSVPs as attendance ("rsvp"), or
    record nothing ("off")."""
    attendance_window: str = "1d"
    """How long after the meeting members may correct the attendance."""
    calendar_url: str | None = None
    """Where the network's .ics is published (the bot's HTTP endpoint), for `reunion calendrier`."""

    @field_validator("duration", "agenda_cutoff", "attendance_window")
    @classmethod
    def _durations(cls, v: str) -> str:
        return _check_duration(v)

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str | None) -> str | None:
        return _check_rrule(v)

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        return _check_roles(v)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        return _check_time(v)

    @field_validator("leads", "personal_leads")
    @classmethod
    def _leads(cls, v: list[str]) -> list[str]:
        for item in v:
            _check_duration(item)
        return v

    @model_validator(mode="after")
    def _shorthand(self) -> MeetingConfig:
        given = [k for k in ("title", "rrule", "time") if getattr(self, k) is not None]
        if given and len(given) != 3:
            raise ValueError("a meeting series needs title, rrule and time together")
        if given:
            if any(s.id == "main" for s in self.series):
                raise ValueError('series id "main" is taken by the top-level title/rrule/time')
        ids = [s.id for s in self.all_series()]
        if len(set(ids)) != len(ids):
            raise ValueError(f"series ids must be unique: {ids}")
        for s in self.all_series():
            try:
                s.recurrence("UTC")
            except RecurrenceError as exc:
                raise ValueError(f"series {s.id}: {exc}") from None
        return self

    def all_series(self) -> list[SeriesConfig]:
        out = list(self.series)
        if self.title is not None and self.rrule is not None and self.time is not None:
            out.insert(0, SeriesConfig(id="main", title=self.title, rrule=self.rrule,
                                       time=self.time, place=self.place, link=self.link,
                                       duration=self.duration, roles=self.roles, roles_by=self.roles_by))
        return out

    def lead_list(self) -> list[Lead]:
        return [Lead.parse(x) for x in self.leads]

    def personal_lead_list(self) -> list[Lead]:
        return [Lead.parse(x) for x in self.personal_leads]


def load_config(raw: Mapping[str, Any]) -> tuple[MeetingConfig, list[str]]:
    """The validated config and the entry's channels (the common key, when the engine
    passes it along)."""
    channels = raw.get("channels") or []
    body = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    return MeetingConfig.model_validate(body), [str(c) for c in channels]
