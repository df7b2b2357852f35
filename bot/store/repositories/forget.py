"""Forgetting a person in the SQL store: their rows by id, then every text and JSON column of
every table (read from the schema's metadata, so a table added later is scanned too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.forget_rows import FORGOTTEN_PREFIX, Scrub, forgotten_number, rewrite_row
from bot.store.repositories.sql import insert

TOMBSTONES = "forgotten"
"""The settings namespace of forgotten config ids and accounts (hashes, see `tombstone`)."""

_BY_ID = (t.accounts, t.persons)
"""Tables changed by id only: another person's row that happens to hold the same name stays."""


class SqlForgetting:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def tombstones(self, network_id: int) -> set[str]:
        rows = (await self.conn.execute(select(t.kv.c.key).where(t.kv.c.namespace == f"{TOMBSTONES}:{network_id}"))).all()
        return {str(r[0]) for r in rows}

    async def display_names(self, person_ids: Sequence[int]) -> list[str]:
        rows = (await self.conn.execute(select(t.accounts.c.display_name).where(
            t.accounts.c.person_id.in_(list(person_ids)), t.accounts.c.display_name.is_not(None)))).all()
        return sorted({str(r[0]) for r in rows})

    async def last_pseudonym(self, network_id: int) -> int:
        rows = (await self.conn.execute(select(t.persons.c.key).where(
            t.persons.c.network_id == network_id, t.persons.c.key.like(f"{FORGOTTEN_PREFIX}%")))).all()
        return max((n for r in rows if (n := forgotten_number(str(r[0]))) is not None), default=0)

    async def forget(self, network_id: int, scrub: Scrub, at: datetime) -> None:
        ids = [scrub.person_id, *scrub.merged]
        c = self.conn
        # By id: what was theirs alone goes; what they answered or held stays, under the pseudonym.
        await c.execute(delete(t.accounts).where(t.accounts.c.person_id.in_(ids)))
        await c.execute(delete(t.person_sources).where(t.person_sources.c.person_id.in_(ids)))
        for table in (t.channel_members, t.roles, t.pending_replies, t.register_readers):
            await c.execute(delete(table).where(table.c.person_id.in_(ids)))
        if scrub.users:
            await c.execute(delete(t.reactions).where(t.reactions.c.sender.in_(sorted(scrub.users))))
            await c.execute(delete(t.dead_letters).where(t.dead_letters.c.network_id == network_id,
                                                         t.dead_letters.c.sender.in_(sorted(scrub.users))))
        await c.execute(update(t.persons).where(t.persons.c.id == scrub.person_id).values(
            key=scrub.new_key, name=scrub.pseudonym, organisation=None, attributes={}, locale=None, opted_out=True))
        for i, pid in enumerate(scrub.merged, 1):
            await c.execute(update(t.persons).where(t.persons.c.id == pid).values(
                key=f"{scrub.new_key}/{i}", name=scrub.pseudonym, organisation=None, attributes={}, locale=None))
        # Their organisation together with the role would name them: a mandate keeps role and dates.
        await c.execute(update(t.mandates).where(t.mandates.c.person_id.in_(ids)).values(organisation=None))
        ra = t.register_answers
        await c.execute(update(ra).where(ra.c.person_id.in_(ids)).values(name=None, organisation=None))
        await c.execute(update(ra).where(ra.c.subject_id.in_(ids)).values(subject_name=None))
        for stone in sorted(scrub.tombstones):
            await c.execute(insert(c, t.kv).values(namespace=f"{TOMBSTONES}:{network_id}", key=stone, value=True,
                                                   updated_at=at).on_conflict_do_nothing())
        for table in t.metadata.sorted_tables:
            if table not in _BY_ID:
                await self._scan(network_id, table, scrub)

    def _scope(self, network_id: int, table: Table) -> ColumnElement[bool] | None:
        """The rows of this network, where the table says whose they are."""
        cols = table.c
        if "network_id" in cols:
            return cols.network_id == network_id
        if "ritual_id" in cols:
            return cols.ritual_id.in_(select(t.rituals.c.id).where(t.rituals.c.network_id == network_id))
        if "entry_id" in cols:
            return cols.entry_id.in_(select(t.register_entries.c.id).where(
                t.register_entries.c.network_id == network_id))
        return None

    async def _scan(self, network_id: int, table: Table, scrub: Scrub) -> None:
        texts = [col for col in table.columns if isinstance(col.type, String | Text | JSON)]
        if not texts:
            return
        found = or_(*[cast(col, Text).contains(n, autoescape=True) for col in texts for n in scrub.needles])
        scope = self._scope(network_id, table)
        where = found if scope is None else and_(scope, found)
        rows = (await self.conn.execute(select(table).where(where))).mappings().all()
        keys = [col for col in table.primary_key.columns]
        for row in rows:
            pk = and_(*[col == row[col.name] for col in keys])
            if _purged(table, row, scrub):
                await self.conn.execute(delete(table).where(pk))
                continue
            changes = rewrite_row({col.name: row[col.name] for col in texts}, scrub)
            if changes:
                await self.conn.execute(update(table).where(pk).values(**changes))


def _purged(table: Table, row: Any, scrub: Scrub) -> bool:
    """Rows that are only about the person's deliveries: messages to them (sent or not:
    they are forgotten, and reach no one else), the ids of their platform events, and the
    adapters' settings kept under their ids."""
    if table is t.outbox:
        route = row["route"] or {}
        return isinstance(route, dict) and route.get("member") in scrub.keys
    if table is t.inbound_events:
        return scrub.names_an_account(str(row["event_id"]))
    if table is t.kv:
        # An adapter's cache about them (a reply handle, a direct conversation), keyed by their id.
        return scrub.names_an_account(f"{row['namespace']} {row['key']}")
    return False
