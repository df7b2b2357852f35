"""`maillage run`: a configured bot started through the composition root, served until a signal, stopped in order."""

from __future__ import annotations

import argparse
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.adapter import PermanentError
from bot.cli.adapters import Launch, build_adapters
from bot.cli.base import load_config, locale_of, refused, say
from bot.config import Config, ConfigError, missing_env
from bot.engine.running import RunningBot, Stopping, running_bot
from bot.kernel.i18n import Msg
from bot.secrets import redact
from bot.store import open_store
from bot.web.ops import OpsServer
from scenarios import registry


@asynccontextmanager
async def started(config: Config, launch: Launch) -> AsyncIterator[RunningBot]:
    """The bot of `config` running: its store opened, an adapter per bound platform built
    from the table, the engine booted. `maillage run` and the demo both start here."""
    store = await open_store(config.store_url())
    try:
        adapters = build_adapters(config, store, launch)
        async with running_bot(config, registry(), adapters, clock=launch.clock, store=store,
                               alarm=launch.alarm, fault=launch.fault) as bot:
            yield bot
    finally:
        await store.close()


async def cmd_run(args: argparse.Namespace, launch: Launch) -> int:
    config = load_config(args)
    if config is None:
        return 2
    loc = locale_of(args)
    # Checked before anything starts: a missing secret is named, not met half-way through a
    # start. Credentials needed only for a first login are the adapter's to judge: a stored
    # session may do.
    missing = [need for need in missing_env(config) if not need.first_login_only]
    if missing:
        refused(ConfigError([need.problem(str(config.path)) for need in missing]), loc)
        return 2
    stopping = Stopping(lambda msg: say(msg, loc, err=True))
    code = await stopping.run(_serve(config, stopping, loc, launch))
    if stopping.signal is not None:
        say(Msg("cli.stop.done"), loc, err=True)
        args.stopped_by_signal = True
    return code


async def _serve(config: Config, stopping: Stopping, loc: str, launch: Launch) -> int:
    """Start the bot, serve until a stop is asked, stop in order. A start that cannot succeed
    (a secret missing, a login refused) is said in a sentence, not a traceback."""
    try:
        async with started(config, launch) as bot:
            ops_cfg = config.file.ops
            ops = OpsServer([bot.engine], ops_cfg.host, ops_cfg.port) if ops_cfg else None
            if ops is not None:
                await ops.start()
            stopping.serving = True
            try:
                await stopping.requested.wait()
            finally:
                if ops is not None:
                    await ops.stop()
    except ConfigError as exc:  # a secret named by the config is missing from the environment
        refused(exc, loc)
        return 2
    except PermanentError as exc:  # e.g. a login the homeserver refuses: retrying would not help
        say(Msg("cli.start_failed", detail=redact(str(exc))), loc, err=True)
        return 1
    return 0


def register(sub: argparse._SubParsersAction[Any], launch: Launch) -> None:
    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", required=True)
    run.set_defaults(func=functools.partial(cmd_run, launch=launch))
