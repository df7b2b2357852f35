"""The parser generated from a declaration: options out of the words, then the arguments, as typed values."""

from __future__ import annotations

from typing import Any

from bot.kernel.grammar.specs import ArgSpec, CommandSpec, OptionSpec
from bot.kernel.grammar.tokens import UNTIL, Token, fold
from bot.kernel.i18n import Duration, Lines, Msg, Param
from bot.kernel.inputs import (
    DURATION_MAX,
    WHEN,
    CommandError,
    check_length,
    looks_numeric,
    parse_int,
    parse_share,
    plain_digits,
    shown,
)
from bot.kernel.timetext import TimeTextError, parse_duration

__all__ = ["option_word", "read_command", "read_duration", "usage"]

_YES = frozenset({"oui", "yes", "true", "vrai", "1", "o", "y"})
_NO = frozenset({"non", "no", "false", "faux", "0", "n"})


def option_word(opt: OptionSpec) -> Msg:
    """The option as the help shows it in the reader's language: `quorum=<part>`, `parmi <nom>`, `nominatif`."""
    fr, en = opt.fr[0], (opt.en or opt.fr)[0]
    word = Msg("core.help.command_word", fr=fr, en=en)
    if opt.kind == "flag":
        return Msg("core.help.option_flag", word=word)
    key = "core.help.option_word" if opt.form == "word" else "core.help.option_key"
    return Msg(key, word=word, label=Msg(f"core.help.value_{opt.kind}"))


def usage(spec: CommandSpec) -> Msg:
    """Usage line generated from the declaration, e.g. `decision <titre> [<échéance>] [options…]`."""
    parts: list[Param] = [Msg("core.help.arg_required" if a.required else "core.help.arg_optional",
                              label=Msg(a.label_key)) for a in spec.args]
    if spec.options:
        parts.append(Msg("core.help.has_options"))
    command = Msg("core.help.command_word", fr=spec.name, en=spec.aliases[0] if spec.aliases else spec.name)
    if not parts:
        # No trailing space: the help lines read "resume — …", not "resume  — …".
        return Msg("core.help.usage_bare", command=command)
    return Msg("core.help.usage", command=command, args=Lines(items=parts, sep=" "))


def read_duration(text: str, bad_key: str | None = None) -> Any:
    """A duration typed by a member in the one grammar of durations, at most `DURATION_MAX`:
    a `timedelta`, or CommandError saying what was expected (never anything else)."""
    check_length(text, WHEN)
    try:
        return parse_duration(text, DURATION_MAX).delta
    except TimeTextError as exc:
        if exc.reason == "foreign_digit":
            msg = Msg("core.input.foreign_digit", what=Msg("core.input.duration"), char=exc.params["char"],
                      value=shown(text))
        elif exc.reason == "too_far":
            msg = Msg("core.input.too_far", what=Msg("core.input.duration"), value=shown(text),
                      limit=Duration(seconds=DURATION_MAX.total_seconds()))
        elif bad_key is not None:
            msg = Msg(bad_key, value=shown(text))
        else:
            msg = Msg("core.cmd.bad_duration", value=shown(text))
        raise CommandError(msg) from None


def _value(opt: OptionSpec, raw: str, typed: str) -> Any:
    """One option's typed value; `typed` is the whole word, for the answers."""
    bad = Msg(opt.bad_key, value=shown(raw), option=shown(typed), usage=option_word(opt)) if opt.bad_key else None
    match opt.kind:
        case "int":
            if bad is not None and not looks_numeric(raw):
                raise CommandError(bad)
            return parse_int(raw, opt.bounds)
        case "share":
            try:
                return parse_share(raw, "core.input.quorum")
            except CommandError:
                if bad is None:
                    raise
                raise CommandError(bad) from None
        case "duration":
            return read_duration(raw, opt.bad_key)
        case "when":
            return plain_digits(check_length(raw, WHEN), "core.input.when")
        case "names":
            return [check_length(c.strip().lstrip("#"), opt.limit) for c in raw.split(",") if c.strip().lstrip("#")]
        case "bool":
            if fold(raw) in _YES:
                return True
            if fold(raw) in _NO:
                return False
            raise CommandError(bad or Msg("core.cmd.bad_yes_no", option=shown(typed), value=shown(raw)))
        case _:
            return check_length(raw, opt.limit)


def _empty(opt: OptionSpec, typed: str) -> CommandError:
    key = opt.empty_key or "core.cmd.empty_option"
    return CommandError(Msg(key, option=shown(typed), word=shown(typed), usage=option_word(opt)))


