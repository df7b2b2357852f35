"""`maillage demo`: the command; the demo itself (bot/demo) is started here, through the composition root."""

from __future__ import annotations

import argparse
from typing import Any

from bot.demo import run_demo


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `maillage demo` to the command line."""
    parser = sub.add_parser(
        "demo", help="a throwaway Matrix homeserver, the bot and scripted members: a week in a minute")
    parser.add_argument("--once", action="store_true",
                        help="play the week and stop (default: stay up for a Matrix client)")
    parser.set_defaults(func=run_demo)
