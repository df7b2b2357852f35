"""The composition root's table of platforms: what each registers in the config and how its adapter is built; the one place the core meets the adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.console import CONSOLE
from adapters.matrix.config import MATRIX
from adapters.slack.config import SLACK
from bot.adapter import Adapter
from bot.config import Config, PlatformConfig
from bot.kernel.clock import Clock
from bot.store import Store


@dataclass(frozen=True)
class Launch:
    """How the composition root starts a configured bot. `maillage run` uses the defaults;
    the demo brings its clock and its bot's secrets; a crash test names its fault point."""

    read_stdin: bool = True
    """The console reads its members' lines from standard input."""
    clock: Clock | None = None
    alarm: bool = True
    """Timers fire on their own (the demo fires them itself, jumping through its week)."""
    environ: Mapping[str, str] | None = None
    """Where adapters read the secrets the config names (default: this process's environment)."""
    fault: str | None = None
    """Crash tests only: the point where the process kills itself (`after_send`…)."""
    console_transcript: Path | None = None
    """Crash tests only: the console's record of what it delivered, kept across a crash."""


Builder = Callable[[Config, Store, Launch], Adapter]


@dataclass(frozen=True)
class PlatformEntry:
    """One platform: its registration in the config (name, section, variables) and its builder."""

    config: PlatformConfig[Any]
    build: Builder


# Each builder imports its adapter when a network binds the platform: a Slack-only network
# never loads matrix-nio. An import that fails is a bug of the installation and says so.


def _matrix(config: Config, store: Store, launch: Launch) -> Adapter:
    from adapters.matrix.adapter import build

    return build(config, store.kv(), store.leases(), env=launch.environ, fault=launch.fault)


def _slack(config: Config, store: Store, launch: Launch) -> Adapter:
    from adapters.slack.adapter import build

    return build(config, store.kv(), store, fault=launch.fault)


def _console(config: Config, store: Store, launch: Launch) -> Adapter:
    from adapters.console import build

    return build(config, read_stdin=launch.read_stdin, transcript=launch.console_transcript)


PLATFORMS: tuple[PlatformEntry, ...] = (
    PlatformEntry(MATRIX, _matrix),
    PlatformEntry(SLACK, _slack),
    PlatformEntry(CONSOLE, _console),
)
"""Every platform of this installation, in the order the config lists them to its users."""


def platform_configs() -> tuple[PlatformConfig[Any], ...]:
    """What the config validates platforms with (it knows none of its own)."""
    return tuple(entry.config for entry in PLATFORMS)


def build_adapters(config: Config, store: Store, launch: Launch) -> dict[str, Adapter]:
    """One adapter per platform the config's channels bind."""
    used = {c.platform for c in config.file.channels}
    return {e.config.name: e.build(config, store, launch) for e in PLATFORMS if e.config.name in used}
