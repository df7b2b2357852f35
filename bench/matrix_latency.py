"""Round trips on one Synapse: one hop, a bare matrix-nio echo bot, and Maillage answering a command.

    python bench/matrix_latency.py [--rounds 100]

Starts a throwaway Synapse (the `demo` extra) and measures, one round of each in turn so that
a slow moment of the machine hits all three alike (only one is ever in flight):
  (a) one hop — member A's message seen by member B through B's sync;
  (b) a bare matrix-nio echo bot (its own process) answering A's `!echo`;
  (c) Maillage (`maillage run`, its own process, SQLite store) answering A's `!reseau aide`.
Prints p50/p95 of each and their ratio to (b): what Maillage adds beyond any bot's two hops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nio import AsyncClient, AsyncClientConfig, RoomMessageText, SyncResponse

from adapters.matrix.devserver import DevHomeserver, RegisteredUser

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 5
PASSWORD_ENV = "MAILLAGE_BENCH_PASSWORD"


class Observer:
    """A member's client: sends, and notes when each event arrives through its own sync."""

    def __init__(self, server: DevHomeserver, user: RegisteredUser) -> None:
        self.user_id = user.user_id
        self.client = AsyncClient(server.base_url, user.user_id, device_id=user.device_id,
                                  config=AsyncClientConfig(encryption_enabled=False))
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.arrivals: list[tuple[float, str, Any]] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.sync(timeout=0)
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=30_000,
                                              sync_filter={"room": {"timeline": {"limit": 100}}})
            now = time.perf_counter()
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.1)
                continue
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    self.arrivals.append((now, room_id, event))
            for room_id in response.rooms.invite:
                await self.client.join(room_id)
            self._new.set()

    async def wait(self, match: Callable[[str, Any], bool], after: int, within: float = 30.0) -> float:
        deadline = time.perf_counter() + within
        while True:
            for at, room_id, event in self.arrivals[after:]:
                if match(room_id, event):
                    return at
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{self.user_id}: nothing arrived")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), 1.0)

    async def say(self, room: str, body: str) -> None:
        await self.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": body})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def one_hop(a: Observer, b: Observer, room: str) -> Callable[[int], Awaitable[float]]:
    async def once(i: int) -> float:
        body = f"hop {i} {time.perf_counter_ns()}"
        mark = len(b.arrivals)
        sent = time.perf_counter()
        await a.say(room, body)
        seen = await b.wait(lambda r, e: r == room and getattr(e, "body", None) == body, mark)
        return (seen - sent) * 1000
    return once


def round_trip(a: Observer, room: str, bot_id: str, command: str) -> Callable[[int], Awaitable[float]]:
    """A's command until the bot's answer reaches A (Maillage answers `aide` privately)."""
    def answer(room_id: str, event: Any) -> bool:
        content = (getattr(event, "source", None) or {}).get("content") or {}
        relation = content.get("m.relates_to") or {}
        return (getattr(event, "sender", None) == bot_id
                and content.get("msgtype") in ("m.text", "m.notice")
                and relation.get("rel_type") != "m.replace")

    async def once(i: int) -> float:
        mark = len(a.arrivals)
        sent = time.perf_counter()
        await a.say(room, command.format(i=i))
        seen = await a.wait(answer, mark)
        # Let the bot finish its own bookkeeping before the next measurement starts.
        await asyncio.sleep(0.05)
        return (seen - sent) * 1000
    return once


async def interleaved(count: int, kinds: dict[str, Callable[[int], Awaitable[float]]]) -> dict[str, list[float]]:
    """One round of each kind in turn: slow drifts of the machine hit every kind alike."""
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for i in range(WARMUP + count):
        for name, once in kinds.items():
            ms = await once(i)
            if i >= WARMUP:
                samples[name].append(ms)
    return samples


# --- the bare echo bot (run as its own process) ----------------------------------------------


async def echo_bot(homeserver: str, user_id: str, device_id: str, token: str) -> None:
    """What every bot does at least: sync, see a command, send an answer."""
    client = AsyncClient(homeserver, user_id, device_id=device_id,
                         config=AsyncClientConfig(encryption_enabled=False))
    client.restore_login(user_id, device_id, token)
    first = await client.sync(timeout=0)
    if isinstance(first, SyncResponse):
        for room_id in first.rooms.invite:
            await client.join(room_id)

    async def on_message(room: Any, event: RoomMessageText) -> None:
        if event.sender != user_id and event.body.startswith("!echo"):
            await client.room_send(room.room_id, "m.room.message",
                                   {"msgtype": "m.notice", "body": "echo " + event.body[6:]})

    client.add_event_callback(on_message, RoomMessageText)
    print("ready", flush=True)
    await client.sync_forever(timeout=30_000, sync_filter={"room": {"timeline": {"limit": 100}}})


