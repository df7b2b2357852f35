"""Migration 0006 on a store written by the previous release (SQLite and PostgreSQL): the schema it gives is the code's, nothing recorded is lost, and the organisation is no longer copied among the attributes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import create_engine_for
from bot.store import schema as t
from bot.store.migrate import current_revision, head_revision, upgrade
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _previous_release(url: str) -> None:
    """A store as release 0005 left it: people seeded from the config, a chat newcomer."""
    engine = create_engine_for(url)
    try:
        await upgrade(engine, "0005")
        net = sa.table("networks", sa.column("id"), sa.column("name"), sa.column("created_at", t.UTCDateTime),
                       sa.column("directory_version"))
        persons = sa.table("persons", *(sa.column(c) for c in ("id", "network_id", "key", "name", "organisation",
                                                               "locale", "opted_out", "is_bot", "from_config")),
                           sa.column("attributes", sa.JSON), sa.column("created_at", t.UTCDateTime))
        accounts = sa.table("accounts", *(sa.column(c) for c in ("id", "network_id", "platform", "scope", "user_id",
                                                                 "person_id")))
        roles = sa.table("roles", sa.column("network_id"), sa.column("role"), sa.column("person_id"))
        async with engine.begin() as conn:
            nid = (await conn.execute(net.insert().values(name="Réseau test", created_at=T0, directory_version=3)
                                      .returning(net.c.id))).scalar_one()
            people = [("alice", "Alice", "La Ruche", {"organisation": "La Ruche", "territoire": "Nord"}, True),
                      ("console:emma", "emma", None, {}, False)]
            for key, name, org, attrs, declared in people:
                pid = (await conn.execute(persons.insert().values(
                    network_id=nid, key=key, name=name, organisation=org, attributes=attrs, locale=None,
                    opted_out=False, is_bot=False, from_config=declared, created_at=T0).returning(persons.c.id)
                )).scalar_one()
                await conn.execute(accounts.insert().values(network_id=nid, platform="console", scope="",
                                                            user_id=key.removeprefix("console:"), person_id=pid))
                if key == "alice":
                    await conn.execute(roles.insert().values(network_id=nid, role="animateur", person_id=pid))
    finally:
        await engine.dispose()


async def test_the_upgraded_store_is_the_codes_and_keeps_what_it_held(store_url: str, tmp_path: Path) -> None:
    await _previous_release(store_url)
    engine = create_engine_for(store_url)
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), t.metadata))
            rows = (await conn.execute(sa.select(t.persons).order_by(t.persons.c.id))).all()
            sources = (await conn.execute(sa.select(t.person_sources))).all()
        assert diffs == []
        assert [(r.key, r.organisation, r.attributes, r.merged_into, r.invited_at) for r in rows] == [
            ("alice", "La Ruche", {"territoire": "Nord"}, None, None),
            ("console:emma", None, {}, None, None),
        ]
        assert sources == []
    finally:
        await engine.dispose()
    # The bot starts on it: the config seeds where values came from; what was there stays.
    start = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    async with Harness(BASE_CONFIG, store_url, start, tmp_path) as h:
        out = await h.say("alice: !reseau profil")
        assert "Organisation : La Ruche" in spaces(out[0].text) and "territoire = Nord" in out[0].text
        assert "animation" in out[0].text
        assert h.store is not None
        async with h.store.read() as conn:
            seeded = (await conn.execute(sa.select(t.person_sources.c.field, t.person_sources.c.attribute,
                                                   t.person_sources.c.source)
                                         .where(t.person_sources.c.person_id == rows[0].id))).all()
        assert sorted(tuple(r) for r in seeded) == [("attribute", "territoire", "config"), ("name", "", "config"),
                                                    ("organisation", "", "config"), ("role", "animateur", "config")]
