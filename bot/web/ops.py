"""Operations endpoints: `/healthz` (store and platforms reachable) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from bot.adapter import Adapter
from bot.engine import FIRE_LAG_BUCKETS, Engine
from bot.web.register.site import RegisterSite

log = logging.getLogger("maillage.ops")

PROBE_TIMEOUT = 5.0
"""Seconds a probe waits for the database: a scrape must answer even when the store hangs."""


@dataclass(frozen=True)
class StoreSample:
    """What the store says about one network at one instant (the engine's clock)."""

    outbox_pending: int
    outbox_oldest_age: float
    timers_due: int
    timer_lag: float
    dead_letters: int = 0


async def sample_store(engine: Engine) -> StoreSample:
    now = engine.clock.now()
    async with engine.store.reading() as unit:
        pending, oldest_at = await unit.outbox.pending_stats(engine.network_id)
        due, earliest_at = await unit.timers.due_count(engine.network_id, now)
        dead = await unit.journal.dead_letter_count(engine.network_id)
    return StoreSample(
        outbox_pending=pending,
        outbox_oldest_age=max(0.0, (now - oldest_at).total_seconds()) if oldest_at else 0.0,
        timers_due=due,
        timer_lag=max(0.0, (now - earliest_at).total_seconds()) if earliest_at else 0.0,
        dead_letters=dead,
    )


def account_of(adapter: Adapter) -> str:
    """The platform account an adapter runs as (Matrix: the bot's user id), for labels."""
    user = getattr(adapter, "user_id", None)
    return user if isinstance(user, str) and user else adapter.platform


def sync_lag_of(adapter: Adapter) -> float | None:
    """Seconds since the adapter last heard from its platform, for adapters that can tell
    (an optional `sync_lag() -> float | None`, e.g. Matrix's long-polling sync)."""
    probe = getattr(adapter, "sync_lag", None)
    if not callable(probe):
        return None
    try:
        value = probe()
    except Exception:
        log.debug("sync_lag of %s failed", adapter.platform, exc_info=True)
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class EngineCollector:
    """Reads the engines' counters live at each scrape; the store's figures come from the
    last `refresh()` (the exposition is synchronous, the store is not)."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        self.engines = list(engines)
        self.samples: list[StoreSample | None] = [None] * len(self.engines)

    async def refresh(self) -> None:
        for i, engine in enumerate(self.engines):
            try:
                self.samples[i] = await asyncio.wait_for(sample_store(engine), PROBE_TIMEOUT)
            except Exception as exc:
                # Reported as maillage_store_up 0; the details stay in the log, not the scrape.
                log.warning("metrics: store of %r unreachable: %s", engine.config.network.name,
                            type(exc).__name__)
                self.samples[i] = None

    def describe(self) -> Iterable[Metric]:
        # Names only, so that registering does not touch the engines.
        return _Families().all()

    def collect(self) -> Iterable[Metric]:
        f = _Families()
        for engine, sample in zip(self.engines, self.samples, strict=True):
            net = [engine.config.network.name]
            f.handled.add_metric(net, engine.stats.get("handled", 0))
            f.duplicates.add_metric(net, engine.stats.get("duplicates", 0))
            f.sent.add_metric(net, engine.stats.get("sent", 0))
            f.store_up.add_metric(net, 0 if sample is None else 1)
            if sample is not None:
                f.pending.add_metric(net, sample.outbox_pending)
                f.oldest.add_metric(net, sample.outbox_oldest_age)
                f.due.add_metric(net, sample.timers_due)
                f.lag.add_metric(net, sample.timer_lag)
                f.dead.add_metric(net, sample.dead_letters)
            fire = engine.fire_lag
            f.fire_lag.add_metric(net, buckets=[
                *((str(bound), n) for bound, n in zip(FIRE_LAG_BUCKETS, fire.buckets, strict=True)),
                ("+Inf", fire.count)], sum_value=fire.total)
            for adapter in engine.adapters.values():
                value = sync_lag_of(adapter)
                if value is not None:
                    f.sync_lag.add_metric([*net, account_of(adapter)], value)
        return f.all()


class _Families:
    """The exposed metrics, fresh for each scrape."""

    def __init__(self) -> None:
        net = ["network"]
        self.handled = CounterMetricFamily(
            "maillage_events_handled", "Inbound events committed and routed.", labels=net)
        self.duplicates = CounterMetricFamily(
            "maillage_events_duplicate", "Inbound events dropped as already seen.", labels=net)
        self.sent = CounterMetricFamily(
            "maillage_messages_sent", "Outbox entries delivered to a platform.", labels=net)
        self.store_up = GaugeMetricFamily(
            "maillage_store_up", "1 when the last probe of the store answered.", labels=net)
        self.pending = GaugeMetricFamily(
            "maillage_outbox_pending", "Outbox entries not yet delivered.", labels=net)
        self.oldest = GaugeMetricFamily(
            "maillage_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered outbox entry.",
            labels=net)
        self.due = GaugeMetricFamily(
            "maillage_timers_due", "Timers due and not yet fired.", labels=net)
        self.lag = GaugeMetricFamily(
            "maillage_timer_lag_seconds", "How late the oldest due timer not yet fired is.", labels=net)
        self.dead = GaugeMetricFamily(
            "maillage_dead_letters", "Events set aside because handling them failed deterministically "
            "(`maillage db dead-letters` lists them).", labels=net)
        self.fire_lag = HistogramMetricFamily(
            "maillage_timer_fire_lag_seconds", "How late timers fired, from their due time to the "
            "commit of their firing, in this process.", labels=net)
        self.sync_lag = GaugeMetricFamily(
            "maillage_matrix_sync_lag_seconds", "Seconds since the platform account's last sync.",
            labels=[*net, "account"])

    def all(self) -> list[Metric]:
        return [self.handled, self.duplicates, self.sent, self.store_up, self.pending, self.oldest,
                self.due, self.lag, self.dead, self.fire_lag, self.sync_lag]


@dataclass(frozen=True)
class NetworkHealth:
    network: str
    store: bool
    adapters: dict[str, bool]

    @property
    def ok(self) -> bool:
        return self.store and all(self.adapters.values())


async def _store_reachable(engine: Engine) -> bool:
    async def probe() -> None:
        async with engine.store.reading() as unit:
            await unit.probe()

    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT)
    except Exception as exc:
        log.warning("health: store of %r unreachable: %s", engine.config.network.name, type(exc).__name__)
        return False
    return True


def _connected(adapter: Adapter) -> bool:
    try:
        return bool(adapter.connected())
    except Exception:
        log.warning("health: %s adapter could not say whether it is connected", adapter.platform,
                    exc_info=True)
        return False


async def health(engines: Sequence[Engine]) -> list[NetworkHealth]:
    out: list[NetworkHealth] = []
    for engine in engines:
        store_ok = await _store_reachable(engine)
        adapters = {name: _connected(a) for name, a in engine.adapters.items()}
        out.append(NetworkHealth(engine.config.network.name, store_ok, adapters))
    return out


class OpsServer:
    """A small HTTP server of its own (kept off the Slack events port, and meant for a
    private interface): `GET /healthz` and `GET /metrics`. Port 0 picks a free port."""

    def __init__(self, engines: Sequence[Engine], host: str = "127.0.0.1", port: int = 9464) -> None:
        self.engines = list(engines)
        self.host = host
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = EngineCollector(self.engines)
        self.registry.register(self.collector)
        self._scrape_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        # The meetings calendar members subscribe to (the first network's, and each by id).
        app.router.add_get("/calendar.ics", self._calendar)
        app.router.add_get("/calendar/{network_id}.ics", self._calendar)
        # The first network's register: its pages and export under /registre (`[registre]`).
        if self.engines:
            e = self.engines[0]
            RegisterSite(e.store, e.config, e.network_id, e.registry, e.clock.now).add_routes(app)
        return app

    async def _calendar(self, request: web.Request) -> web.Response:
        from bot.engine.calendar import network_calendar

        wanted = request.match_info.get("network_id")
        for engine in self.engines:
            if wanted is not None and str(engine.network_id) != wanted:
                continue
            data = await network_calendar(engine.store, engine.config, engine.registry, engine.clock.now())
            if data is None:
                break
            return web.Response(body=data, content_type="text/calendar", charset="utf-8")
        raise web.HTTPNotFound()

    async def start(self) -> None:
        # No access log: a scraper calls every few seconds, and those lines drown the bot's own.
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses
        if bound and isinstance(bound[0], tuple):
            self.port = int(bound[0][1])
        log.info("ops endpoints on %s (/healthz, /metrics)", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await health(self.engines)
        ok = all(n.ok for n in report)
        body = {
            "status": "ok" if ok else "unavailable",
            "networks": [{"network": n.network, "ok": n.ok, "store": n.store, "adapters": n.adapters}
                         for n in report],
        }
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        # One scrape at a time: a refresh and its rendering describe the same instant.
        async with self._scrape_lock:
            await self.collector.refresh()
            payload = generate_latest(self.registry)
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})
