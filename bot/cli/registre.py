"""`maillage registre export`: the network's register as CSV and JSON files, for an annual report."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.cli.base import load_config, locale_of, say
from bot.kernel.i18n import Msg
from bot.store import open_store
from bot.web.register.export import files, write
from bot.web.register.source import Source
from scenarios import registry


async def cmd_export(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config is None:
        return 2
    loc = locale_of(args)
    # Upgrading a store written before the register fills it from the log (migration 0007).
    store = await open_store(config.store_url())
    try:
        async with store.reading() as unit:
            network_id = await unit.networks.find(config.network.name)
        if network_id is None:
            say(Msg("cli.registre.no_network", network=config.network.name), loc, err=True)
            return 1
        source = Source(store, config, network_id, registry())
        view, people = await source.everything()
    finally:
        await store.close()
    contents = files(view.entries, source.network.base_url, people.name)
    written = await asyncio.to_thread(write, Path(args.out), contents)
    say(Msg("cli.registre.written", folder=str(args.out), count=len(written)), loc)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    reg = sub.add_parser("registre", help="the network's register")
    reg_sub = reg.add_subparsers(dest="registre_command", required=True)
    export = reg_sub.add_parser("export", help="write the register as CSV and JSON files")
    export.add_argument("-c", "--config", required=True)
    export.add_argument("--out", required=True, help="the folder to write them in")
    export.set_defaults(func=cmd_export)
