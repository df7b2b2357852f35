"""The `!reseau` / `/reseau` grammar: tokens, command declarations, parsing and help."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.kernel.i18n import Code, Lines, Msg
from bot.kernel.inputs import (
    COMMAND,
    NUMBER,
    RITUAL_NUMBER,
    TEXT,
    Bounds,
    CommandError,
    Limit,
    check_length,
    check_lengths,
    looks_numeric,
    parse_int,
    shown,
)

__all__ = ["ArgSpec", "CommandError", "CommandSpec", "Grammar", "Parsed", "Token", "fold", "help_for",
           "help_index", "tokenize", "usage"]

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


ArgKind = Literal["text", "int", "member", "channel", "rest", "words"]


@dataclass(frozen=True)
class ArgSpec:
    """One argument: `label_key` names it in help (e.g. "consent.arg.title"). `limit` is the
    longest text it takes (every string a command's parsing gives under this name is checked
    against it); `bounds` the numbers it takes, for kind "int"."""

    name: str
    kind: ArgKind
    label_key: str
    required: bool = True
    limit: Limit = TEXT
    bounds: Bounds = NUMBER


Route = Literal["start", "ritual", "singleton", "query"]


@dataclass(frozen=True)
class CommandSpec:
    """A chat command. `name` is the French word(s), `aliases` the English ones.
    route: "start" creates a ritual of the declaring kind; "ritual" goes to an open one (the
    thread it is typed in, `#N`, or the latest in the channel); "singleton" to the configured
    instance of the kind; "query" is answered by the engine from the store."""

    name: str
    aliases: tuple[str, ...]
    route: Route
    summary_key: str
    args: tuple[ArgSpec, ...] = ()
    animateur_only: bool = False
    example_key: str | None = None
    parse: Callable[[list[Token]], dict[str, Any]] | None = None
    """Custom grammar for commands with free-form parts; raises CommandError."""
    answer: Callable[..., Sequence[Any]] | None = None
    """For route "query": a pure `answer(ctx, member, args, now) -> list[Action]`; `ctx.log`
    holds the network's recent log."""
    form: str | None = None
    """On platforms with forms, the command typed bare opens this form (Slack modal) instead
    of answering that arguments are missing; its submission runs the command."""
    from_form: Callable[[Mapping[str, str]], dict[str, Any]] | None = None
    """The form's fields → the command's arguments (raises CommandError)."""
    in_dm: bool = False
    """Usable in a direct message with the bot (private nominations)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def localized_name(self, locale: str) -> str:
        return self.aliases[0] if locale == "en" and self.aliases else self.name


@dataclass(frozen=True)
class Parsed:
    spec: CommandSpec
    args: dict[str, Any]
    ritual_number: int | None = None
    """`#12` typed to name which open ritual (route "ritual")."""


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
        number: int | None = None
        if spec.route == "ritual" and rest and not rest[0].quoted and rest[0].text.startswith("#") \
                and looks_numeric(rest[0].text[1:]):
            number = parse_int(rest[0].text[1:], RITUAL_NUMBER)
            rest = rest[1:]
        if spec.parse is not None:
            args = spec.parse(rest)
        else:
            args = self._positional(spec, rest)
        limits = {a.name: a.limit for a in spec.args}
        for name, value in args.items():
            check_lengths(value, limits.get(name, TEXT))
        return Parsed(spec, args, number)

    def _positional(self, spec: CommandSpec, rest: list[Token]) -> dict[str, Any]:
        args: dict[str, Any] = {}
        i = 0
        for arg in spec.args:
            if arg.kind in ("rest", "words"):
                taken = rest[i:]
                i = len(rest)
                if not taken:
                    if arg.required:
                        raise CommandError(self.missing(spec, arg))
                    continue
                args[arg.name] = (
                    " ".join(t.text for t in taken) if arg.kind == "rest" else [t.text for t in taken]
                )
                continue
            if i >= len(rest):
                if arg.required:
                    raise CommandError(self.missing(spec, arg))
                continue
            tok = rest[i]
            i += 1
            if arg.kind == "int":
                args[arg.name] = parse_int(tok.text, arg.bounds)
            else:
                args[arg.name] = tok.text
        if i < len(rest):
            raise CommandError(
                Msg("core.cmd.too_many", extra=shown(" ".join(t.text for t in rest[i:])), usage=usage(spec))
            )
        return args

    def missing(self, spec: CommandSpec, arg: ArgSpec) -> Msg:
        return Msg("core.cmd.missing_arg", arg=Msg(arg.label_key), usage=usage(spec))

    def _suggest(self, word: str) -> Msg:
        import difflib

        names = [" ".join(k) for k in self._index]
        close = difflib.get_close_matches(fold(word), names, n=1, cutoff=0.6)
        if close:
            return Msg("core.cmd.did_you_mean", command=Code(text=close[0]))
        return Msg("core.cmd.see_help")


def usage(spec: CommandSpec) -> Msg:
    """Usage line generated from the declaration, e.g. `decision <titre> [<échéance>]`."""
    parts: list[Msg] = []
    for arg in spec.args:
        parts.append(Msg("core.help.arg_required" if arg.required else "core.help.arg_optional",
                         label=Msg(arg.label_key)))
    return Msg("core.help.usage", command=Msg("core.help.command_word", fr=spec.name,
                                             en=spec.aliases[0] if spec.aliases else spec.name),
               args=Lines(items=list(parts), sep=" "))


def help_index(specs: Sequence[CommandSpec], is_animateur: bool) -> Msg:
    """`aide`: one line per command, the animateurs' ones marked."""
    lines: list[Msg] = []
    for spec in specs:
        if spec.animateur_only and not is_animateur:
            continue
        lines.append(
            Msg(
                "core.help.line_animateur" if spec.animateur_only else "core.help.line",
                usage=usage(spec),
                summary=Msg(spec.summary_key),
            )
        )
    return Msg("core.help.index", lines=Lines(items=list(lines)))


def help_for(spec: CommandSpec) -> Msg:
    """`aide <commande>`: usage, summary, aliases, an example, who may use it."""
    return Msg(
        "core.help.detail",
        usage=usage(spec),
        summary=Msg(spec.summary_key),
        aliases=Code(text=", ".join((spec.name, *spec.aliases))),
        example=Msg(spec.example_key) if spec.example_key else Msg("core.help.no_example"),
        who=Msg("core.help.who_animateur" if spec.animateur_only else "core.help.who_member"),
    )
