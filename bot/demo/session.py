"""The demo from start to end: a homeserver in a throwaway directory, the bot started, the week played, everything stopped whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.demo.hosting import Hosting
from bot.demo.stage import BOT_PASSWORD_ENV, SERVER_NAME, Stage
from bot.demo.week import play

log = logging.getLogger("maillage.demo")

STOPPED_EARLY = 130
"""Ctrl-C before the homeserver was up: nothing was played."""


async def play_demo(hosting: Hosting, *, locale: str, once: bool, stop: asyncio.Event,
                    write: Callable[[str], None], complain: Callable[[str], None]) -> int:
    """Play the week; unless `once`, stay up for a Matrix client until `stop` is set. The exit
    code: 0 when the demo ends as asked, 1 with a sentence to `complain` when it cannot go on."""
    stage = Stage(locale, write)

    def failed(detail: object) -> int:
        complain(stage.t("demo.stopped", detail=str(detail)))
        return 1

    reason = hosting.unavailable()
    if reason is not None:
        return failed(reason)
    try:
        with tempfile.TemporaryDirectory(prefix="maillage-demo-") as tmp:
            data = Path(tmp)
            write(stage.t("demo.starting"))
            hs = hosting.homeserver(data / "synapse", SERVER_NAME)
            try:
                await until_stopped(hs.start(), stop)
                if stop.is_set():
                    return STOPPED_EARLY
                await stage.homeserver_users(hs)
                await stage.network_room()
                environ = {BOT_PASSWORD_ENV: stage.bot_password}
                async with hosting.start_bot(stage.config(hs.base_url), data, stage.clock, environ) as running:
                    stage.running = running
                    write(stage.t("demo.connected", bot=stage.bot_user))
                    await until_stopped(play(stage), stop)
                    if not once and not stop.is_set():
                        await stage.live(hs.base_url, stop)
            finally:
                stage.running = None
                await stage.close()
                await hs.stop()
    except ConfigError as exc:
        return failed(exc)
    except Exception as exc:  # the homeserver, a member's client, or the bot did not answer
        log.debug("demo failed", exc_info=True)
        return failed(f"{type(exc).__name__}: {exc}")
    write(stage.t("demo.finished"))
    return 0


async def until_stopped(work: Awaitable[Any], stop: asyncio.Event) -> None:
    """Run `work` unless Ctrl-C comes first (then cancel it and carry on with the shutdown)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task not in done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    task.result()
