"""The date poll's settings: `[defaults.datepoll]` (a poll is started by command, never configured)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.kernel.timetext import ConfigDuration


class DatePollConfig(BaseModel):
    """`[defaults.datepoll]`: when the poll closes when the command gives no deadline, and
    when those who have not answered are reminded. Durations in the one grammar of
    bot.kernel.timetext ("1j", "48h", "2 semaines")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    close_before: ConfigDuration = timedelta(days=2)
    """Without `jusqu'à …`, the poll closes this long before its first slot."""
    reminder: ConfigDuration | None = timedelta(days=1)
    """Those who have not answered are reminded privately, once, this long before the
    deadline (none: no reminder); not when that moment is already past at the start."""
    default_time: time = time(18, 0)
    """Time of day of a deadline given as a day ("jusqu'à vendredi")."""
    max_ahead: ConfigDuration = timedelta(days=365)
    """A slot further ahead than this is refused (a typo in the year, most often)."""
    refresh: ConfigDuration = timedelta(minutes=1)
    """An answer edits the table at once, then at most once per this interval (the answers
    given meanwhile shown together): a busy poll is not a stream of edits."""


def load_config(raw: Mapping[str, Any]) -> DatePollConfig:
    return DatePollConfig.model_validate(dict(raw))
