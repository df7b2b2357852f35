"""The ops endpoints on a real engine: /healthz says what is down, /metrics follows events, outbox and timers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapter import ChannelMember, Delivery, EventSink, Outgoing
from bot.engine import Engine
from bot.kernel.model import InboundCommand
from bot.kernel.scenario import Capabilities
from bot.store import Store, create_engine_for
from bot.web.ops import OpsServer
from scenarios import registry
from tests.harness import BASE_CONFIG, Harness

START = datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
NETWORK = "Réseau test"
WEEKLY_CHARTER = BASE_CONFIG + """
[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]
where = "post"
rrule = "FREQ=WEEKLY;BYDAY=TU"
time = "18:00"
"""


class FakeMatrix:
    """A Matrix adapter as the ops server sees it: connected or not, and how late its sync is."""

    platform = "matrix"
    capabilities = Capabilities()

    def __init__(self, user_id: str, connected: bool = True, lag: float | None = 12.5) -> None:
        self.user_id = user_id
        self._connected = connected
        self.lag = lag

    async def start(self, sink: EventSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def perform(self, out: Outgoing) -> Delivery:
        raise AssertionError("the ops server never sends")

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        return []

    def connected(self) -> bool:
        return self._connected

    def sync_lag(self) -> float | None:
        return self.lag


@pytest.fixture
async def harness(store_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness(WEEKLY_CHARTER, store_url, START, tmp_path) as h:
        yield h


@pytest.fixture
async def ops(harness: Harness) -> AsyncIterator[OpsServer]:
    assert harness.engine is not None
    async with OpsServer([harness.engine], host="127.0.0.1", port=0) as server:
        yield server


async def get(server: OpsServer, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(server.url + path) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def scrape(server: OpsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, content_type, body = await get(server, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted({"network": NETWORK, **labels}.items()))))


async def test_healthz_ok_when_store_and_adapters_are_up(ops: OpsServer) -> None:
    async with aiohttp.ClientSession() as session, session.get(ops.url + "/healthz") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
    assert body == {"status": "ok", "networks": [
        {"network": NETWORK, "ok": True, "store": True, "adapters": {"console": True}}]}


async def test_healthz_503_names_the_adapter_that_is_down(harness: Harness) -> None:
    assert harness.engine is not None
    # A second engine object over the same store, as the composition root would build with
    # a Matrix account that lost its connection.
    engine = Engine(harness.engine.store, registry(), harness.config, harness.clock,
                    {"console": harness.console, "matrix": FakeMatrix("@maillage:example.org", connected=False)})
    async with OpsServer([engine], port=0) as server:
        async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as resp:
            status, body = resp.status, await resp.json()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["networks"][0]["store"] is True
    assert body["networks"][0]["adapters"] == {"console": True, "matrix": False}


async def test_healthz_503_when_the_store_is_unreachable(harness: Harness, tmp_path: Path) -> None:
    # A database file in a directory that does not exist: every connection fails.
    unreachable = Store(create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}"))
    engine = Engine(unreachable, registry(), harness.config, harness.clock, {"console": harness.console})
    try:
        async with OpsServer([engine], port=0) as server:
            async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as resp:
                assert resp.status == 503
                body = await resp.json()
            assert body["networks"][0]["store"] is False
            # The scrape still answers, and says the store is down instead of failing.
            samples = await scrape(server)
            assert value(samples, "maillage_store_up") == 0
            assert value(samples, "maillage_outbox_pending") is None
            assert value(samples, "maillage_events_handled_total") == 0
    finally:
        await unreachable.close()


async def test_metrics_follow_events_duplicates_and_sends(ops: OpsServer, harness: Harness) -> None:
    before = await scrape(ops)
    assert value(before, "maillage_store_up") == 1
    handled0 = value(before, "maillage_events_handled_total")
    sent0 = value(before, "maillage_messages_sent_total")
    assert handled0 is not None and sent0 is not None
    assert value(before, "maillage_events_duplicate_total") == 0

    await harness.say("bob: !reseau aide")
    after = await scrape(ops)
    assert value(after, "maillage_events_handled_total") == handled0 + 1
    assert value(after, "maillage_messages_sent_total") == sent0 + 1

    assert harness.engine is not None
    ev = InboundCommand(platform="console", event_id="evt-dup", channel="general", sender="bob",
                        sender_name="bob", text="aide")
    await harness.engine.submit(ev)
    await harness.engine.submit(ev)
    again = await scrape(ops)
    assert value(again, "maillage_events_duplicate_total") == 1
    assert value(again, "maillage_events_handled_total") == handled0 + 2


async def test_outbox_pending_and_its_age_follow_the_clock(ops: OpsServer, harness: Harness) -> None:
    assert harness.engine is not None
    await harness.engine.drain_outbox()
    idle = await scrape(ops)
    assert value(idle, "maillage_outbox_pending") == 0
    assert value(idle, "maillage_outbox_oldest_pending_age_seconds") == 0
    # Committed but not yet sent (the sender has not run): pending, and ageing on the clock.
    await harness.engine.submit(InboundCommand(platform="console", event_id="evt-wait", channel="general",
                                               sender="bob", sender_name="bob", text="aide"))
    harness.clock.advance(timedelta(seconds=90))
    waiting = await scrape(ops)
    assert value(waiting, "maillage_outbox_pending") == 1
    assert value(waiting, "maillage_outbox_oldest_pending_age_seconds") == 90
    await harness.engine.drain_outbox()
    done = await scrape(ops)
    assert value(done, "maillage_outbox_pending") == 0
    assert value(done, "maillage_outbox_oldest_pending_age_seconds") == 0


async def test_timers_due_and_their_lag(ops: OpsServer, harness: Harness) -> None:
    assert harness.engine is not None
    due = await harness.engine.next_due()
    assert due is not None, "the weekly charter has its next firing in the store"
    early = await scrape(ops)
    assert value(early, "maillage_timers_due") == 0
    assert value(early, "maillage_timer_lag_seconds") == 0
    # The alarm did not ring (a stalled process): the timer is due and late.
    harness.clock.set(due + timedelta(minutes=2))
    late = await scrape(ops)
    assert value(late, "maillage_timers_due") == 1
    assert value(late, "maillage_timer_lag_seconds") == 120
    await harness.engine.run_due()
    fired = await scrape(ops)
    assert value(fired, "maillage_timers_due") == 0
    assert value(fired, "maillage_timer_lag_seconds") == 0
    # Fired two minutes late: counted in the 300 s bucket, not in the 60 s one.
    assert value(fired, "maillage_timer_fire_lag_seconds_count") == 1
    assert value(fired, "maillage_timer_fire_lag_seconds_sum") == 120
    assert value(fired, "maillage_timer_fire_lag_seconds_bucket", le="60.0") == 0
    assert value(fired, "maillage_timer_fire_lag_seconds_bucket", le="300.0") == 1


async def test_sync_lag_per_matrix_account(harness: Harness) -> None:
    assert harness.engine is not None
    lagging = FakeMatrix("@maillage:example.org", lag=12.5)
    engine = Engine(harness.engine.store, registry(), harness.config, harness.clock,
                    {"console": harness.console, "matrix": lagging})
    async with OpsServer([engine], port=0) as server:
        samples = await scrape(server)
        assert value(samples, "maillage_matrix_sync_lag_seconds", account="@maillage:example.org") == 12.5
        # Adapters that cannot tell (the console) export nothing; neither does a Matrix
        # account before its first sync.
        assert [k for k in samples if k[0] == "maillage_matrix_sync_lag_seconds"] == [
            ("maillage_matrix_sync_lag_seconds", (("account", "@maillage:example.org"), ("network", NETWORK)))]
        lagging.lag = None
        samples = await scrape(server)
        assert not [k for k in samples if k[0] == "maillage_matrix_sync_lag_seconds"]


async def test_one_server_for_several_networks(harness: Harness, tmp_path: Path) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_config = BASE_CONFIG.replace('name = "Réseau test"', 'name = "Réseau voisin"')
    async with Harness(other_config, harness.store_url, START, other_dir) as other:
        assert harness.engine is not None and other.engine is not None
        async with OpsServer([harness.engine, other.engine], port=0) as server:
            await other.say("bob: !reseau aide")
            samples = await scrape(server)
            mine = value(samples, "maillage_events_handled_total")
            theirs = samples[("maillage_events_handled_total", (("network", "Réseau voisin"),))]
            assert theirs == 1 and mine == 0
            status, _, _ = await get(server, "/healthz")
            assert status == 200


async def test_unknown_path_is_404_and_stop_frees_the_port(harness: Harness) -> None:
    assert harness.engine is not None
    server = OpsServer([harness.engine], port=0)
    await server.start()
    status, _, _ = await get(server, "/nope")
    assert status == 404
    url = server.url
    await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(url + "/healthz"):
            pass



async def test_the_meetings_calendar_is_served_for_subscription(sqlite_url: str, tmp_path: Path) -> None:
    import aiohttp
    from icalendar import Calendar

    from bot.web.ops import OpsServer
    from tests.harness import BASE_CONFIG, Harness

    config = BASE_CONFIG + """
[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité"
rrule = "FREQ=WEEKLY;BYDAY=TU"
time = "18:00"
"""
    async with Harness(config, sqlite_url, datetime(2026, 5, 4, 9, 0, tzinfo=UTC), tmp_path) as h:
        assert h.engine is not None
        async with OpsServer([h.engine], "127.0.0.1", 0) as ops, aiohttp.ClientSession() as http:
            async with http.get(f"{ops.url}/calendar.ics") as resp:
                assert resp.status == 200 and resp.content_type == "text/calendar"
                cal = Calendar.from_ical(await resp.read())
            assert any(c.name == "VEVENT" for c in cal.walk())
            async with http.get(f"{ops.url}/calendar/999.ics") as resp:
                assert resp.status == 404
