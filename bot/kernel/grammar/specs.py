"""Command declarations: each argument and `key=value` option said once (names in both languages,
kind, bounds, help), and the command's own wording of the grammar's refusals."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.kernel.inputs import NAME, NUMBER, TEXT, Bounds, Limit

__all__ = ["ArgKind", "ArgSpec", "CommandSpec", "OptionForm", "OptionKind", "OptionSpec", "Parsed", "Refusals",
           "Route"]

ArgKind = Literal["text", "int", "ref", "title", "quoted", "when", "rest", "words", "items", "list"]
"""How an argument is read from the words left once the options are out:
- "text": one word (or quoted passage), a string;
- "int": one whole number within `bounds` (`inputs.parse_int`);
- "ref": `#N`, a ritual's number within `bounds`;
- "title": a quoted passage, or the words up to "jusqu'à"/"until" (`tokens.UNTIL`);
- "quoted": a quoted passage only;
- "when": the remaining words, a leading "jusqu'à"/"until" dropped: a date, a deadline, a
  place, read later by the ritual with its clock and time zone (digits 0 to 9 checked here);
- "rest": the remaining words as one string; "words": as a list of strings;
- "items": every remaining word that `accepts`, each read by `read` (a list, maybe empty);
- "list": the words up to "jusqu'à"/"until", cut at the commas, each part read by `read` (a
  date poll's slots `mar 12/01 18h, jeu 14/01 12h30`, its answers `1 oui, 2 si besoin`).
An optional argument is skipped when the next word cannot be one ("#N" for "ref", a number
for "int", a quoted passage for "quoted", a word `accepts` for "items")."""

OptionKind = Literal["text", "names", "int", "share", "duration", "when", "bool", "flag"]
"""What an option's value is: "text" a string within `limit`; "names" comma-separated names
(a leading "#" dropped), a list extended by each use; "int" within `bounds`; "share" a part of a
circle in (0, 1] (`inputs.parse_share`); "duration" a `timedelta` of at most `most`
(`timetext.parse_duration`); "when" a deadline's text (read later by the ritual); "bool" yes or
no (the bare word is yes); "flag" a bare word that sets the option to `value`."""

OptionForm = Literal["key", "word"]
"""`quorum=50%` ("key", also `questions="mardi 12h"`), or a word then its value: `parmi #comite` ("word")."""

Route = Literal["start", "ritual", "singleton", "query"]


@dataclass(frozen=True)
class ArgSpec:
    """One argument: `label_key` names it in help (e.g. "consent.arg.title"). `limit` is the
    longest text it takes (every string a command's parsing gives under this name is checked
    against it); `bounds` the numbers it takes, for kinds "int" and "ref". `missing_key` and
    `bad_key` are the command's own answers when it is missing or is not a number."""

    name: str
    kind: ArgKind
    label_key: str
    required: bool = True
    limit: Limit = TEXT
    bounds: Bounds = NUMBER
    missing_key: str | None = None
    bad_key: str | None = None
    read: Callable[[str], Any] | None = None
    """For kinds "text", "items" and "list": one word (one part) → its typed value (raises
    CommandError)."""
    accepts: Callable[[str], bool] | None = None
    """For kind "items": whether a word is meant as one."""


@dataclass(frozen=True)
class OptionSpec:
    """One option: `name` is the key of its value in the parsed arguments; `fr` and `en` the
    words members type for it (the first of each is the one the help shows); `help_key` says
    what it does. `empty_key` and `bad_key` are the command's own answers for no value and for
    a value that cannot be read (numbers out of bounds and odd digits keep the core's answers)."""

    name: str
    fr: tuple[str, ...]
    en: tuple[str, ...]
    kind: OptionKind
    help_key: str
    form: OptionForm = "key"
    limit: Limit = NAME
    bounds: Bounds = NUMBER
    value: bool = True
    """For kind "flag": what the bare word sets."""
    empty_key: str | None = None
    bad_key: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return (*self.fr, *self.en)


@dataclass(frozen=True)
class Refusals:
    """A command's own wording of the grammar's refusals (catalog keys); None: the core's."""

    unknown_option: str | None = None
    """Given `option` (what was typed) and `expected` (the declared options)."""
    too_many: str | None = None
    """Given `text`/`extra` (the words left over) and `usage`."""
    bare: str | None = None
    """Typed with none of its arguments (`amender` alone)."""


@dataclass(frozen=True)
class CommandSpec:
    """A chat command. `name` is the French word(s), also its identity in `Command` events (a
    ritual compares `cmd.name == SPEC.name`); `aliases` the English ones.
    route: "start" creates a ritual of the declaring kind; "ritual" goes to an open one (the
    thread it is typed in, `#N`, or the latest in the channel); "singleton" to the configured
    instance of the kind; "query" is answered by the engine from the store."""

    name: str
    aliases: tuple[str, ...]
    route: Route
    summary_key: str
    args: tuple[ArgSpec, ...] = ()
    options: tuple[OptionSpec, ...] = ()
    refusals: Refusals = Refusals()
    animateur_only: bool = False
    example_key: str | None = None
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
    also_for: tuple[str, ...] = ()
    """Kinds besides the declaring one whose open rituals the command reaches (`objection` in
    an election's consent step)."""
    instead: tuple[CommandSpec, Callable[[Sequence[str]], bool]] | None = None
    """Another command read instead of this one when its words (those after the name, a
    leading `#N` left out) say so: `dates « titre » …` starts a date poll, `dates 1 oui`
    answers one (the other command is declared too, under its own name)."""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def localized_name(self, locale: str) -> str:
        return self.aliases[0] if locale == "en" and self.aliases else self.name


@dataclass(frozen=True)
class Parsed:
    spec: CommandSpec
    args: dict[str, Any]
    """Typed values keyed by the declared argument and option names."""
    ritual_number: int | None = None
    """`#12` typed to name which open ritual (route "ritual")."""
