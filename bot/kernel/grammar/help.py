"""`aide` and `aide <commande>`, generated from the declarations in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.kernel.grammar.reading import option_word, usage
from bot.kernel.grammar.specs import CommandSpec, OptionSpec
from bot.kernel.i18n import Code, Lines, Msg, Param

__all__ = ["help_for", "help_index"]


def help_index(specs: Sequence[CommandSpec], is_animateur: bool) -> Msg:
    """`aide`: one line per command, the animateurs' ones marked."""
    lines: list[Param] = []
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
    return Msg("core.help.index", lines=Lines(items=lines))


def _also(names: tuple[str, ...]) -> Msg:
    return Msg("core.help.option_also", names=Code(text=", ".join(names))) if names else Msg("core.help.nothing")


def _option_line(opt: OptionSpec) -> Msg:
    """`• quorum=<part> — la part du cercle … (aussi : …)`, the other words in the reader's language."""
    also = Msg("core.help.command_word", fr=_also(opt.fr[1:]), en=_also((opt.en or opt.fr)[1:]))
    return Msg("core.help.option_line", usage=option_word(opt), help=Msg(opt.help_key), also=also)


def help_for(spec: CommandSpec) -> Msg:
    """`aide <commande>`: usage, summary, options, aliases, an example, who may use it."""
    options = Msg("core.help.options", lines=Lines(items=[_option_line(o) for o in spec.options]))
    return Msg(
        "core.help.detail_options" if spec.options else "core.help.detail",
        usage=usage(spec),
        summary=Msg(spec.summary_key),
        options=options,
        aliases=Code(text=", ".join((spec.name, *spec.aliases))),
        example=Msg(spec.example_key) if spec.example_key else Msg("core.help.no_example"),
        who=Msg("core.help.who_animateur" if spec.animateur_only else "core.help.who_member"),
    )
