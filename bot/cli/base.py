"""What every command shares: its sentences on the terminal, its language, the config loaded with the registered rituals and platforms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.adapters import platform_configs
from bot.cli.help import chosen_locale
from bot.config import Config, ConfigError, load
from bot.kernel.i18n import Msg, render_plain
from scenarios import registry


def say(msg: Msg, locale: str = "fr", tz: str = "Europe/Paris", err: bool = False) -> None:
    print(render_plain(msg, locale, tz), file=sys.stderr if err else sys.stdout, flush=True)


def locale_of(args: argparse.Namespace) -> str:
    """The language of what the command line says, by the same rule as its help."""
    return chosen_locale(getattr(args, "lang", None))


def refused(exc: ConfigError, loc: str) -> None:
    """Every problem of a refused config, then how many."""
    for m in exc.messages():
        say(m, loc, err=True)
    say(Msg("config.invalid_count", count=len(exc.problems)), loc, err=True)


def load_config(args: argparse.Namespace) -> Config | None:
    """The config named by `-c`, validated with the rituals and platforms this installation
    registers; None once its problems are said."""
    try:
        return load(Path(args.config), registry(), platform_configs())
    except ConfigError as exc:
        refused(exc, locale_of(args))
        return None
