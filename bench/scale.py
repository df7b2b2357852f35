"""Scale on PostgreSQL: 10^4..10^6 scheduled rituals, boot, memory and storm fire lag, against APScheduler 3.

Run: `.venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--storm 10000] [--spread 60]
[--margin 20] [--url postgresql+asyncpg://user@host/db]`.

Without --url a throwaway PostgreSQL server is started (tests/fixtures/postgres.py); with it,
one database per size is created next to the given one and dropped once measured. For each N:

- Maillage: one configured `charter` ritual is booted through the real composition, then its
  `rituals` row and its `timers` row are cloned with COPY into N rituals, each with its own
  timer (clones are ordinary, non-configured rituals `charter:<n>`, so boot neither retires nor
  re-syncs them). `--storm` of them fall due uniformly over `--spread` seconds from T0 = launch
  + `--margin`; the others over the next year. Worker processes (`bench/scale.py worker`) run
  `bot.engine.running.running_bot` on the store with a silent console adapter; the real engine fires the
  timers, the charter scenario posts (the outbox sender performs it) and re-arms next month.
  Run with 1 then 2 processes on the same database (timers claimed with SKIP LOCKED).
- Baseline: APScheduler 3, `AsyncIOScheduler` + `SQLAlchemyJobStore` on the same database (its
  own table), one job per ritual (IntervalTrigger, weekly); one real job is added through the
  API, the others are copies of its pickled state loaded with COPY. One process only:
  APScheduler 3 cannot share a job store between schedulers (its FAQ: jobs would run twice).

Figures per run: boot (top of the worker's main, imports included, until the bot/scheduler is
running), launch→ready (parent's spawn to the ready line), RSS after boot and peak (VmHWM), fire
lag p50/p99/max (Maillage: commit of the firing transaction − due time, via `Engine.on_fired`;
APScheduler: start of the job coroutine − its scheduled time; both after the re-arm is stored),
fired count and duplicates. Ratios against the baseline of the same run, and the issue's
targets checked at the largest N. Loading rows is timed separately and not counted in boot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import pickle
import random
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
sys.path.insert(0, str(ROOT))

# The workers import only the standard library at module level: the baseline worker must not
# pay for Maillage's imports (nor the other way round) in its boot time and memory.

NETWORK = "Scale"
MEMBERS = 8
CHANNEL = "general"
YEAR = timedelta(days=365)
APS_TABLE = "apscheduler_jobs"


def config_text() -> str:
    out = [f'[network]\nname = "{NETWORK}"\ntimezone = "Europe/Paris"\n',
           f'[[channels]]\nid = "{CHANNEL}"\nplatform = "console"\nroom = "{CHANNEL}"\n',
           '[roles]\nanimateurs = ["m0"]\n']
    for i in range(MEMBERS):
        out.append(f'[[members]]\nid = "m{i}"\naccounts = ["console:m{i}"]\n')
    # The charter posts (its default says it in the weekly digest): the clones take the defaults.
    out.append(f'[[rituals]]\nid = "charter"\nkind = "charter"\nchannels = ["{CHANNEL}"]\nwhere = "post"\n')
    out.append('[defaults.charter]\nwhere = "post"\n')
    return "\n".join(out)


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib() -> float:
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """VmHWM, the peak of this process image: getrusage's ru_maxrss would also count the
    spawning parent's memory, which a child keeps as its maximum across fork and exec."""
    return _status_mib("VmHWM")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def wait_for_stop() -> None:
    await asyncio.to_thread(sys.stdin.readline)


# ------------------------------------------------------------------ workers

_BASELINE_LAGS: list[tuple[float, float]] = []
_BASELINE_EXPECT: list[tuple[int, asyncio.Event]] = []


async def baseline_job(due_ts: float) -> None:
    """The baseline's job: record (due, lag). Its reference "__main__:baseline_job" is pickled in
    the job store: the parent and the workers both run this file as a script."""
    _BASELINE_LAGS.append((due_ts, time.time() - due_ts))
    for expected, done in _BASELINE_EXPECT:
        if len(_BASELINE_LAGS) >= expected:
            done.set()


