"""A real bot process killed with SIGKILL between commit and send, or between send and record."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CONFIG = """
[network]
name = "Réseau crash"

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


def _start(tmp: Path, fault: str | None) -> subprocess.Popen[str]:
    # The test entry point: the same composition root as `maillage run`, with the hooks injected.
    hooks = ["--console-transcript", str(tmp / "transcript.jsonl"), *(["--fault", fault] if fault else [])]
    return subprocess.Popen([sys.executable, "-m", "tests.fixtures.faulty_bot", *hooks,
                             "run", "-c", str(tmp / "config.toml")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=Path(__file__).resolve().parents[2])


def _transcript(tmp: Path) -> list[dict[str, str]]:
    path = tmp / "transcript.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _wait_for(pred: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["after_commit", "after_send"])
def test_killed_process_delivers_pending_message_exactly_once(tmp_path: Path, fault: str) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, "utf-8")
    proc = _start(tmp_path, fault)
    assert proc.stdin is not None
    proc.stdin.write("bob: !reseau aide\n")
    proc.stdin.flush()
    proc.wait(timeout=120)
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == -signal.SIGKILL, out
    before = _transcript(tmp_path)
    # after_commit: nothing was sent yet; after_send: the platform has it, our record does not.
    assert len(before) == (0 if fault == "after_commit" else 1)

    proc = _start(tmp_path, None)
    try:
        _wait_for(lambda: len(_transcript(tmp_path)) >= 1)
        time.sleep(1.0)  # give a wrong second delivery the chance to show up
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    after = _transcript(tmp_path)
    assert len(after) == 1, after
    assert "Commandes de Maillage" in after[0]["text"]
