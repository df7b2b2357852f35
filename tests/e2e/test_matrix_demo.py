"""`maillage demo`: a week of rituals on a throwaway homeserver, then a clean stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fixtures.synapse import requires_synapse
from tests.spaces import spaces

pytestmark = [
    pytest.mark.slow,
    pytest.mark.synapse,
    requires_synapse,
]

ROOT = Path(__file__).parents[2]


def _env() -> dict[str, str]:
    # Run from an empty directory with only the sources importable: the demo must not rely
    # on anything left in a working copy (a config, a database, a crypto store).
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


async def test_demo_once_plays_the_week_and_stops(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "demo", "--once", cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 300)
    text = spaces(out.decode())
    assert process.returncode == 0, err.decode()[-3000:]
    for expected in ("Proposition #1", "répond au sondage", "Réponses : ✅",  # a consent round
                     "Tirage au sort #1", "le panel est au complet",  # a draw
                     "Réunion : Réunion du réseau, demain",  # a meeting's one message
                     "Réunion : Réunion du réseau, dans 1 heure",  # edited as it nears
                     "Résumé de la semaine",  # the digest
                     "Adoptée", "Démo terminée"):
        assert expected in text, f"{expected!r} missing from the demo's output:\n{text[-3000:]}"
    assert await asyncio.to_thread(os.listdir, tmp_path) == [], "the demo left files behind"


async def test_demo_stays_up_for_a_matrix_client_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "demo", cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not any("Ctrl-C" in line for line in lines):
            raw = await asyncio.wait_for(process.stdout.readline(), 300)
            assert raw, "the demo ended before offering a login:\n" + "".join(lines[-40:])
            lines.append(raw.decode())
        text = "".join(lines)
        url = re.search(r"http://127\.0\.0\.1:\d+", text)
        assert url, text[-2000:]
        assert re.search(r"@alice:localhost\s+mot de passe \S+", text)
        # A Matrix client can log in with what is printed.
        password = re.search(r"@bruno:localhost\s+mot de passe (\S+)", text)
        assert password
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url.group(0)}/_matrix/client/v3/login", json={
                "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bruno"},
                "password": password.group(1)}) as response:
                assert response.status == 200
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0
        assert "Démo terminée" in rest.decode()
        # The homeserver went with it.
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"{url.group(0)}/_matrix/client/versions",
                                  timeout=aiohttp.ClientTimeout(total=5))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
