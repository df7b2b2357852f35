"""A real bot process on Slack (Socket Mode, FakeSlack) killed with SIGKILL after chat.postMessage and before its record."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.slack_fake import FakeSlack

pytestmark = pytest.mark.slow

TEAM = "T0CRASH"
BOT_TOKEN = "xoxb-1-crash"
BOT_USER = "U0MAILLAGE"
GENERAL = "C0GENERAL"
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[network]
name = "Réseau crash"

[store]
url = "sqlite+aiosqlite:///bot.db"

[slack]
mode = "socket"
bot_token_env = "MAILLAGE_CRASH_SLACK_BOT"
app_token_env = "MAILLAGE_CRASH_SLACK_APP"
api_base_url = "{base_url}"

[[channels]]
id = "general"
platform = "slack"
room = "C0GENERAL"

[roles]
animateurs = ["alice"]

[[members]]
id = "alice"
accounts = ["slack:U0ALICE"]

[[members]]
id = "bob"
accounts = ["slack:U0BOB"]
"""


async def _start(tmp: Path, fake: FakeSlack, fault: str | None) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env["MAILLAGE_CRASH_SLACK_BOT"] = BOT_TOKEN
    env["MAILLAGE_CRASH_SLACK_APP"] = fake.app_token
    # The test entry point: the same composition root as `maillage run`, with the fault injected.
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fixtures.faulty_bot",
        *(["--fault", fault] if fault else []),
        "run",
        "-c",
        str(tmp / "config.toml"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )


def _pending(tmp: Path) -> int:
    db = tmp / "bot.db"
    if not db.exists():
        return -1
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return int(
                conn.execute("select count(*) from outbox where status = 'pending'").fetchone()[0]
            )
        except sqlite3.OperationalError:
            return -1


async def _until(predicate: object, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def _proposals(fake: FakeSlack) -> list[str]:
    return [
        m.ts
        for m in fake.messages(GENERAL, team_id=TEAM)
        if m.user == BOT_USER and m.metadata and any(b["type"] == "actions" for b in m.blocks or [])
    ]


@pytest.mark.parametrize("fault", ["slack_after_post", "after_send"])
async def test_a_post_is_not_repeated_after_a_crash_before_its_record(
    tmp_path: Path, fault: str
) -> None:
    async with FakeSlack() as fake:
        fake.add_workspace(TEAM, BOT_TOKEN, BOT_USER)
        for user in ("U0ALICE", "U0BOB"):
            fake.add_user(TEAM, user)
        fake.add_channel(TEAM, GENERAL, ["U0ALICE", "U0BOB"])
        (tmp_path / "config.toml").write_text(CONFIG.format(base_url=fake.base_url), "utf-8")

        proc = await _start(tmp_path, fake, fault)
        try:
            await fake.wait_socket_connected(timeout=60)
            envelope = await fake.send_envelope(
                "slash_commands",
                fake.slash_command(TEAM, "U0ALICE", GENERAL, "decision «Four à pain» vendredi 18h"),
            )
            await fake.wait_ack(envelope, timeout=3)
            await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        output = (await proc.stdout.read()).decode() if proc.stdout else ""
        assert proc.returncode == -signal.SIGKILL, output
        # Slack has the proposal; the bot's store does not know it was sent.
        (posted,) = _proposals(fake)
        assert _pending(tmp_path) >= 1

        await _until(lambda: fake.socket_connections == 0)
        proc = await _start(tmp_path, fake, None)
        try:
            await fake.wait_socket_connected(timeout=60)
            await _until(lambda: _pending(tmp_path) == 0)
            await asyncio.sleep(1.0)  # give a wrong second post the chance to show up
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
        assert _proposals(fake) == [posted]
        keyed = [c for c in fake.calls_to("chat.postMessage") if c.ok and c.params.get("blocks")]
        assert len(keyed) == 1
        if fault == "slack_after_post":
            # The adapter found its message by the metadata it carries.
            assert [
                c.params.get("include_all_metadata") for c in fake.calls_to("conversations.history")
            ]
        assert fake.errors == []
