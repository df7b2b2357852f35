"""The composition root: one table of platforms, import bugs that fail loudly, crash-test hooks injected and never read from the environment."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import parser
from bot.cli.adapters import PLATFORMS, Launch, build_adapters, platform_configs
from bot.config import load
from bot.store import open_store
from scenarios import registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.toml").read_text("utf-8")
MATRIX = """
[matrix]
homeserver = "http://127.0.0.1:9"
user_id = "@maillage:localhost"
password_env = "MAILLAGE_TEST_MATRIX_PASSWORD"
"""


def test_the_table_registers_every_platform_the_config_accepts() -> None:
    assert [p.config.name for p in PLATFORMS] == ["matrix", "slack", "console"]
    assert {p.name: p.section is not None for p in platform_configs()} == {
        "matrix": True, "slack": True, "console": False}


def test_every_command_is_on_the_command_line() -> None:
    """`demo` and `draw` are there, not only when their modules happen to import."""
    sub = next(a for a in parser()._actions if a.dest == "command")
    assert set(sub.choices or ()) == {"run", "config", "schedule", "calendar", "db", "demo", "draw", "registre"}


async def test_a_broken_adapter_module_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An adapter that cannot be imported is a bug of the installation: the error says so,
    it is not turned into "not available"."""
    path = tmp_path / "c.toml"
    path.write_text(EXAMPLE.replace('platform = "console"', 'platform = "matrix"', 1)
                    .replace('url = "sqlite+aiosqlite:///maillage.db"', 'url = "sqlite+aiosqlite:///m.db"')
                    + MATRIX, "utf-8")
    config = load(path, registry(), platform_configs())
    monkeypatch.setitem(sys.modules, "adapters.matrix.adapter", None)  # as an import that fails
    store = await open_store(config.store_url())
    try:
        with pytest.raises(ImportError, match=r"adapters\.matrix\.adapter"):
            build_adapters(config, store, Launch(read_stdin=False))
    finally:
        await store.close()


HOOK_NAME = re.compile(r"MAILLAGE_\w*(FAULT|TRANSCRIPT)\w*")


def test_production_code_reads_no_test_hook_from_the_environment() -> None:
    """No module of the bot or its adapters even names a hook's variable: the crash tests'
    fault points and the console's transcript come only through the test entry point."""
    named = [f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
             for folder in ("bot", "adapters") for path in sorted((ROOT / folder).rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text("utf-8")))
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and HOOK_NAME.fullmatch(node.value)]
    assert named == []


CONSOLE = """
[network]
name = "Réseau"

[store]
url = "sqlite+aiosqlite:///bot.db"

[[channels]]
id = "general"
platform = "console"
room = "general"

[[members]]
id = "bob"
accounts = ["console:bob"]
"""


@pytest.mark.slow
def test_maillage_run_ignores_fault_names_in_its_environment(tmp_path: Path) -> None:
    """A fault point named the old way (an environment variable) neither kills `maillage run`
    nor makes it keep a transcript: only the test entry point injects them."""
    (tmp_path / "config.toml").write_text(CONSOLE, "utf-8")
    env = {**os.environ, "MAILLAGE_FAULT": "after_commit",
           "MAILLAGE_CONSOLE_TRANSCRIPT": str(tmp_path / "transcript.jsonl")}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "-c", str(tmp_path / "config.toml")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("bob: !reseau aide\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        seen = ""
        while "Commandes de Maillage" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "Commandes de Maillage" in seen, seen
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not (tmp_path / "transcript.jsonl").exists()