async def maillage_worker(args: argparse.Namespace, t_main: float) -> None:
    from adapters.console import ConsoleAdapter
    from bot.cli.adapters import platform_configs
    from bot.config import validate
    from bot.engine.running import running_bot
    from bot.store import open_store
    from scenarios import registry

    imported = time.perf_counter() - t_main
    t0 = datetime.fromtimestamp(args.t0, UTC)
    t_end = t0 + timedelta(seconds=args.spread)
    eps = timedelta(milliseconds=1)
    lags: list[tuple[float, float]] = []
    other = 0

    def on_fired(committed: datetime, due: Sequence[datetime]) -> None:
        nonlocal other
        for d in due:
            if t0 - eps <= d <= t_end + eps:
                lags.append((d.timestamp(), (committed - d).total_seconds()))
            else:
                other += 1

    reg = registry()
    config = validate(tomllib.loads(config_text()), reg, Path("scale.toml"), platform_configs())
    store = await open_store(args.url, migrate=False)
    console = ConsoleAdapter([CHANNEL], {CHANNEL: [f"m{i}" for i in range(MEMBERS)]}, write=lambda _l: None)
    try:
        async with running_bot(config, reg, {"console": console}, store=store) as bot:
            bot.engine.on_fired.append(on_fired)
            emit("ready", boot_s=time.perf_counter() - t_main, import_s=imported, ready_wall=time.time(),
                 rss_mib=rss_mib())
            await wait_for_stop()
            stats = dict(bot.engine.stats)
    finally:
        await store.close()
    emit("done", lags=lags, other=other, sent=stats["sent"], timers=stats["timers"], rss_mib=rss_mib(),
         peak_rss_mib=peak_rss_mib())


async def baseline_worker(args: argparse.Namespace, t_main: float) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    imported = time.perf_counter() - t_main
    all_ran = asyncio.Event()
    _BASELINE_EXPECT.append((args.expect, all_ran))
    scheduler = AsyncIOScheduler(jobstores={"default": SQLAlchemyJobStore(url=args.url, tablename=APS_TABLE)},
                                 timezone=UTC)
    scheduler.start()
    # start() queues its first wakeup on the loop (call_soon_threadsafe): let it run, so the
    # due jobs have been looked for and the next wake-up time computed.
    loop = asyncio.get_running_loop()
    tick: asyncio.Future[None] = loop.create_future()
    loop.call_soon(tick.set_result, None)
    await tick
    emit("ready", boot_s=time.perf_counter() - t_main, import_s=imported, ready_wall=time.time(),
         rss_mib=rss_mib())
    await wait_for_stop()
    # The parent saw every storm job re-armed in the table; their coroutines start right after.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_ran.wait(), 10)
    lo, hi = args.t0 - 0.001, args.t0 + args.spread + 0.001
    lags = [(d, lag) for d, lag in _BASELINE_LAGS if lo <= d <= hi]
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.1)
    emit("done", lags=lags, other=len(_BASELINE_LAGS) - len(lags), sent=0, timers=len(_BASELINE_LAGS),
         rss_mib=rss_mib(), peak_rss_mib=peak_rss_mib())


