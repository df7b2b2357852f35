"""Inbound reactions through the engine with durable commits, against a raw insert-and-commit loop.

Run: `.venv/bin/python bench/engine.py [--sizes 1000,10000,100000] [--members 500] [--sweep 50,5000]
[--turns 5]`.
Prints events/s for the engine (one open consent round, N reactions from many members) and
the ratio to a raw SQLAlchemy insert-and-commit loop on the same kind of database, measured
beside each row; the process's resident memory after each N (it should stay flat); and with
`--sweep`, the time per event of one producer for each circle size (it should stay flat too);
with `--turns`, raw and one producer in turns, and the median of their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from adapters.console import ConsoleAdapter
from bot.cli.adapters import platform_configs
from bot.config import validate
from bot.engine import Engine
from bot.kernel.clock import SystemClock
from bot.kernel.model import InboundCommand, InboundReaction
from bot.store import create_engine_for, open_store
from scenarios import registry

ANSWERS = ("✅", "⚠️", "🙊")


LAST_CPU = [0.0]
"""Processor time the last `engine_rate` took (this process: the engine and its SQLite threads)."""


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def config_text(members: int) -> str:
    out = ['[network]\nname = "Bench"\n', '[[channels]]\nid = "general"\nplatform = "console"\nroom = "general"\n',
           '[roles]\nanimateurs = ["m0"]\n', '[defaults.consent]\nduration = "30j"\nquestions = "30j"\n']
    for i in range(members):
        out.append(f'[[members]]\nid = "m{i}"\naccounts = ["console:m{i}"]\n')
    return "\n".join(out)


async def raw_rate(url: str, n: int) -> float:
    """The floor: one INSERT and one COMMIT per event, nothing else, same engine settings."""
    engine = create_engine_for(url)
    md = MetaData()
    table = Table("raw_events", md, Column("id", Integer, primary_key=True),
                  Column("platform", String(20)), Column("event_id", String(255)))
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    start = time.perf_counter()
    for i in range(n):
        async with engine.begin() as conn:
            await conn.execute(insert(table).values(platform="console", event_id=f"raw-{i}"))
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return n / elapsed


async def engine_rate(url: str, n: int, members: int, concurrency: int, tmp: Path) -> float:
    config = validate(tomllib.loads(config_text(members)), registry(), tmp / "config.toml", platform_configs())
    store = await open_store(url)
    console = ConsoleAdapter(["general"], {"general": [f"m{i}" for i in range(members)]}, write=lambda _l: None)
    engine = Engine(store, registry(), config, SystemClock(), {"console": console})
    await engine.boot()
    await engine.start()
    await console.start(engine.submit)
    await engine.seed_members()
    # Far enough that the round stays open for the whole run, within the deadline's bound.
    deadline = (datetime.now(UTC) + timedelta(days=300)).strftime("%Y-%m-%dT18:00")
    await engine.submit(InboundCommand(platform="console", event_id="start", channel="general", sender="m0",
                                       text=f'decision "Bench" jusqu\'à {deadline}'))
    await engine.drain_outbox()
    proposal = next(s.message_id for s in console.sent if s.choices)

    async def producer(k: int) -> None:
        for i in range(k, n, concurrency):
            member = i % members
            await engine.submit(InboundReaction(
                platform="console", event_id=f"r{i}", channel="general", sender=f"m{member}",
                target=proposal, key=ANSWERS[i % len(ANSWERS)], reaction_id=f"re{i}"))

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(producer(k) for k in range(concurrency)))
    elapsed = time.perf_counter() - start
    LAST_CPU[0] = time.process_time() - cpu
    assert engine.stats["handled"] == n + 1, engine.stats
    await engine.stop()
    await store.close()
    return n / elapsed


async def sweep(members: list[int], n: int, rounds: int, tmp: Path, url: str | None) -> None:
    """One producer, one event per transaction, with circles of different sizes: the time an
    answer takes should not grow with the circle (issue 14: at most 1.3 times from 50 to 5,000).
    The sizes take turns, `rounds` times, and the median is kept: on a shared machine the time
    of a run moves with what else runs; the processor time this process spent per event moves
    less, and says whether the work itself grows."""
    print(f"one producer, {n} events per circle size, median of {rounds} runs taken in turns:")
    print(f"{'members':>8} {'ev/s':>8} {'ms/event':>9} {'vs first':>9} {'cpu ms/ev':>10} {'vs first':>9}")
    wall: dict[int, list[float]] = {m: [] for m in members}
    cpu: dict[int, list[float]] = {m: [] for m in members}
    for r in range(rounds):
        for m in members:
            rate = await engine_rate(url or f"sqlite+aiosqlite:///{tmp / f'sweep-{m}-{r}.db'}", n, m, 1, tmp)
            wall[m].append(1000 / rate)
            cpu[m].append(1000 * LAST_CPU[0] / n)
    first_wall, first_cpu = statistics.median(wall[members[0]]), statistics.median(cpu[members[0]])
    for m in members:
        w, c = statistics.median(wall[m]), statistics.median(cpu[m])
        print(f"{m:>8} {1000 / w:>8,.0f} {w:>9.2f} {w / first_wall:>9.2f} {c:>10.2f} {c / first_cpu:>9.2f}", flush=True)


async def turns(rounds: int, n: int, members: int, tmp: Path, url: str | None) -> None:
    """The one-producer ratio, raw and engine taking turns: each pair is measured within a
    minute, so a machine whose speed moves (other work on it) moves both; the median pair and
    the spread are printed."""
    print(f"raw and one producer in turns, {n} rows / events each, {members} members:")
    print(f"{'turn':>5} {'raw rows/s':>11} {'1-by-1 ev/s':>12} {'ratio':>7} {'cpu ms/ev':>10}")
    ratios: list[float] = []
    for r in range(rounds):
        raw = await raw_rate(url or f"sqlite+aiosqlite:///{tmp / f'turn-raw-{r}.db'}", n)
        one = await engine_rate(url or f"sqlite+aiosqlite:///{tmp / f'turn-one-{r}.db'}", n, members, 1, tmp)
        ratios.append(one / raw)
        print(f"{r + 1:>5} {raw:>11,.0f} {one:>12,.0f} {one / raw:>7.2f} {1000 * LAST_CPU[0] / n:>10.2f}", flush=True)
    print(f"median ratio {statistics.median(ratios):.2f} (lowest {min(ratios):.2f}, highest {max(ratios):.2f})")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--members", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--raw-sample", type=int, default=5000,
                    help="rows for the raw loop (its rate does not depend on N)")
    ap.add_argument("--sweep", default="", help="circle sizes for the one-producer sweep, e.g. 50,5000")
    ap.add_argument("--sweep-events", type=int, default=2000)
    ap.add_argument("--sweep-rounds", type=int, default=3)
    ap.add_argument("--turns", type=int, default=0,
                    help="raw and one producer taking turns this many times (the one-producer ratio, median)")
    ap.add_argument("--turn-events", type=int, default=2000)
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file per run)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if sizes:
            print(f"{'N':>8} {'raw rows/s':>11} {'engine ev/s':>12} {'ratio':>7} {'1-by-1 ev/s':>12} {'ratio':>7}"
                  f" {'RSS MiB':>8}")
        for n in sizes:
            # The floor is measured again beside each row: on a shared machine the disk's and
            # the processor's speed move during a run, and a ratio is only fair within minutes.
            raw_url = args.url or f"sqlite+aiosqlite:///{tmp / f'raw-{n}.db'}"
            raw = await raw_rate(raw_url, args.raw_sample)
            url = args.url or f"sqlite+aiosqlite:///{tmp / f'engine-{n}.db'}"
            batched = await engine_rate(url, n, args.members, args.concurrency, tmp)
            seq_n = min(n, args.raw_sample)
            url1 = args.url or f"sqlite+aiosqlite:///{tmp / f'engine1-{n}.db'}"
            single = await engine_rate(url1, seq_n, args.members, 1, tmp)
            print(f"{n:>8} {raw:>11,.0f} {batched:>12,.0f} {batched / raw:>7.2f} {single:>12,.0f} {single / raw:>7.2f}"
                  f" {rss_mib():>8.0f}", flush=True)
        if sizes:
            print(f"(pid {os.getpid()}; concurrency {args.concurrency}; {args.members} members; raw = one INSERT and "
                  f"one COMMIT per row, {args.raw_sample} rows, synchronous=FULL WAL; ratio = engine rate / raw rate; "
                  "1-by-1 = one producer, so one event per transaction)")
        if args.turns:
            await turns(args.turns, args.turn_events, args.members, tmp, args.url)
        if args.sweep:
            await sweep([int(m) for m in args.sweep.split(",")], args.sweep_events, args.sweep_rounds, tmp, args.url)


if __name__ == "__main__":
    asyncio.run(main())
