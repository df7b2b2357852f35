"""`maillage demo`: the command; the demo (bot/demo) gets its homeserver here and starts the bot through the composition root, as `maillage run` does."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.cli.adapters import Launch, platform_configs
from bot.cli.run import started
from bot.config import validate
from bot.demo import Hosting, play_demo
from bot.engine.running import RunningBot
from bot.kernel.clock import Clock
from bot.kernel.i18n import normalize_locale
from scenarios import registry

QUIET = ("nio", "maillage", "adapters", "apscheduler", "alembic")
"""Loggers whose lines would drown the printed conversation (warnings and errors still show)."""


@asynccontextmanager
async def start_bot(config: Mapping[str, Any], directory: Path, clock: Clock,
                    environ: Mapping[str, str]) -> AsyncIterator[RunningBot]:
    """The demo's bot: its config validated as a file in `directory` would be, then started
    like `maillage run` starts one, with the demo's clock and secrets; the demo fires the
    timers itself as it jumps through its week."""
    validated = validate(config, registry(), directory / "demo.toml", platform_configs())
    launch = Launch(read_stdin=False, clock=clock, alarm=False, environ=environ)
    async with started(validated, launch) as bot:
        yield bot


def hosting() -> Hosting:
    """A local Synapse for the homeserver; the composition root for the bot."""
    from adapters.matrix.devserver import DevHomeserver, synapse_available

    return Hosting(homeserver=lambda directory, name: DevHomeserver(directory, server_name=name),
                   unavailable=synapse_available, start_bot=start_bot)


async def cmd_demo(args: argparse.Namespace) -> int:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        return await play_demo(
            hosting(), locale=normalize_locale(getattr(args, "lang", None) or "fr"), once=args.once, stop=stop,
            write=lambda line: print(line, flush=True),
            complain=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `maillage demo` to the command line."""
    parser = sub.add_parser(
        "demo", help="a throwaway Matrix homeserver, the bot and scripted members: a week in a minute")
    parser.add_argument("--once", action="store_true",
                        help="play the week and stop (default: stay up for a Matrix client)")
    parser.set_defaults(func=cmd_demo)
