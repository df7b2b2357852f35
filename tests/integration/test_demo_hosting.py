"""The demo's place in the tree: it starts its bot through the composition root of `maillage run`, and owns no adapter, no command line and no SQL."""

from __future__ import annotations

import ast
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.demo import hosting, start_bot
from bot.demo import Hosting, play_demo
from bot.kernel.clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2031, 6, 2, 7, 0, tzinfo=UTC)


async def test_the_demo_bot_is_started_like_maillage_run_with_the_demo_clock(tmp_path: Path) -> None:
    config = {
        "network": {"name": "Réseau de démo", "timezone": "Europe/Paris"},
        "store": {"url": "sqlite+aiosqlite:///maillage.db"},
        "channels": [{"id": "general", "platform": "console", "room": "general"}],
        "members": [{"id": "alice", "name": "Alice", "accounts": ["console:alice"]}],
    }
    clock = FakeClock(START)
    async with start_bot(config, tmp_path, clock, {}) as bot:
        assert set(bot.adapters) == {"console"}  # built from the composition root's table
        assert bot.alarm is None  # the demo fires timers itself as it jumps through its week
        assert bot.engine.clock is clock
    # Relative paths of the config live in the demo's directory.
    assert (tmp_path / "maillage.db").exists()


async def test_without_a_homeserver_the_demo_says_why_and_fails() -> None:
    said: list[str] = []
    written: list[str] = []
    unavailable = Hosting(homeserver=hosting().homeserver, unavailable=lambda: "no Synapse here",
                          start_bot=start_bot)
    code = await play_demo(unavailable, locale="en", once=True, stop=asyncio.Event(),
                           write=written.append, complain=said.append)
    assert code == 1
    assert written == []
    assert len(said) == 1 and "no Synapse here" in said[0]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_demo_imports_no_adapter_no_command_line_and_no_sql() -> None:
    found = {f"{path.relative_to(ROOT)}: {name}"
             for path in sorted((ROOT / "bot" / "demo").rglob("*.py")) for name in _imports(path)
             if name.split(".")[0] in ("adapters", "sqlalchemy") or name.startswith("bot.cli")
             or name.startswith("bot.store.schema")}
    assert found == set()


def test_a_broken_homeserver_module_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """An import bug is not turned into "no demo here"."""
    monkeypatch.setitem(sys.modules, "adapters.matrix.devserver", None)  # as an import that fails
    with pytest.raises(ImportError, match=r"adapters\.matrix\.devserver"):
        hosting()
