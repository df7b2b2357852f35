"""French no-break spaces read as plain spaces, for assertions written with ordinary spaces."""

from __future__ import annotations


def spaces(text: str) -> str:
    """`text` with U+00A0 and U+202F (French typography, `bot.kernel.i18n.typography`) as " "."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")