def worker_main(argv: Sequence[str]) -> None:
    t_main = time.perf_counter()
    ap = argparse.ArgumentParser(prog="scale.py worker")
    ap.add_argument("--kind", choices=("maillage", "apscheduler"), required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--t0", type=float, required=True, help="first due time of the storm (Unix time)")
    ap.add_argument("--spread", type=float, required=True)
    ap.add_argument("--expect", type=int, default=0, help="storm jobs this process should run (baseline)")
    args = ap.parse_args(argv)
    run = maillage_worker if args.kind == "maillage" else baseline_worker
    asyncio.run(run(args, t_main))


# ------------------------------------------------------------------ parent: databases


def _naive(dt: datetime) -> datetime:
    """The store keeps UTC as `timestamp without time zone`."""
    return dt.astimezone(UTC).replace(tzinfo=None)


def _dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_driver(url: str, driver: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


async def pg_connect(url: str) -> Any:
    """A plain asyncpg connection (COPY, arrays, polling) to the database of `url`."""
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(_dsn(url))


class Databases:
    """One fresh database per size, on a throwaway server or next to --url."""

    def __init__(self, url: str | None) -> None:
        self.given = url
        self.server: Any = None
        self.created: list[str] = []

    def start(self) -> None:
        if self.given is None:
            from tests.fixtures.postgres import TempPostgres

            self.server = TempPostgres(database="scale_admin").start()

    def admin_url(self) -> str:
        return self.given if self.given is not None else str(self.server.url)

    async def fresh(self, n: int) -> str:
        from sqlalchemy.engine import make_url

        admin = make_url(_with_driver(self.admin_url(), "asyncpg"))
        name = f"{admin.database}_scale_{n}" if self.given is not None else f"scale_{n}"
        conn = await pg_connect(self.admin_url())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    async def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        conn = await pg_connect(self.admin_url())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


# ------------------------------------------------------------------ parent: loading rows


@dataclass
class Population:
    n: int
    ritual_ids: list[int]
    storm_idx: list[int]
    """Positions (into ritual_ids and the baseline's job ids r<i>) of the storm, in random order."""
    maillage_load_s: float = 0.0
    baseline_load_s: float = 0.0


def far_dues(n: int, rng: random.Random, now: datetime) -> Iterator[datetime]:
    start = now + timedelta(days=2)
    for _ in range(n):
        yield start + YEAR * rng.random()


async def load_maillage(url: str, n: int, storm: int, rng: random.Random) -> Population:

    from adapters.console import ConsoleAdapter
    from bot.cli.adapters import platform_configs
    from bot.config import validate
    from bot.engine.running import running_bot
    from bot.store import open_store
    from scenarios import registry

    started = time.perf_counter()
    reg = registry()
    config = validate(tomllib.loads(config_text()), reg, Path("scale.toml"), platform_configs())
    store = await open_store(url)  # migrates
    console = ConsoleAdapter([CHANNEL], {CHANNEL: [f"m{i}" for i in range(MEMBERS)]}, write=lambda _l: None)
    try:
        # The real composition once: network, channel, members, the configured charter and its timer.
        async with running_bot(config, reg, {"console": console}, store=store, alarm=False):
            pass
    finally:
        await store.close()
    conn = await pg_connect(url)
    try:
        ritual = await conn.fetchrow("SELECT * FROM rituals WHERE key = 'cfg:charter'")
        timer = await conn.fetchrow("SELECT * FROM timers WHERE ritual_id = $1", ritual["id"])
        assert ritual is not None and timer is not None, "the configured charter did not start"
        columns = list(ritual.keys())
        base = int(await conn.fetchval("SELECT max(id) FROM rituals")) + 1
        ritual_ids = [int(ritual["id"]), *range(base, base + n - 1)]

        def clones() -> Iterator[tuple[Any, ...]]:
            template = dict(ritual)
            for k in range(1, n):
                row = dict(template, id=base + k - 1, key=f"charter:{k + 1}", number=k + 1)
                yield tuple(row[c] for c in columns)

        async with conn.transaction():
            await conn.copy_records_to_table("rituals", records=clones(), columns=columns)
            await conn.execute("SELECT setval(pg_get_serial_sequence('rituals', 'id'), (SELECT max(id) FROM rituals))")
            # Every ritual gets a copy of the charter's own timer row, due within the next year
            # (the storm's are moved to T0 before each run).
            await conn.execute("DELETE FROM timers WHERE id = $1", timer["id"])
            now = datetime.now(UTC)
            dues = far_dues(n, rng, now)
            timer_rows = ((timer["network_id"], rid, timer["name"], _naive(next(dues)), timer["payload"])
                          for rid in ritual_ids)
            await conn.copy_records_to_table("timers", records=timer_rows,
                                             columns=["network_id", "ritual_id", "name", "due_at", "payload"])
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM rituals WHERE status = 'open'")
        timers = await conn.fetchval("SELECT count(*) FROM timers")
        assert count == n and timers == n, (count, timers)
    finally:
        await conn.close()
    storm_idx = rng.sample(range(n), min(storm, n))
    return Population(n, ritual_ids, storm_idx, maillage_load_s=time.perf_counter() - started)


def _aps_state(template: dict[str, Any], job_id: str, due: datetime) -> bytes:
    from apscheduler.triggers.interval import IntervalTrigger

    state = dict(template, id=job_id, args=(due.timestamp(),), next_run_time=due,
                 trigger=IntervalTrigger(weeks=1, start_date=due, timezone=UTC))
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


async def aps_template(url: str, first_due: datetime) -> dict[str, Any]:
    """One job added through APScheduler's own API into its SQLAlchemyJobStore; its stored state."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    def add() -> bytes:
        jobstore = SQLAlchemyJobStore(url=_with_driver(url, "psycopg"), tablename=APS_TABLE)
        scheduler = BackgroundScheduler(jobstores={"default": jobstore}, timezone=UTC)
        scheduler.start(paused=True)
        try:
            scheduler.add_job(baseline_job, IntervalTrigger(weeks=1, start_date=first_due, timezone=UTC),
                              args=[first_due.timestamp()], id="r0", misfire_grace_time=None, coalesce=True,
                              max_instances=1)
            with jobstore.engine.begin() as c:
                state = c.execute(jobstore.jobs_t.select().where(jobstore.jobs_t.c.id == "r0")).one().job_state
        finally:
            scheduler.shutdown(wait=False)
        return bytes(state)

    state: dict[str, Any] = pickle.loads(await asyncio.to_thread(add))
    return state


async def load_baseline(url: str, pop: Population, rng: random.Random) -> dict[str, Any]:

    started = time.perf_counter()
    now = datetime.now(UTC)
    dues = far_dues(pop.n, rng, now)
    template = await aps_template(url, next(dues))
    conn = await pg_connect(url)
    try:
        def rows() -> Iterator[tuple[str, float, bytes]]:
            for i in range(1, pop.n):
                due = next(dues)
                yield f"r{i}", due.timestamp(), _aps_state(template, f"r{i}", due)

        await conn.copy_records_to_table(APS_TABLE, records=rows(), columns=["id", "next_run_time", "job_state"])
        await conn.execute(f"ANALYZE {APS_TABLE}")
        count = await conn.fetchval(f"SELECT count(*) FROM {APS_TABLE}")
        assert count == pop.n, count
    finally:
        await conn.close()
    pop.baseline_load_s = time.perf_counter() - started
    return template


def storm_dues(t0: float, spread: float, count: int) -> list[datetime]:
    start = datetime.fromtimestamp(t0, UTC)
    return [start + timedelta(seconds=spread * k / count) for k in range(count)]


async def arm_maillage_storm(conn: Any, pop: Population, t0: float, spread: float) -> None:
    dues = storm_dues(t0, spread, len(pop.storm_idx))
    rids = [pop.ritual_ids[i] for i in pop.storm_idx]
    status = await conn.execute(
        "UPDATE timers SET due_at = v.due FROM unnest($1::int[], $2::timestamp[]) AS v(rid, due) "
        "WHERE timers.ritual_id = v.rid AND timers.name = 'post'", rids, [_naive(d) for d in dues])
    assert status == f"UPDATE {len(rids)}", status


async def arm_baseline_storm(conn: Any, pop: Population, template: dict[str, Any], t0: float,
                             spread: float) -> None:
    dues = storm_dues(t0, spread, len(pop.storm_idx))
    ids = [f"r{i}" for i in pop.storm_idx]
    states = [_aps_state(template, job_id, due) for job_id, due in zip(ids, dues, strict=True)]
    status = await conn.execute(
        f"UPDATE {APS_TABLE} SET next_run_time = v.t, job_state = v.s "
        "FROM unnest($1::varchar[], $2::float8[], $3::bytea[]) AS v(id, t, s) "
        f"WHERE {APS_TABLE}.id = v.id", ids, [d.timestamp() for d in dues], states)
    assert status == f"UPDATE {len(ids)}", status


# ------------------------------------------------------------------ parent: runs


@dataclass
class Run:
    label: str
    processes: int
    storm: int
    boot_s: float = float("nan")
    launch_s: float = float("nan")
    rss_boot: float = float("nan")
    rss_peak: float = float("nan")
    lags: list[float] = field(default_factory=list)
    fired: int = 0
    duplicates: int = 0
    sent: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What breaks exactly-once or completeness (notes are only informative)."""

    def p(self, q: float) -> float:
        return percentile(self.lags, q) * 1000


async def _read_event(proc: asyncio.subprocess.Process, event: str, deadline: float, errlog: Path) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise TimeoutError(f"no {event!r} line from worker {proc.pid}")
        line = await asyncio.wait_for(proc.stdout.readline(), remaining)
        if not line:
            raise RuntimeError(f"worker {proc.pid} exited before {event!r}:\n{_text(errlog)[-3000:]}")
        text = line.decode(errors="replace").strip()
        if text.startswith("{"):
            msg: dict[str, Any] = json.loads(text)
            if msg.get("event") == event:
                return msg


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


async def run_workers(kind: str, count: int, url: str, t0: float, spread: float, expect: int, patience: float,
                      finished: Callable[[], Any], logdir: Path, label: str) -> Run:
    run = Run(label, count, expect)
    procs: list[tuple[asyncio.subprocess.Process, float, Path]] = []
    for i in range(count):
        errlog = logdir / f"{label.replace(' ', '_')}-{i}.stderr"
        with errlog.open("wb") as err:
            launched = time.time()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), "worker", "--kind", kind, "--url", url,
                "--t0", repr(t0), "--spread", repr(spread), "--expect", str(expect),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err, cwd=ROOT,
                limit=1 << 26)
        procs.append((proc, launched, errlog))
    try:
        readies = [await _read_event(p, "ready", t0 + spread + patience, e) for p, _, e in procs]
        run.boot_s = max(r["boot_s"] for r in readies)
        run.launch_s = max(r["ready_wall"] - spawned for r, (_, spawned, _) in zip(readies, procs, strict=True))
        run.rss_boot = max(r["rss_mib"] for r in readies)
        late = [r["ready_wall"] - t0 for r in readies if r["ready_wall"] > t0]
        if late:
            run.notes.append(f"ready {max(late):.1f} s after the storm began: raise --margin "
                             "(timers fired during boot are not in the lag figures)")
        deadline = t0 + spread + patience
        while True:
            if time.time() > t0 + spread and await finished():
                break
            if time.time() > deadline:
                run.problems.append(f"storm not finished {patience:.0f} s after its last due time")
                break
            if any(p.returncode is not None for p, _, _ in procs):
                break
            await asyncio.sleep(0.25)
        for p, _, _ in procs:
            assert p.stdin is not None
            p.stdin.write(b"stop\n")
            await p.stdin.drain()
        dones = [await _read_event(p, "done", time.time() + 120, e) for p, _, e in procs]
        for p, _, _ in procs:
            await p.wait()
    finally:
        for p, _, _ in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    pairs = [(d, lag) for done in dones for d, lag in done["lags"]]
    run.lags = [lag for _, lag in pairs]
    run.fired = len(pairs)
    run.duplicates = sum(c - 1 for c in Counter(d for d, _ in pairs).values())
    run.rss_peak = max(d["peak_rss_mib"] for d in dones)
    run.sent = sum(d["sent"] for d in dones)
    others = sum(d["other"] for d in dones)
    if others:
        run.problems.append(f"{others} firing(s) outside the storm window")
    for _, _, errlog in procs:
        text = _text(errlog).strip()
        if text:
            run.notes.append(f"stderr of a worker ({len(text.splitlines())} lines), last: {text.splitlines()[-1][:160]}")
    return run