# --- orchestration ---------------------------------------------------------------------------


def config_text(server: DevHomeserver, bot: RegisteredUser, room: str, member: str) -> str:
    return "\n".join([
        "[network]", 'name = "Banc d\'essai"', 'locale = "fr"', 'timezone = "Europe/Paris"', "",
        "[store]", 'url = "sqlite+aiosqlite:///maillage.db"', "",
        "[matrix]", f'homeserver = "{server.base_url}"', f'user_id = "{bot.user_id}"',
        f'password_env = "{PASSWORD_ENV}"', 'store_path = "matrix-store"', "encryption = false", "",
        "[[channels]]", 'id = "general"', 'platform = "matrix"', f'room = "{room}"', "",
        "[[members]]", 'id = "alice"', 'name = "Alice"', f'accounts = ["matrix:{member}"]', "",
        "[roles]", 'animateurs = ["alice"]', "",
    ])


async def start_process(*args: str, env: dict[str, str] | None = None,
                        ready: Callable[[], Awaitable[None]]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.wait_for(ready(), 60)
    return process


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def joined(observer: Observer, room: str, user_id: str, mark: int = 0) -> None:
    await observer.wait(lambda r, e: r == room and getattr(e, "state_key", None) == user_id
                        and getattr(e, "membership", None) == "join", mark, within=60)


async def main(count: int, command: str) -> int:
    with tempfile.TemporaryDirectory(prefix="maillage-bench-") as tmp:
        async with DevHomeserver(Path(tmp) / "synapse") as server:
            alice_user = await server.register("alice", "alice-pw")
            bob_user = await server.register("bob", "bob-pw")
            echo_user = await server.register("echo", "echo-pw")
            bot_user = await server.register("maillage", "maillage-pw")
            alice, bob = Observer(server, alice_user), Observer(server, bob_user)
            await alice.start()
            await bob.start()
            try:
                hop_room = (await alice.client.room_create(invite=[bob_user.user_id])).room_id
                await bob.client.join(hop_room)
                echo_room = (await alice.client.room_create(invite=[echo_user.user_id])).room_id
                bot_room = (await alice.client.room_create(invite=[bot_user.user_id])).room_id

                echo = await start_process(
                    sys.executable, __file__, "--echo-bot", server.base_url, echo_user.user_id,
                    echo_user.device_id, echo_user.access_token,
                    ready=lambda: joined(alice, echo_room, echo_user.user_id))
                config = Path(tmp) / "bot" / "config.toml"
                config.parent.mkdir()
                config.write_text(config_text(server, bot_user, bot_room, alice_user.user_id), "utf-8")
                bot = await start_process(
                    sys.executable, "-m", "bot.cli", "run", "-c", str(config),
                    env={PASSWORD_ENV: bot_user.password},
                    ready=lambda: joined(alice, bot_room, bot_user.user_id))
                try:
                    # Both bots idle in their long polls while the other is measured.
                    results = await interleaved(count, {
                        "hop": one_hop(alice, bob, hop_room),
                        "echo": round_trip(alice, echo_room, echo_user.user_id, "!echo {i}"),
                        "maillage": round_trip(alice, bot_room, bot_user.user_id, command),
                    })
                finally:
                    await stop_process(echo)
                    await stop_process(bot)
            finally:
                await alice.stop()
                await bob.stop()

    hop, bare, maillage = results["hop"], results["echo"], results["maillage"]
    base = percentile(bare, 50)
    print(f"Matrix round trips on one local Synapse, {count} rounds each (after {WARMUP} warm-up)")
    print(f"{'':<42}{'p50 ms':>9}{'p95 ms':>9}{'p50 / echo':>12}")
    for name, samples in (("(a) one hop: A's message seen by B", hop),
                          ("(b) bare matrix-nio echo bot", bare),
                          (f"(c) Maillage answers {command}", maillage)):
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        print(f"{name:<42}{p50:>9.1f}{p95:>9.1f}{p50 / base:>11.2f}×")
    ratio = percentile(maillage, 50) / base
    print(f"Target: Maillage's p50 within 1.2× of the bare echo bot — {'met' if ratio <= 1.2 else 'NOT met'} "
          f"({ratio:.2f}×).")
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--command", default="!reseau aide",
                        help="what the member asks Maillage (default: !reseau aide)")
    parser.add_argument("--echo-bot", nargs=4, metavar=("HOMESERVER", "USER", "DEVICE", "TOKEN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_bot:
        asyncio.run(echo_bot(*args.echo_bot))
        return 0
    return asyncio.run(main(args.rounds, args.command))


if __name__ == "__main__":
    sys.exit(cli())