def _options(spec: CommandSpec, tokens: list[Token]) -> tuple[dict[str, Any], list[Token]]:
    """Pull the declared options out, wherever they are typed; the other words stay in order."""
    by_word: dict[str, OptionSpec] = {}
    for declared in spec.options:
        for w in declared.words:
            by_word.setdefault(fold(w), declared)
    # Words like `territoire=1` are the draw's quotas, not options: a command with "items"
    # arguments reads them; any other command refuses an unknown `key=`.
    strict = bool(spec.options) and not any(a.kind == "items" for a in spec.args)
    opts: dict[str, Any] = {}
    rest: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.quoted:
            rest.append(tok)
            continue
        raw_key, eq, raw = tok.text.partition("=")
        opt = by_word.get(fold(raw_key))
        if opt is not None and eq and opt.form == "key" and opt.kind != "flag":
            if not raw and i < len(tokens) and tokens[i].quoted:
                raw = tokens[i].text
                i += 1
            if not raw:
                raise _empty(opt, raw_key)
            value = _value(opt, raw, tok.text)
        elif opt is not None and not eq and opt.kind in ("flag", "bool"):
            value = opt.value
        elif opt is not None and not eq and opt.form == "word":
            if i >= len(tokens):
                raise _empty(opt, tok.text)
            value = _value(opt, tokens[i].text, tok.text)
            i += 1
        elif eq and strict:
            expected = Lines(items=[option_word(o) for o in spec.options], sep=", ")
            raise CommandError(Msg(spec.refusals.unknown_option or "core.cmd.unknown_option",
                                   option=shown(raw_key), expected=expected))
        else:
            rest.append(tok)
            continue
        if opt.kind == "names":
            opts.setdefault(opt.name, []).extend(value)
        else:
            opts[opt.name] = value
    return opts, rest


def _fits(arg: ArgSpec, tok: Token) -> bool:
    """Whether an optional argument takes this word (else it is skipped)."""
    match arg.kind:
        case "ref":
            return not tok.quoted and tok.text.startswith("#")
        case "int":
            return not tok.quoted and looks_numeric(tok.text)
        case "quoted":
            return tok.quoted
        case "title" | "list":
            return tok.quoted or fold(tok.text) not in UNTIL
        case "items":
            return arg.accepts is None or arg.accepts(tok.text)
    return True


def _missing(spec: CommandSpec, arg: ArgSpec, args: dict[str, Any]) -> CommandError:
    # What the member already typed is quoted back, cut like every value an answer repeats.
    said = {k: shown(v) if isinstance(v, str) else v for k, v in args.items() if isinstance(v, str | int)}
    if arg.missing_key is not None:
        return CommandError(Msg(arg.missing_key, **said, usage=usage(spec)))
    return CommandError(Msg("core.cmd.missing_arg", arg=Msg(arg.label_key), usage=usage(spec)))


def _take(spec: CommandSpec, arg: ArgSpec, rest: list[Token], args: dict[str, Any]) -> tuple[Any, list[Token]]:
    """One argument's value from the front of `rest`, and what is left; None when not there."""
    head = rest[0] if rest else None
    match arg.kind:
        case "items":
            taken = [t for t in rest if _fits(arg, t)]
            left = [t for t in rest if not _fits(arg, t)]
            return [arg.read(t.text) if arg.read else t.text for t in taken], left
        case "list":
            cut = next((i for i, t in enumerate(rest) if not t.quoted and fold(t.text) in UNTIL), len(rest))
            parts = [p.strip() for p in " ".join(t.text for t in rest[:cut]).split(",")]
            parts = [check_length(p, arg.limit) for p in parts if p]
            if not parts:
                return None, rest[cut:]
            return [arg.read(p) if arg.read else p for p in parts], rest[cut:]
        case "rest" | "words" | "when":
            words = rest
            if arg.kind == "when" and words and not words[0].quoted and fold(words[0].text) in UNTIL:
                words = words[1:]
            if not words:
                return None, []
            if arg.kind == "words":
                return [t.text for t in words], []
            text = " ".join(t.text for t in words).strip()
            if arg.kind == "when":
                # The date and time are numbers the member typed: digits 0 to 9, as everywhere.
                plain_digits(check_length(text, arg.limit), "core.input.when")
            return text or None, []
        case "title":
            if head is None or not _fits(arg, head):
                return None, rest
            if head.quoted:
                return head.text or None, rest[1:]
            cut = next((i for i, t in enumerate(rest) if not t.quoted and fold(t.text) in UNTIL), len(rest))
            return " ".join(t.text for t in rest[:cut]).strip() or None, rest[cut:]
    if head is None:
        return None, rest
    if arg.kind == "quoted" and not head.quoted:
        if arg.required:
            raise _missing(spec, arg, args)
        return None, rest
    if arg.kind in ("int", "ref"):
        text = head.text[1:] if arg.kind == "ref" and head.text.startswith("#") else head.text
        if arg.bad_key is not None and (head.quoted or not looks_numeric(text)):
            raise CommandError(Msg(arg.bad_key, value=shown(head.text), usage=usage(spec)))
        return parse_int(text, arg.bounds), rest[1:]
    if not head.text:
        return None, rest[1:]
    return (arg.read(head.text) if arg.read else head.text), rest[1:]


def read_command(spec: CommandSpec, tokens: list[Token]) -> dict[str, Any]:
    """The words after a command's name → its typed values, keyed by the declared names; or
    CommandError saying what was expected, in the reader's language."""
    opts, rest = _options(spec, tokens)
    args: dict[str, Any] = {}
    for arg in spec.args:
        if not arg.required and rest and not _fits(arg, rest[0]) and arg.kind != "items":
            continue
        value, rest = _take(spec, arg, rest, args)
        if value is None:
            if arg.required:
                raise _missing(spec, arg, args)
            continue
        args[arg.name] = value
    if rest:
        extra = shown(" ".join(t.text for t in rest))
        raise CommandError(Msg(spec.refusals.too_many or "core.cmd.too_many", extra=extra, text=extra,
                               usage=usage(spec)))
    if spec.refusals.bare is not None and spec.args and not any(a.name in args for a in spec.args):
        raise CommandError(Msg(spec.refusals.bare, usage=usage(spec)))
    return {**args, **opts}

