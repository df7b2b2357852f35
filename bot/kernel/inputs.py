"""What members may type: the one parser of their numbers and the stated limits of their text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

from bot.kernel.i18n import Msg

__all__ = [
    "COMMAND", "DECISIONS_COUNT", "DURATION_MAX", "NAME", "NUMBER", "PANEL", "PROPOSAL", "QUOTA", "RITUAL_NUMBER",
    "ROTATION", "SECRET", "TEXT", "TITLE", "WHEN", "Bounds", "CommandError", "Limit", "check_length",
    "check_lengths", "looks_numeric", "parse_int", "parse_share", "plain_digits", "shown", "too_long",
]  # fmt: skip


class CommandError(Exception):
    """A command that cannot be run as typed; `msg` says what was expected, in the catalogs."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


@dataclass(frozen=True)
class Bounds:
    """The whole numbers a member may type for one kind of number; `label_key` names it in answers."""

    lo: int
    hi: int
    label_key: str


@dataclass(frozen=True)
class Limit:
    """The longest text (in characters) a member may give for one kind of text."""

    chars: int
    label_key: str


# --- the limits, in one place (the README's user guide states them too) -----------------

NUMBER = Bounds(0, 1_000_000, "core.input.number")
"""Any other whole number a command takes."""
RITUAL_NUMBER = Bounds(1, 1_000_000, "core.input.ritual_number")
"""`#12`: which decision, draw or election a command is about."""
DECISIONS_COUNT = Bounds(1, 50, "core.input.decisions_count")
"""`decisions 20`: how many recent outcomes to list."""
PANEL = Bounds(1, 1000, "core.input.panel")
"""`tirage 3 parmi …`: how many people to draw."""
QUOTA = Bounds(0, 1000, "core.input.quota")
"""`territoire=1`, `college=1-2`: how many of the panel may share a value."""
ROTATION = Bounds(0, 100, "core.input.rotation")
"""`rotation=2`: how many past draws of the role leave their people out."""
DURATION_MAX = timedelta(days=366)
"""A duration typed in a command (the election's change round) is at most a year."""

COMMAND = Limit(4000, "core.input.command")
"""A whole command, as typed after the prefix."""
TITLE = Limit(200, "core.input.title")
"""A proposal's title, a meeting's title, an elected or drawn role."""
TEXT = Limit(1000, "core.input.text")
"""A reason (objection, cancellation), an agenda item, a nomination, any other free text."""
PROPOSAL = Limit(3000, "core.input.proposal")
"""A proposal's description, from the proposal form."""
SECRET = Limit(200, "core.input.secret")
"""A secret contributed to a draw's seed."""
WHEN = Limit(200, "core.input.when")
"""A deadline, a date and time, a duration: text that a date parser reads."""
NAME = Limit(100, "core.input.name")
"""A name typed as an option: a group, a channel, a quota's attribute or value."""

_ASCII_DIGITS = frozenset("0123456789")
_SIGNS = "+-\u2212"  # the minus sign U+2212 is what some keyboards and phones type
_SHOWN = 40


def shown(text: str, width: int = _SHOWN) -> str:
    """`text` cut for quoting back in an answer: a 5,000-digit number is not repeated whole."""
    text = text.strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def looks_numeric(text: str) -> bool:
    """Whether a member meant a number: an optional sign, then only characters that Unicode
    counts as numeric ("12", "²", "٣", "６", "𝟗", "½"). Such text goes to `parse_int`, which
    accepts the ASCII digits only and answers the others."""
    body = text[1:] if text[:1] in _SIGNS else text
    return bool(body) and all(c.isnumeric() for c in body)


def parse_int(text: str, bounds: Bounds) -> int:
    """The whole number a member typed, written with the digits 0 to 9 (an optional sign), and
    within `bounds`. Anything else raises CommandError with the answer: what the number is
    for, and the range. Never raises anything else, whatever the text or its length."""
    raw = text.strip()
    sign = raw[:1] if raw[:1] in _SIGNS else ""
    body = raw[len(sign):]
    if not body or not all(c in _ASCII_DIGITS for c in body):
        raise CommandError(Msg("core.input.not_integer", what=Msg(bounds.label_key), value=shown(raw),
                               min=bounds.lo, max=bounds.hi))
    digits = body.lstrip("0") or "0"
    # The length is compared before converting: int() of thousands of digits is slow, and
    # past 4,300 digits Python refuses it.
    too_big = len(digits) > len(str(max(abs(bounds.lo), abs(bounds.hi))))
    value = 0 if too_big else int(digits)
    if sign in ("-", "\u2212"):
        value = -value
    if too_big or not bounds.lo <= value <= bounds.hi:
        raise CommandError(Msg("core.input.out_of_range", what=Msg(bounds.label_key), value=shown(raw),
                               min=bounds.lo, max=bounds.hi))
    return value


_PERCENT = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,2}))?%", re.ASCII)
_FRACTION = re.compile(r"([0-9]{1,4})/([0-9]{1,4})", re.ASCII)
_DECIMAL = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,4}))?", re.ASCII)


def parse_share(text: str, label_key: str) -> float:
    """A share of a circle typed by a member, in (0, 1]: "50%", "50 %", "0.5", "0,5", "1/2",
    or a whole number of percent ("50"). Raises CommandError("core.input.bad_share")."""
    t = "".join(c for c in text if not c.isspace())
    share: Fraction | None = None
    if m := _PERCENT.fullmatch(t):
        share = Fraction(int(m.group(1) + (m.group(2) or "")), 100 * 10 ** len(m.group(2) or ""))
    elif m := _FRACTION.fullmatch(t):
        if int(m.group(2)) > 0:
            share = Fraction(int(m.group(1)), int(m.group(2)))
    elif m := _DECIMAL.fullmatch(t):
        value = Fraction(int(m.group(1) + (m.group(2) or "")), 10 ** len(m.group(2) or ""))
        # "0.5" and "1" are shares; a whole number above 1 ("50") is a percentage.
        share = value if value <= 1 else (value / 100 if value.denominator == 1 else None)
    if share is None or not 0 < share <= 1:
        raise CommandError(Msg("core.input.bad_share", what=Msg(label_key), value=shown(text)))
    return float(share)


def plain_digits(text: str, label_key: str) -> str:
    """Text that a parser reads for numbers (a deadline, a duration) writes them with the
    digits 0 to 9: "dans ³ jours" or "١٨h" is answered here rather than misread later."""
    odd = next((c for c in text if c.isnumeric() and c not in _ASCII_DIGITS), None)
    if odd is not None:
        raise CommandError(Msg("core.input.foreign_digit", what=Msg(label_key), char=odd, value=shown(text)))
    return text


def too_long(text: str, limit: Limit) -> Msg | None:
    """The answer to give when `text` is past `limit`, else None (for free text that is not a
    command: a thread reply, a direct message, a form field)."""
    if len(text) <= limit.chars:
        return None
    return Msg("core.input.too_long", what=Msg(limit.label_key), limit=limit.chars, length=len(text))


def check_length(text: str, limit: Limit) -> str:
    """`text` itself, or CommandError("core.input.too_long") saying the limit."""
    msg = too_long(text, limit)
    if msg is not None:
        raise CommandError(msg)
    return text


def check_lengths(value: Any, limit: Limit) -> None:
    """Every string inside a parsed argument (a string, or lists and mappings of them) is
    within `limit`: the net under each command's own parsing."""
    if isinstance(value, str):
        check_length(value, limit)
    elif isinstance(value, dict):
        for item in value.values():
            check_lengths(item, limit)
    elif isinstance(value, list | tuple):
        for item in value:
            check_lengths(item, limit)
