"""The forgetting port, the same on SQLite, PostgreSQL and in memory: rows by id, exact values in
ritual states and the log, a homonym's row left alone, the pseudonyms' numbers, tombstones."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.forget_rows import Scrub
from bot.store.ports import StorePort
from tests.integration.test_people_port import store  # noqa: F401

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_the_forgetting_port(store: StorePort) -> None:  # noqa: F811
    async with store.unit() as unit:
        nid = await unit.networks.ensure("Réseau", T0)
        await unit.people.put_channel(nid, "general", "console", "general", "Général")
        (channel,) = await unit.people.channels(nid)
        zoe = await unit.people.add_person(nid, "zoe", "Zoé Martin", organisation="La Ruche", now=T0)
        other = await unit.people.add_person(nid, "zoe2", "Zoé Martin", now=T0)  # a homonym
        await unit.people.add_account(nid, "slack", "T1", "U0ZOE", zoe, display_name="zozo")
        await unit.people.add_channel_member(channel.id, zoe, T0)
        await unit.people.set_role(nid, "animateur", zoe, True)
        ritual = await unit.rituals.create(nid, "election", None, ["general"],
                                           {"names": ["zoe", "zoe2"], "title": "Zoé Martin — trésorerie",
                                            "shown": "zozo"}, "command", T0)
        await unit.journal.record(nid, ritual.id, "election", 1, T0, "record", {"elected": "zoe", "by": "slack:U0ZOE"})
        assert await unit.forgetting.last_pseudonym(nid) == 0
        assert await unit.forgetting.display_names([zoe]) == ["zozo"]

    async with store.unit() as unit:
        scrub = Scrub(person_id=zoe, new_key="forgotten:1", pseudonym="membre anonymisé·e #1", keys=frozenset({"zoe"}),
                      names=frozenset({"Zoé Martin", "zozo"}), accounts=frozenset({("slack", "T1", "U0ZOE")}),
                      tombstones=frozenset({"h1"}))
        await unit.forgetting.forget(nid, scrub, T0)

    async with store.reading() as unit:
        persons = {p.id: p for p in await unit.people.persons(nid)}
        assert (persons[zoe].key, persons[zoe].name, persons[zoe].organisation, persons[zoe].opted_out) == (
            "forgotten:1", "membre anonymisé·e #1", None, True)
        assert (persons[other].key, persons[other].name) == ("zoe2", "Zoé Martin")
        assert await unit.people.accounts(nid) == [] and await unit.people.roles(nid) == []
        assert await unit.people.channel_members([channel.id]) == []
        (state,) = await unit.rituals.states(nid)
        assert state == {"names": ["forgotten:1", "zoe2"], "title": "membre anonymisé·e #1 — trésorerie",
                         "shown": "membre anonymisé·e #1"}
        (row,) = await unit.journal.since(nid, T0)
        assert row.summary == {"elected": "forgotten:1", "by": "forgotten:1"}
        assert await unit.forgetting.last_pseudonym(nid) == 1
        assert await unit.forgetting.tombstones(nid) == {"h1"}