async def run_maillage(url: str, pop: Population, processes: int, args: argparse.Namespace, logdir: Path) -> Run:
    conn = await pg_connect(url)
    try:
        t0 = time.time() + args.margin
        await arm_maillage_storm(conn, pop, t0, args.spread)
        before = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))
        t_end = _naive(datetime.fromtimestamp(t0 + args.spread, UTC)) + timedelta(milliseconds=1)

        async def finished() -> bool:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM timers WHERE due_at <= $1) AS due, "
                "(SELECT count(*) FROM outbox WHERE status = 'pending') AS pending", t_end)
            return bool(row["due"] == 0 and row["pending"] == 0)

        label = f"maillage ×{processes}"
        run = await run_workers("maillage", processes, url, t0, args.spread, len(pop.storm_idx), args.timeout,
                                finished, logdir, label)
        # What the store says, independently of the hooks: one post per storm ritual, each sent.
        row = await conn.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT ritual_id) AS rituals, "
            "count(*) FILTER (WHERE status = 'sent') AS sent FROM outbox WHERE id > $1", before)
        rearmed = await conn.fetchval(
            "SELECT count(*) FROM timers WHERE ritual_id = ANY($1::int[]) AND due_at > $2",
            [pop.ritual_ids[i] for i in pop.storm_idx], t_end)
        storm = len(pop.storm_idx)
        if (row["rows"], row["rituals"], row["sent"], rearmed) != (storm, storm, storm, storm):
            run.problems.append(f"store: {row['rows']} posts for {row['rituals']} rituals, {row['sent']} sent, "
                             f"{rearmed} re-armed (expected {storm} each)")
        run.duplicates = max(run.duplicates, row["rows"] - row["rituals"])
        return run
    finally:
        await conn.close()


