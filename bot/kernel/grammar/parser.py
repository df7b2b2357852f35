"""The grammar of all declared commands: a command found by its longest French or English name, then read by its declaration."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from bot.kernel.grammar.reading import read_command
from bot.kernel.grammar.specs import CommandSpec, Parsed
from bot.kernel.grammar.tokens import fold, tokenize
from bot.kernel.i18n import Code, Msg
from bot.kernel.inputs import (
    COMMAND,
    RITUAL_NUMBER,
    TEXT,
    CommandError,
    check_length,
    check_lengths,
    looks_numeric,
    parse_int,
    shown,
)

__all__ = ["Grammar"]


class Grammar:
    """All declared commands, matched by their longest French or English name."""

    def __init__(self, specs: Sequence[CommandSpec]) -> None:
        self.specs = list(specs)
        self._index: dict[tuple[str, ...], CommandSpec] = {}
        for spec in self.specs:
            for name in (spec.name, *spec.aliases):
                key = tuple(fold(w) for w in name.split())
                if key in self._index and self._index[key] is not spec:
                    raise ValueError(f"command name {name!r} declared twice")
                self._index[key] = spec
        self._longest = max((len(k) for k in self._index), default=1)

    def find(self, words: Sequence[str]) -> tuple[CommandSpec, int] | None:
        folded = [fold(w) for w in words]
        for size in range(min(self._longest, len(folded)), 0, -1):
            spec = self._index.get(tuple(folded[:size]))
            if spec is not None:
                return spec, size
        return None

    def parse(self, text: str) -> Parsed:
        """The command typed → its declaration and typed values; CommandError saying what was
        expected otherwise, and nothing else whatever the text."""
        check_length(text.strip(), COMMAND)
        tokens = tokenize(text)
        if not tokens:
            raise CommandError(Msg("core.cmd.empty"))
        found = self.find([t.text for t in tokens if not t.quoted][: self._longest])
        if found is None:
            raise CommandError(
                Msg("core.cmd.unknown", word=shown(tokens[0].text), suggestion=self._suggest(tokens[0].text))
            )
        spec, size = found
        rest = tokens[size:]
        if spec.instead is not None:
            other, says = spec.instead
            words = [t.text for t in rest if not t.quoted]
            if words and words[0].startswith("#"):
                words = words[1:]
            if rest and not rest[0].quoted and says(words):
                spec = other
        number: int | None = None
        if spec.route == "ritual" and rest and not rest[0].quoted and rest[0].text.startswith("#") \
                and looks_numeric(rest[0].text[1:]):
            number = parse_int(rest[0].text[1:], RITUAL_NUMBER)
            rest = rest[1:]
        args = read_command(spec, rest)
        limits = {a.name: a.limit for a in spec.args} | {o.name: o.limit for o in spec.options}
        for name, value in args.items():
            check_lengths(value, limits.get(name, TEXT))
        return Parsed(spec, args, number)

    def _suggest(self, word: str) -> Msg:
        names = [" ".join(k) for k in self._index]
        close = difflib.get_close_matches(fold(word), names, n=1, cutoff=0.6)
        if close:
            return Msg("core.cmd.did_you_mean", command=Code(text=close[0]))
        return Msg("core.cmd.see_help")
