"""`maillage calendar`: the network's meetings and weekly digest as an .ics calendar, from its store and config."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.base import load_config, say
from bot.engine.calendar import network_calendar
from bot.kernel.i18n import Msg, normalize_locale
from bot.store import open_store
from scenarios import registry


async def cmd_calendar(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config is None:
        return 2
    store = await open_store(config.store_url())
    try:
        data = await network_calendar(store, config, registry(), datetime.now(UTC))
    finally:
        await store.close()
    if data is None:
        say(Msg("cli.no_calendar"), normalize_locale(config.network.locale), err=True)
        return 1
    if args.out:
        await asyncio.to_thread(Path(args.out).write_bytes, data)
    else:
        sys.stdout.buffer.write(data)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cal = sub.add_parser("calendar", help="write the network's meetings and weekly digest as an .ics calendar")
    cal.add_argument("-c", "--config", required=True)
    cal.add_argument("--out", help="file to write (default: standard output)")
    cal.set_defaults(func=cmd_calendar)
