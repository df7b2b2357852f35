"""Defaults of consent rounds (durations, reminders, quorum, anonymity), from the config."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.kernel.recurrence import parse_time
from scenarios.consent.deadline import MAX_AHEAD, parse_duration


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            return value  # let pydantic try ISO 8601 ("P3D") and report the error
    return value


class ConsentConfig(BaseModel):
    """`[consent]` network settings, or a `[[rituals]] kind = "consent"` entry: the defaults
    a `decision` command starts with. Durations as "3j", "48h", "2 semaines" or ISO 8601."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: list[str] = Field(default_factory=list)
    """Channels every round is also posted in (besides the one it was started from)."""
    duration: timedelta = timedelta(days=3)
    """From the start to the deadline when the command gives none."""
    questions: timedelta | None = timedelta(days=1)
    """Length of the clarifying-questions phase; none, or as long as the round: no phase."""
    reminders: list[timedelta] = Field(default_factory=lambda: [timedelta(days=1), timedelta(hours=2)])
    """Before the deadline, remind those who have not answered."""
    remind_via: Literal["mention", "dm"] = "mention"
    quorum: float | None = None
    """Share of the circle that must answer (0.5 = half); none: no quorum."""
    anonymous: bool = False
    group: str | None = None
    """A named group as the circle instead of the channels' members."""
    default_time: time = time(18, 0)
    """Time of day of a deadline given as a day ("vendredi")."""
    max_ahead: timedelta | None = MAX_AHEAD
    """A typed deadline further ahead than this is refused (a typo in the year, most often);
    none: no limit."""
    refresh: timedelta = timedelta(minutes=1)
    """At most one edit of the live counts per this interval."""
    integration: timedelta = timedelta(days=14)
    """After "objections to integrate", how long the author has to amend before it lapses."""

    @field_validator("duration", "questions", "refresh", "integration", "max_ahead", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_duration(v) for v in value]
        return value

    @field_validator("default_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, str) and value.count(":") < 2:
            return parse_time(value)
        return value  # "18:00:00", as the config dumps it

    @field_validator("quorum", mode="before")
    @classmethod
    def _quorum(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_share(value)
        return value

    @field_validator("quorum")
    @classmethod
    def _quorum_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise ValueError("quorum is a share of the circle: between 0 (excluded) and 1, e.g. 0.5 or \"50%\"")
        return value


def parse_share(text: str) -> float:
    """ "50%", "50 %", "0.5", "0,5", "1/2" → 0.5."""
    t = text.strip().replace(",", ".").replace(" ", "")
    if t.endswith("%"):
        return float(t[:-1]) / 100
    if "/" in t:
        a, b = t.split("/", 1)
        return float(a) / float(b)
    value = float(t)
    return value / 100 if value > 1 else value


def load_config(config: Mapping[str, Any], settings: Mapping[str, Any], key: str = "consent") -> ConsentConfig:
    """The ritual's own entry over the network's `[consent]` settings over the defaults."""
    merged: dict[str, Any] = {}
    base = settings.get(key)
    if isinstance(base, Mapping):
        merged.update(base)
    merged.update({k: v for k, v in config.items() if k in ConsentConfig.model_fields})
    return ConsentConfig.model_validate(merged)
