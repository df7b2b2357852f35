"""Defaults of consent rounds (durations, reminders, quorum, anonymity), from the config."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.kernel.i18n import Msg, render_plain
from bot.kernel.inputs import CommandError
from bot.kernel.inputs import parse_share as read_share
from bot.kernel.timetext import ConfigDuration, parse_time_of_day
from scenarios.consent.deadline import MAX_AHEAD


class ShareRefused(ValueError):
    """A quorum the config gives that is no share; `msg` says what is expected (the config
    check shows it under the key)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg

    def __str__(self) -> str:
        return render_plain(self.msg, "en")  # where no catalog is at hand: the answer in English


class ConsentConfig(BaseModel):
    """`[consent]` network settings, or a `[[rituals]] kind = "consent"` entry: the defaults
    a `decision` command starts with. Durations in the one grammar of bot.kernel.timetext
    ("3j", "48h", "1h30", "2 semaines", ISO 8601 "P3D"), at most ten years."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: list[str] = Field(default_factory=list)
    """Channels every round is also posted in (besides the one it was started from)."""
    duration: ConfigDuration = timedelta(days=3)
    """From the start to the deadline when the command gives none."""
    questions: ConfigDuration | None = timedelta(days=1)
    """Length of the clarifying-questions phase; none, or as long as the round: no phase."""
    reminders: list[ConfigDuration] = Field(default_factory=lambda: [timedelta(days=1), timedelta(hours=2)])
    """Before the deadline, remind those who have not answered: privately, once, at the
    earliest of these leads still ahead when the version opens (the later ones serve short
    rounds)."""
    quorum: float | None = None
    """Share of the circle that must answer (0.5 = half); none: no quorum."""
    anonymous: bool = False
    group: str | None = None
    """A named group as the circle instead of the channels' members."""
    default_time: time = time(18, 0)
    """Time of day of a deadline given as a day ("vendredi")."""
    max_ahead: ConfigDuration | None = MAX_AHEAD
    """A typed deadline further ahead than this is refused (a typo in the year, most often);
    none: no limit."""
    refresh: ConfigDuration = timedelta(minutes=1)
    """At most one edit of the live counts per this interval."""
    integration: ConfigDuration = timedelta(days=14)
    """After "objections to integrate", how long the author has to amend before it lapses."""

    @model_validator(mode="before")
    @classmethod
    def _no_public_reminders(cls, data: Any) -> Any:
        # `remind_via = "mention"` named who had not answered in the proposal's thread:
        # reminders are private now, and a config that still says how is read all the same.
        if isinstance(data, Mapping) and "remind_via" in data:
            return {k: v for k, v in data.items() if k != "remind_via"}
        return data

    @field_validator("default_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_time_of_day(value)  # "18h", "18:00", "18:00:00" as the config dumps it
        return value

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
    """ "50%", "50 %", "0.5", "0,5", "1/2" → 0.5: the members' share parser (bot.kernel.inputs),
    digits 0 to 9, in (0, 1]. Raises ShareRefused."""
    try:
        return read_share(text, "core.input.quorum")
    except CommandError as exc:
        raise ShareRefused(exc.msg) from None


_VALIDATED: dict[str, ConsentConfig] = {}
"""Settings already read, by their text: reading durations and times again for every answer
cost more than the answer itself."""


_BY_IDENTITY: dict[tuple[int, int, str], tuple[Mapping[str, Any], Mapping[str, Any], ConsentConfig]] = {}
"""The same two mappings (a ritual's entry and the network's settings, which the engine hands
every event of a ritual, unchanged until a reload makes new ones) → what they gave. They are
held here, so that their ids are not reused while they are keys."""


def load_config(config: Mapping[str, Any], settings: Mapping[str, Any], key: str = "consent") -> ConsentConfig:
    """The ritual's own entry over the network's `[consent]` settings over the defaults."""
    same = _BY_IDENTITY.get((id(config), id(settings), key))
    if same is not None and same[0] is config and same[1] is settings:
        return same[2]
    found = _merged(config, settings, key)
    if len(_BY_IDENTITY) >= 64:  # a reload makes new mappings: the old ones go
        _BY_IDENTITY.clear()
    _BY_IDENTITY[(id(config), id(settings), key)] = (config, settings, found)
    return found


def _merged(config: Mapping[str, Any], settings: Mapping[str, Any], key: str) -> ConsentConfig:
    merged: dict[str, Any] = {}
    base = settings.get(key)
    if isinstance(base, Mapping):
        merged.update(base)
    merged.update({k: v for k, v in config.items() if k in ConsentConfig.model_fields})
    text = repr(sorted(merged.items()))
    found = _VALIDATED.get(text)
    if found is None:
        found = ConsentConfig.model_validate(merged)
        if len(_VALIDATED) < 256:  # a process reads a handful of networks' settings
            _VALIDATED[text] = found
    return found
