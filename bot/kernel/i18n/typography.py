"""French typography of catalog text: no-break spaces before high punctuation and inside « », times as "18 h 30"."""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["NBSP", "NNBSP", "french_punctuation", "french_time"]

NBSP = "\u00a0"
"""No-break space: before ":" and inside « » (and between the parts of "18 h 30")."""
NNBSP = "\u202f"
"""Narrow no-break space: before ";", "!" and "?"."""

_SPACE = "[ \u00a0\u202f]"
# Punctuation that ends a clause, not the start of a word: "!reseau" and "?m3" (commands),
# "plateforme:identifiant" and "https://" are left alone; a colon needs a space before it to
# be taken for one (the catalogs write "Usage : …"; a test finds any colon without it).
_COLON = re.compile(f"{_SPACE}+:(?![\\w/@])")
_HIGH = re.compile(f"{_SPACE}+([;!?])(?![\\w/@])")
_OPEN = re.compile(f"«{_SPACE}*")
_CLOSE = re.compile(f"{_SPACE}*»")


def french_punctuation(text: str) -> str:
    """`text` (a catalog template, its parameters held out) with French spacing: U+00A0
    before ":" and inside « », U+202F before ";", "!" and "?". Templates may be written with
    plain spaces; member content never passes here."""
    text = _COLON.sub(NBSP + ":", text)
    text = _HIGH.sub(lambda m: NNBSP + m.group(1), text)
    text = _OPEN.sub("«" + NBSP, text)
    return _CLOSE.sub(NBSP + "»", text)


def french_time(local: datetime) -> str:
    """A time of day the French way: "18 h", "18 h 30", "9 h 05" (no-break spaces)."""
    if local.minute == 0:
        return f"{local.hour}{NBSP}h"
    return f"{local.hour}{NBSP}h{NBSP}{local.minute:02d}"
