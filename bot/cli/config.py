"""`maillage config check`: a config validated, and the variables `run` would read but are not set here."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.base import load_config, say
from bot.config import missing_env
from bot.kernel.i18n import Code, Msg, normalize_locale


async def cmd_config_check(args: argparse.Namespace) -> int:
    """Exit 0: valid and `run` has what it needs; 1: valid, but variables `run` reads are not
    set here; 2: invalid."""
    config = load_config(args)
    if config is None:
        return 2
    loc = normalize_locale(args.lang or config.network.locale)
    say(Msg("config.ok", channels=len(config.file.channels), members=len(config.file.members),
            rituals=len(config.file.rituals)), loc)
    missing = missing_env(config)
    if not missing:
        return 0
    say(Msg("config.env_header"), loc, err=True)
    for need in missing:
        p = need.problem(str(config.path))
        say(Msg("config.problem", file=p.file, key=Code(text=p.key), what=p.msg), loc, err=True)
    say(Msg("config.env_count", count=len(missing)), loc, err=True)
    return 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a config file")
    check.add_argument("-c", "--config", required=True)
    check.set_defaults(func=cmd_config_check)
