"""Stopping `maillage run` with SIGINT or SIGTERM within 5 s in every state, and a console whose input is closed."""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from bot.adapter import EventSink
from bot.cli.adapters import platform_configs
from bot.config import load
from bot.engine.running import Stopping, running_bot
from bot.kernel.i18n import Msg
from scenarios import registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.toml").read_text("utf-8")
STOP_BUDGET_S = 5.0
BOOT_S = 180.0
"""Importing and booting takes a few seconds, many more on a busy test machine."""


class Bot:
    """`maillage run` in a subprocess, its output read line by line as it comes."""

    def __init__(self, config: Path, stdin: Any = subprocess.PIPE, env: dict[str, str] | None = None,
                 close_stdin: bool = False) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "-c", str(config)], cwd=ROOT, text=True,
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
            preexec_fn=(lambda: os.close(0)) if close_stdin else None)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [threading.Thread(target=self._read, args=(s, sink), daemon=True)
                         for s, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, where: str = "err", within: float = BOOT_S) -> re.Match[str]:
        lines = self.err if where == "err" else self.out
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in list(lines):
                found = re.search(pattern, line)
                if found:
                    return found
            assert self.proc.poll() is None, f"exited ({self.proc.returncode}):\n" + "\n".join(self.err[-30:])
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not seen within {within} s:\n" + "\n".join(self.err[-30:]))

    def stop(self, sig: signal.Signals) -> float:
        """Send `sig`; return how long the process took to exit."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        elapsed = time.monotonic() - sent
        for reader in self._readers:
            reader.join(timeout=5)
        return elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def assert_clean(self, sig: signal.Signals) -> None:
        text = "\n".join(self.err)
        assert self.proc.returncode == 0, text[-3000:]
        assert f"Signal {sig.name} reçu" in text and "Maillage est arrêté." in text
        assert "Traceback" not in text and "Unclosed" not in text and "Task exception" not in text, text[-3000:]


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.kill()


# ------------------------------------------------------------------ a homeserver that does not let us in


class _Refusing(http.server.BaseHTTPRequestHandler):
    status = 500
    body = b"<html>down</html>"

    def _answer(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json" if self.body.startswith(b"{") else "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _RateLimited(_Refusing):
    status = 429
    # A minute's wait asked for: only a stop that interrupts the backoff ends within 5 s.
    body = b'{"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 60000}'


@pytest.fixture
def homeserver(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a homeserver in one of the states a login is retried against."""
    kind: str = request.param
    if kind == "closed":  # nothing listens: connection refused
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield f"http://127.0.0.1:{port}"
        return
    if kind == "hanging":  # accepts the connection and never answers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            yield f"http://127.0.0.1:{s.getsockname()[1]}"
        return
    handler = {"500": _Refusing, "429": _RateLimited}[kind]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def matrix_config(tmp_path: Path, homeserver: str) -> Path:
    cfg = EXAMPLE.replace('platform = "console"', 'platform = "matrix"').replace(
        'room = "general"', 'room = "!general:localhost"')
    cfg += (f'\n[matrix]\nhomeserver = "{homeserver}"\nuser_id = "@maillage:localhost"\n'
            'password_env = "MAILLAGE_TEST_MATRIX_PASSWORD"\nencryption = false\n')
    path = tmp_path / "reseau.toml"
    path.write_text(cfg, "utf-8")
    return path


@pytest.mark.parametrize(("sig", "homeserver"), [
    (signal.SIGTERM, "429"),
    (signal.SIGINT, "closed"),
    pytest.param(signal.SIGINT, "500", marks=pytest.mark.slow),
    pytest.param(signal.SIGTERM, "hanging", marks=pytest.mark.slow),
], indirect=["homeserver"])
def test_a_signal_stops_a_login_being_retried(tmp_path: Path, bots: list[Bot], sig: signal.Signals,
                                              homeserver: str, request: pytest.FixtureRequest) -> None:
    bot = Bot(matrix_config(tmp_path, homeserver), stdin=subprocess.DEVNULL,
              env={"MAILLAGE_TEST_MATRIX_PASSWORD": "not-the-real-one"})
    bots.append(bot)
    if request.node.callspec.params["homeserver"] == "hanging":
        bot.wait_for(r"Context impl")  # the store is open; the login request follows and hangs
        time.sleep(3.0)
    else:
        bot.wait_for(r"Matrix: cannot reach .* to log in .* retrying in")
        time.sleep(1.0)  # inside the backoff
    elapsed = bot.stop(sig)
    assert elapsed < STOP_BUDGET_S, f"{elapsed:.1f} s"
    bot.assert_clean(sig)


# ------------------------------------------------------------------ the console


def console_config(tmp_path: Path) -> Path:
    path = tmp_path / "reseau.toml"
    path.write_text(EXAMPLE + "\n[ops]\nport = 0\n", "utf-8")
    return path


def healthz(bot: Bot) -> int:
    url = bot.wait_for(r"ops endpoints on (http://\S+)").group(1)
    with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
        return int(response.status)


