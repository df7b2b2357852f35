"""The café-réseau's configuration: `[[rituals]] kind = "cafe"` and its keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field

from bot.kernel.schedule import Schedule

COMMON_KEYS = ("id", "kind", "channels")


class CafeConfig(Schedule):
    """`[[rituals]] kind = "cafe"`: when the opted-in members are paired, and what a newcomer is."""

    model_config = ConfigDict(extra="forbid")

    rrule: str = "FREQ=MONTHLY;BYDAY=1MO"
    """The first Monday of each month by default."""
    time: str = "10:00"
    newcomer_days: int = Field(default=90, ge=0, le=730)
    """Someone who joined one of the ritual's channels within this many days is a newcomer,
    to be paired with a member of long standing."""
    territory: str = Field(default="territoire", min_length=1, max_length=100)
    """The profile attribute that says a member's territory (pairs prefer two territories)."""
    seed: str = Field(default="", max_length=200)
    """Mixed into each month's seed with the network's name, so two networks (or a new
    start) do not draw the same order; the month's seed is in its record."""


def load_config(raw: Mapping[str, Any]) -> tuple[CafeConfig, list[str]]:
    channels = raw.get("channels") or []
    body = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    return CafeConfig.model_validate(body), [str(c) for c in channels]
