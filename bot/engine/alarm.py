"""APScheduler 3 as the in-process alarm clock; the store's timers table stays the truth."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("maillage.scheduler")
_APS_LOG = logging.getLogger("apscheduler")
if _APS_LOG.level == logging.NOTSET:
    # APScheduler logs every wake-up at INFO ("Running job", "Added job"): during a storm of
    # timers that is several lines per timer. Our own line says what fired.
    _APS_LOG.setLevel(logging.WARNING)

_ALARMS: dict[str, Alarm] = {}
RETRY_S = 2.0
WAKE_INSTANCES = 8
"""A wake job only pokes the alarm; re-armed for a date already past while its previous run
is still finishing, it must not be skipped (with a warning) for that."""


async def _ring(alarm_id: str) -> None:
    # Jobs are module-level functions naming their alarm by id (never bound methods), as
    # APScheduler recommends: nothing about them needs pickling or outlives the process.
    # The job only pokes the alarm's own task and returns at once: were it to fire the
    # timers itself, a wake-up due while it still runs (a storm of timers) would be skipped
    # by APScheduler (max_instances) and, its date trigger spent, lost until the safety poll.
    alarm = _ALARMS.get(alarm_id)
    if alarm is not None:
        alarm.poke()


class Alarm:
    """One wake-up job at the earliest due timer, plus a slow safety poll. Rebuilt from the
    store at boot (`rearm`), so nothing about the future lives only in memory."""

    def __init__(
        self,
        alarm_id: str,
        fire: Callable[[], Awaitable[int]],
        next_due: Callable[[], Awaitable[datetime | None]],
        poll_seconds: float = 30.0,
    ) -> None:
        self.id = alarm_id
        self._fire = fire
        self._next_due = next_due
        self._poll = poll_seconds
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _ALARMS[self.id] = self
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"alarm-{self.id}")
        self._scheduler.start()
        self._scheduler.add_job(_ring, IntervalTrigger(seconds=self._poll), args=[self.id], id=f"{self.id}:poll",
                                replace_existing=True, coalesce=True, max_instances=1)
        await self.rearm()

    async def rearm(self) -> None:
        due = await self._next_due()
        job_id = f"{self.id}:wake"
        if due is None:
            if self._scheduler.get_job(job_id):
                self._scheduler.remove_job(job_id)
            return
        self._scheduler.add_job(_ring, DateTrigger(run_date=due), args=[self.id], id=job_id, replace_existing=True,
                                coalesce=True, misfire_grace_time=None, max_instances=WAKE_INSTANCES)

    def request_rearm(self) -> None:
        asyncio.get_running_loop().create_task(self._rearm_or_retry())

    async def _rearm_or_retry(self) -> None:
        try:
            await self.rearm()
        except Exception as exc:
            # The store is unreachable: look again soon rather than at the next poll.
            log.warning("cannot read the next due timer (%s); retrying in %.0f s", exc, RETRY_S)
            self._scheduler.add_job(_ring, DateTrigger(run_date=datetime.now(UTC) + timedelta(seconds=RETRY_S)),
                                    args=[self.id], id=f"{self.id}:wake", replace_existing=True,
                                    coalesce=True, misfire_grace_time=None, max_instances=WAKE_INSTANCES)

    def poke(self) -> None:
        """Ask for a ring: pokes while one runs are kept (one more ring follows), never lost."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.ring()
            except Exception:  # ring logs its own failures; this task must outlive anything
                log.exception("alarm ring failed")

    async def ring(self) -> None:
        async with self._lock:
            try:
                fired = await self._fire()
                if fired:
                    log.info("fired %d timer(s)", fired)
            except Exception:
                log.exception("firing due timers failed; retrying shortly")
            await self._rearm_or_retry()

    async def stop(self) -> None:
        _ALARMS.pop(self.id, None)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
