"""What the demo is given by the command line: a throwaway homeserver, and the bot started through the same composition root as `maillage run`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.engine.running import RunningBot
from bot.kernel.clock import Clock


class Account(Protocol):
    """A user registered on the homeserver, logged in on one device."""

    @property
    def user_id(self) -> str: ...

    @property
    def device_id(self) -> str: ...

    @property
    def access_token(self) -> str: ...


class Homeserver(Protocol):
    """A Matrix homeserver the demo starts, fills with accounts and stops."""

    @property
    def base_url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def register(self, user: str, password: str) -> Account: ...


class StartBot(Protocol):
    def __call__(self, config: Mapping[str, Any], directory: Path, clock: Clock,
                 environ: Mapping[str, str]) -> AbstractAsyncContextManager[RunningBot]:
        """The bot of `config` (what a config file would hold; its relative paths under
        `directory`) running on `clock`, its secrets read from `environ`; timers fire only
        when the demo runs them."""
        ...


@dataclass(frozen=True)
class Hosting:
    """What the demo needs from outside itself (bot/cli/demo.py provides it)."""

    homeserver: Callable[[Path, str], Homeserver]
    """A homeserver, not yet started, keeping its data in this directory under this server name."""
    unavailable: Callable[[], str | None]
    """Why no homeserver can run on this machine, or None when one can."""
    start_bot: StartBot
