"""Config fields that hold a duration: read with the one grammar, bounded, refused with the key's answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import ValidatorFunctionWrapHandler, WrapValidator

from bot.kernel.timetext.durations import parse_duration
from bot.kernel.timetext.errors import LONGEST, TimeTextError

__all__ = ["ConfigDuration", "config_duration"]


def config_duration(value: Any) -> Any:
    """A config's duration written as text ("3j", "48h", "2 semaines", "P3D") as a timedelta;
    any other value unchanged (pydantic reads a number as seconds). Raises TimeTextError, a
    ValueError: pydantic reports it as the refusal of the key."""
    if isinstance(value, str):
        return parse_duration(value, LONGEST).delta
    return value


def _bounded(value: Any, handler: ValidatorFunctionWrapHandler) -> timedelta:
    found: timedelta = handler(config_duration(value))
    # A number of seconds, or a timedelta given in code, is held to the same limits as text: a
    # length of time is not negative, and one past the calendar would overflow the first date
    # it is added to (at boot, in `maillage schedule`) instead of being refused here.
    if found < timedelta(0):
        raise TimeTextError("duration", "unparseable", str(value))
    if found > LONGEST:
        raise TimeTextError.too_far("duration", str(value), LONGEST)
    return found


ConfigDuration = Annotated[timedelta, WrapValidator(_bounded)]
"""The type of a config's duration field: text in the one grammar, or seconds; at most ten years."""
