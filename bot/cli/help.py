"""The command line in the chosen language: which language, and the parser's help texts, titles and errors from the cli catalog."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NoReturn

from bot.kernel.i18n import Msg, catalog, has_key, normalize_locale, render_plain

ROOT = "cli.help"


def chosen_locale(lang: str | None = None) -> str:
    """The command line's language: `--lang`, else the MAILLAGE_LANG variable, else French.
    (The network's locale cannot decide: the config is named by an argument not yet parsed.)"""
    return normalize_locale(lang or os.environ.get("MAILLAGE_LANG") or "fr")


def locale_in(argv: Sequence[str]) -> str:
    """The language an argument list asks for, read before the parser exists, so that
    `--help` is already in that language wherever `--lang` stands."""
    lang: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.removeprefix("--lang=")
    return chosen_locale(lang)


class Parser(argparse.ArgumentParser):
    """An argument parser whose own words (usage, titles, the error line) are the catalog's;
    subcommands' parsers are of the same class (argparse makes them with the parent's)."""

    locale: str = "fr"

    def error(self, message: str) -> NoReturn:
        # argparse's message itself stays as argparse words it: it names the option at fault.
        self.print_usage(sys.stderr)
        self.exit(2, render_plain(Msg(f"{ROOT}.frame.error", prog=self.prog, message=message), self.locale) + "\n")


def _formatter(prefix: str, heading: Callable[[str], str]) -> type[argparse.HelpFormatter]:
    """A help formatter with the catalog's usage prefix and section headings (argparse
    itself adds the colon after a heading: French puts a non-breaking space before it)."""

    class Localized(argparse.HelpFormatter):
        def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                      groups: Iterable[argparse._MutuallyExclusiveGroup], prefix_: str | None = None) -> None:
            super().add_usage(usage, actions, groups, prefix if prefix_ is None else prefix_)

        def start_section(self, title: str | None) -> None:
            super().start_section(None if title is None else heading(title))

    return Localized


def help_keys(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """The keys (with their fallback) every text of `parser`'s help is read from; for tests,
    which check that no option or command is left in the code's own words."""
    keys: list[tuple[str, ...]] = []
    for path, p in tree(parser):
        keys.append((_key(path, "about"),))
        keys.extend(k for _, k in _targets(path, p))
    return keys


def localize(parser: argparse.ArgumentParser, locale: str) -> argparse.ArgumentParser:
    """Give `parser`, its options and its subcommands their texts in `locale`. A text the
    catalog lacks leaves the code's own (a test keeps the catalog complete)."""
    locale = normalize_locale(locale)
    words = catalog(locale)

    def text(keys: tuple[str, ...]) -> str | None:
        key = next((k for k in keys if has_key(k, locale)), None)
        return None if key is None else render_plain(Msg(key), locale)

    formatter = _formatter(words[f"{ROOT}.frame.usage"],
                           lambda title: render_plain(Msg(f"{ROOT}.frame.heading", title=title), locale))
    for path, p in tree(parser):
        if isinstance(p, Parser):
            p.locale = locale
        p.formatter_class = formatter
        p._positionals.title = words[f"{ROOT}.frame.positionals"]
        p._optionals.title = words[f"{ROOT}.frame.options"]
        p.description = text((_key(path, "about"),)) or p.description
        if not path:
            p.epilog = words[f"{ROOT}.frame.epilog"]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                action.metavar = words[f"{ROOT}.frame.command"]
        for action, keys in _targets(path, p):
            found = text(keys)
            if found is not None:
                action.help = found.replace("%", "%%")  # argparse %-formats help texts
    return parser


def _key(path: tuple[str, ...], name: str) -> str:
    return ".".join((ROOT, *path, name))


def tree(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
         ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line with its path of subcommand names."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from tree(sub, (*path, name))


def _targets(path: tuple[str, ...], parser: argparse.ArgumentParser
             ) -> Iterator[tuple[argparse.Action, tuple[str, ...]]]:
    """Each help text of one parser and where the catalog keeps it: a subcommand's line
    under its `about`; an option under its command, else under [help.option] if shared."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield choice, (_key((*path, choice.dest), "about"),)
        elif action.help is not argparse.SUPPRESS:
            yield action, (_key(path, action.dest), _key(("option",), action.dest))
