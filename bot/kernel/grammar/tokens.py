"""What a typed command is cut into: tokens (quoted passages kept whole) and folded words."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.kernel.i18n import Msg
from bot.kernel.inputs import CommandError

__all__ = ["UNTIL", "Token", "fold", "tokenize"]

# Quotes members type: straight, curly and French guillemets. The apostrophe is not a
# quote: "jusqu'à" must stay one word.
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“", "”": "”"}


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


def tokenize(text: str) -> list[Token]:
    """Split on whitespace, keeping quoted passages whole ("…", “…”, « … »)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in _QUOTES:
            close = _QUOTES[c]
            j = text.find(close, i + 1)
            if j < 0 and close != '"':
                j = text.find('"', i + 1)
            if j < 0:
                raise CommandError(Msg("core.cmd.unclosed_quote", quote=c))
            out.append(Token(text[i + 1 : j].strip("\u00a0 "), quoted=True))
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _QUOTES:
            j += 1
        out.append(Token(text[i:j]))
        i = j
    return out


def fold(word: str) -> str:
    """Lower case without accents: "Réunion" and "reunion" name the same command."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


UNTIL: frozenset[str] = frozenset(
    fold(w) for w in ("jusqu'à", "jusqu'au", "jusqu’à", "jusqu’au", "until", "till", "avant", "d'ici", "échéance",
                      "deadline")
)
"""Words that end a title typed without quotes and start its deadline (`decision Budget jusqu'à vendredi`)."""