async def run_baseline(url: str, pop: Population, template: dict[str, Any], args: argparse.Namespace,
                       logdir: Path) -> Run:
    conn = await pg_connect(url)
    try:
        t0 = time.time() + args.margin
        await arm_baseline_storm(conn, pop, template, t0, args.spread)
        t_end = t0 + args.spread + 0.001

        async def finished() -> bool:
            left = await conn.fetchval(f"SELECT count(*) FROM {APS_TABLE} WHERE next_run_time <= $1", t_end)
            return bool(left == 0)

        return await run_workers("apscheduler", 1, _with_driver(url, "psycopg"), t0, args.spread,
                                 len(pop.storm_idx), args.timeout, finished, logdir,
                                 "APScheduler 3 SQLAlchemyJobStore ×1")
    finally:
        await conn.close()


# ------------------------------------------------------------------ report


def fmt(value: float, spec: str) -> str:
    return "—" if math.isnan(value) else format(value, spec)


def print_table(n: int, pop: Population, runs: Sequence[Run], storm: int, spread: float) -> None:
    print(f"\nN = {n:,} rituals; storm: {storm:,} due over {spread:g} s  "
          f"(PostgreSQL setup, not in boot: Maillage rows {pop.maillage_load_s:.1f} s, "
          f"APScheduler rows {pop.baseline_load_s:.1f} s)")
    head = (f"  {'':<36} {'boot s':>7} {'launch→ready s':>15} {'RSS boot MiB':>13} {'RSS peak MiB':>13} "
            f"{'lag p50 ms':>11} {'lag p99 ms':>11} {'lag max ms':>11} {'fired':>7} {'dup':>4} {'sent':>6}")
    print(head)
    for r in runs:
        print(f"  {r.label:<36} {fmt(r.boot_s, '.2f'):>7} {fmt(r.launch_s, '.2f'):>15} {fmt(r.rss_boot, '.0f'):>13} "
              f"{fmt(r.rss_peak, '.0f'):>13} {fmt(r.p(50), '.0f'):>11} {fmt(r.p(99), '.0f'):>11} "
              f"{fmt(r.p(100), '.0f'):>11} {r.fired:>7} {r.duplicates:>4} {r.sent if r.label.startswith('maillage') else '—':>6}")
        for note in r.problems + r.notes:
            print(f"    ! {r.label}: {note}")
    by = {r.label: r for r in runs}
    one, base = by.get("maillage ×1"), by.get("APScheduler 3 SQLAlchemyJobStore ×1")
    if one and base:
        print(f"  ratios (baseline / maillage ×1): RSS peak {base.rss_peak / one.rss_peak:.2f}, "
              f"RSS boot {base.rss_boot / one.rss_boot:.2f}, boot {base.boot_s / one.boot_s:.2f}, "
              f"launch→ready {base.launch_s / one.launch_s:.2f}, lag p99 {base.p(99) / one.p(99):.2f}")


