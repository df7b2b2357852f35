"""The weekly digest's configuration: `[[rituals]] kind = "digest"` and its keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field

from bot.kernel.schedule import Schedule

COMMON_KEYS = ("id", "kind", "channels")


class DigestConfig(Schedule):
    """`[[rituals]] kind = "digest"`: when and how the weekly digest is posted."""

    model_config = ConfigDict(extra="forbid")

    rrule: str = "FREQ=WEEKLY;BYDAY=FR"
    time: str = "16:00"
    days: int = Field(default=7, ge=1, le=31)
    """The period a digest covers, ending when it is posted."""
    ahead_days: int = Field(default=14, ge=0, le=60)
    """Upcoming meetings shown: those of the next `ahead_days` days."""
    scope: Literal["network", "channel"] = "network"
    """"network": the same digest in every channel; "channel": each channel gets the news
    that concern it (entries that name no channel go everywhere)."""
    when_empty: Literal["say", "silent"] = "silent"
    """A week with nothing: no message at all (the default: a message saying there is nothing
    to say still costs everyone's attention), or one line saying so."""
    chart: bool = True
    max_items: int = Field(default=5, ge=1, le=20)
    """Items per section before "… and N more" (the digest must fit on one screen)."""


def load_config(raw: Mapping[str, Any]) -> tuple[DigestConfig, list[str]]:
    channels = raw.get("channels") or []
    body = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    return DigestConfig.model_validate(body), [str(c) for c in channels]