def test_sigterm_in_steady_state_with_the_console(tmp_path: Path, bots: list[Bot]) -> None:
    bot = Bot(console_config(tmp_path))
    bots.append(bot)
    assert healthz(bot) == 200
    assert bot.proc.stdin is not None
    bot.proc.stdin.write("alice: !reseau aide\n")
    bot.proc.stdin.flush()
    bot.wait_for(r"Commandes de Maillage", where="out", within=60)
    elapsed = bot.stop(signal.SIGTERM)
    assert elapsed < STOP_BUDGET_S, f"{elapsed:.1f} s"
    bot.assert_clean(signal.SIGTERM)


@pytest.mark.parametrize("stdin", [
    "devnull",
    pytest.param("closed", marks=pytest.mark.slow),
    pytest.param("file", marks=pytest.mark.slow),
])
def test_a_closed_input_is_said_and_the_bot_runs_on(tmp_path: Path, bots: list[Bot], stdin: str) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("alice: !reseau aide\nsans deux-points\n", "utf-8")
    with lines.open() as script:
        source = {"devnull": subprocess.DEVNULL, "closed": None, "file": script}[stdin]
        bot = Bot(console_config(tmp_path), stdin=source, close_stdin=stdin == "closed")
    bots.append(bot)
    bot.wait_for(r"L'entrée standard est fermée\s:\sla console ne lit plus de lignes", where="out")
    if stdin == "file":  # what was in the file was read, and is answered (after the notice, maybe)
        bot.wait_for(r"Commandes de Maillage", where="out")
        bot.wait_for(r"Ligne non comprise.*sans deux-points", where="out")
    time.sleep(1.0)
    assert bot.proc.poll() is None, "\n".join(bot.err[-20:])
    assert healthz(bot) == 200
    elapsed = bot.stop(signal.SIGTERM)
    assert elapsed < STOP_BUDGET_S, f"{elapsed:.1f} s"
    bot.assert_clean(signal.SIGTERM)


@pytest.mark.parametrize("delay", [0.4, 1.0])
def test_ctrl_c_while_the_program_loads_ends_it_quietly(tmp_path: Path, delay: float) -> None:
    # The installed `maillage` program, as a user starts it: the signal comes while its modules
    # are still being imported (they take seconds), or just after; either way no traceback.
    # (The interpreter's own start, its first tens of milliseconds, runs none of our code.)
    program = Path(sys.executable).parent / "maillage"
    assert program.exists(), "the suite runs from the project's virtual environment (make test)"
    proc = subprocess.Popen([str(program), "run", "-c", str(console_config(tmp_path))], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=BOOT_S)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert proc.returncode in (0, 130), (proc.returncode, err[-2000:])


# ------------------------------------------------------------------ the mechanism, in process


async def test_a_stop_that_hangs_is_forced_after_the_deadline() -> None:
    notices: list[Msg] = []
    forced = asyncio.Event()
    stopping = Stopping(notices.append, deadline=0.3, force_exit=forced.set)

    async def stubborn() -> int:
        stopping.serving = True
        await stopping.requested.wait()
        await asyncio.sleep(3600)  # a stop that never ends
        return 0

    task = asyncio.create_task(stopping.run(stubborn()))
    await asyncio.sleep(0.05)
    stopping.on_signal("SIGTERM")
    await asyncio.wait_for(forced.wait(), 5)
    assert [m.key for m in notices] == ["cli.stop.requested", "cli.stop.forced"]
    task.cancel()


async def test_a_signal_cancels_a_start_and_a_second_one_forces() -> None:
    notices: list[Msg] = []
    forced: list[bool] = []
    stopping = Stopping(notices.append, deadline=60, force_exit=lambda: forced.append(True))
    started = asyncio.Event()

    async def starting() -> int:
        started.set()
        await asyncio.sleep(3600)  # a login retried for ever
        return 5

    task = asyncio.create_task(stopping.run(starting()))
    await started.wait()
    stopping.on_signal("SIGINT")
    assert await asyncio.wait_for(task, 5) == 0  # cancelled, and a stop asked for is a clean end
    assert not forced
    stopping.on_signal("SIGINT")
    assert forced == [True] and notices[-1].key == "cli.stop.forced_again"


class _SlowStart:
    """An adapter whose start never ends, like a login retried against a server that is down."""

    platform = "console"

    def __init__(self) -> None:
        from adapters.console import ConsoleAdapter

        self.capabilities = ConsoleAdapter.capabilities
        self.started = asyncio.Event()
        self.stopped = False

    async def start(self, sink: EventSink) -> None:
        self.started.set()
        await asyncio.sleep(3600)

    async def stop(self) -> None:
        self.stopped = True

    def connected(self) -> bool:
        return False


async def test_an_adapter_cancelled_while_starting_is_stopped(tmp_path: Path) -> None:
    """Its connections are closed, not left to the garbage collector's warnings."""
    path = tmp_path / "reseau.toml"
    path.write_text(EXAMPLE.replace('url = "sqlite+aiosqlite:///maillage.db"', 'url = "sqlite+aiosqlite:///m.db"'),
                    "utf-8")
    config = load(path, registry(), platform_configs())
    adapter = _SlowStart()

    async def run() -> None:
        async with running_bot(config, registry(), {"console": adapter}, alarm=False):  # type: ignore[dict-item]
            raise AssertionError("the start never ends")

    task = asyncio.create_task(run())
    await asyncio.wait_for(adapter.started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert adapter.stopped