def print_targets(n: int, runs: Sequence[Run]) -> bool:
    by = {r.label: r for r in runs}
    one, two = by.get("maillage ×1"), by.get("maillage ×2")
    base = by.get("APScheduler 3 SQLAlchemyJobStore ×1")
    print(f"\nTargets at N = {n:,}:")
    results: list[bool] = []

    def check(name: str, ok: bool, detail: str) -> None:
        results.append(ok)
        print(f"  {'MET    ' if ok else 'NOT MET'}  {name}: {detail}")

    if one:
        worst = max(one.launch_s, two.launch_s if two else 0.0)
        check("boot ≤ 10 s", worst <= 10.0, f"launch→ready {worst:.2f} s at worst (main→ready {one.boot_s:.2f} s ×1)")
    if one and base:
        check("memory ≤ 1/10 of the baseline's", one.rss_peak <= base.rss_peak / 10,
              f"peak RSS {one.rss_peak:.0f} MiB vs APScheduler {base.rss_peak:.0f} MiB "
              f"(ratio {base.rss_peak / one.rss_peak:.2f}, needs ≥ 10)")
    if one:
        check("storm lag p99 ≤ 1 s, one process", one.p(99) <= 1000, f"p99 {one.p(99):.0f} ms")
    if one and two:
        check("storm lag p99 lower with two processes", two.p(99) < one.p(99),
              f"p99 {two.p(99):.0f} ms ×2 vs {one.p(99):.0f} ms ×1")
    for r in (one, two):
        if r:
            check(f"{r.label}: each storm timer fired once", r.fired == r.storm and r.duplicates == 0 and not r.problems,
                  f"{r.fired}/{r.storm} fired, {r.duplicates} duplicate(s), {r.sent} sent")
    return all(results)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--storm", type=int, default=10000, help="timers falling due together")
    ap.add_argument("--spread", type=float, default=60.0, help="seconds over which the storm falls due")
    ap.add_argument("--margin", type=float, default=20.0, help="seconds from launching the workers to T0")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds after the last due time to give up")
    ap.add_argument("--url", default=None, help="a PostgreSQL URL (default: a throwaway server)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    wall = time.perf_counter()
    dbs = Databases(args.url)
    setup = time.perf_counter()
    dbs.start()
    print(f"PostgreSQL: {'given URL' if args.url else 'throwaway server'} ready in {time.perf_counter() - setup:.1f} s; "
          f"{os.cpu_count()} CPU(s); Python {sys.version.split()[0]}", flush=True)
    print("APScheduler 3 runs with one process only: two schedulers sharing one job store would run "
          "jobs twice (APScheduler 3 FAQ).", flush=True)
    last: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="maillage-scale-") as d:
            logdir = Path(d)
            for n in sizes:
                rng = random.Random(args.seed)
                url = await dbs.fresh(n)
                pop = await load_maillage(url, n, args.storm, rng)
                template = None if args.no_baseline else await load_baseline(url, pop, rng)
                print(f"  N={n:,}: rows loaded (Maillage {pop.maillage_load_s:.1f} s, "
                      f"APScheduler {pop.baseline_load_s:.1f} s)", flush=True)
                runs: list[Run] = []
                for processes in (1, 2):
                    runs.append(await run_maillage(url, pop, processes, args, logdir))
                    print(f"  N={n:,}: {runs[-1].label} done", flush=True)
                if template is not None:
                    runs.append(await run_baseline(url, pop, template, args, logdir))
                    print(f"  N={n:,}: {runs[-1].label} done", flush=True)
                print_table(n, pop, runs, len(pop.storm_idx), args.spread)
                sys.stdout.flush()
                await dbs.drop(url)
                last = runs
            print_targets(sizes[-1], last)
    finally:
        dbs.stop()
    print(f"\n(boot = worker main() to running, imports included; launch→ready = parent's spawn to the ready "
          f"line; ×2 shows the worse process; lag = firing commit (Maillage) or job start (APScheduler) − due; "
          f"total wall {time.perf_counter() - wall:.0f} s)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2:])
    else:
        asyncio.run(main())
