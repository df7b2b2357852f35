"""Networks and their people: persons, platform accounts, channels, channel members, roles, and
where each profile value came from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema as t
from bot.store.repositories import hot
from bot.store.repositories.answers import SqlAnswers
from bot.store.repositories.mandates import SqlMandates
from bot.store.repositories.sql import chunks, insert
from bot.store.rows import AccountRow, ChannelRow, PersonRow, ProfileField, SourceRow

NAME_MAX = 200
"""The width of a name column: a longer display name is cut, never refused by PostgreSQL."""


def directory_version_statement(dialect: str) -> Any:
    """Read at the start of every transaction of events."""
    return select(t.networks.c.directory_version).where(t.networks.c.id == bindparam("nid"))


class SqlNetworks:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, name: str) -> int | None:
        value = (await self.conn.execute(select(t.networks.c.id).where(t.networks.c.name == name))).scalar()
        return None if value is None else int(value)

    async def ensure(self, name: str, now: datetime) -> int:
        found = await self.find(name)
        if found is not None:
            return found
        res = await self.conn.execute(t.networks.insert().values(name=name, created_at=now))
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    async def directory_version(self, network_id: int) -> int:
        rows = await hot.fetch(self.conn, "directory_version", directory_version_statement, [{"nid": network_id}])
        return int(rows[0][0])

    async def bump_directory(self, network_id: int) -> int:
        return int((await self.conn.execute(update(t.networks).where(t.networks.c.id == network_id).values(
            directory_version=t.networks.c.directory_version + 1).returning(
            t.networks.c.directory_version))).scalar_one())


class SqlPeople:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- channels

    async def channels(self, network_id: int) -> list[ChannelRow]:
        rows = (await self.conn.execute(select(t.channels).where(t.channels.c.network_id == network_id))).all()
        return [ChannelRow(r.id, r.key, r.platform, r.platform_id, r.name) for r in rows]

    async def put_channel(self, network_id: int, key: str, platform: str, platform_id: str, name: str) -> None:
        values = {"platform": platform, "platform_id": platform_id, "name": name}
        res = await self.conn.execute(update(t.channels).where(
            t.channels.c.network_id == network_id, t.channels.c.key == key).values(**values))
        if not res.rowcount:
            await self.conn.execute(t.channels.insert().values(network_id=network_id, key=key, **values))

    # -- persons

    async def persons(self, network_id: int) -> list[PersonRow]:
        rows = (await self.conn.execute(select(t.persons).where(t.persons.c.network_id == network_id))).all()
        return [PersonRow(r.id, r.key, r.name, r.organisation, dict(r.attributes or {}), r.locale,
                          bool(r.opted_out), bool(r.is_bot), r.merged_into, r.invited_at is not None) for r in rows]

    async def person_id(self, network_id: int, key: str) -> int | None:
        value = (await self.conn.execute(select(t.persons.c.id).where(
            t.persons.c.network_id == network_id, t.persons.c.key == key))).scalar()
        return None if value is None else int(value)

    async def add_person(self, network_id: int, key: str, name: str, *, organisation: str | None = None,
                         attributes: Mapping[str, str] | None = None, locale: str | None = None,
                         from_config: bool = False, now: datetime) -> int:
        # Another process may be creating the same person right now: its row wins.
        await self.conn.execute(insert(self.conn, t.persons).values(
            network_id=network_id, key=key, name=name[:NAME_MAX], organisation=organisation,
            attributes=dict(attributes or {}), locale=locale, opted_out=False, is_bot=False,
            from_config=from_config, created_at=now).on_conflict_do_nothing())
        found = await self.person_id(network_id, key)
        assert found is not None
        return found

    async def update_person(self, person_id: int, **values: Any) -> None:
        if "name" in values and isinstance(values["name"], str):
            values["name"] = values["name"][:NAME_MAX]
        await self.conn.execute(update(t.persons).where(t.persons.c.id == person_id).values(**values))

    async def mark_invited(self, person_id: int, at: datetime) -> bool:
        # One statement decides: of two processes seeing the same person join, one invites.
        res = await self.conn.execute(update(t.persons).where(
            t.persons.c.id == person_id, t.persons.c.invited_at.is_(None)).values(invited_at=at))
        return bool(res.rowcount)

    async def merge(self, network_id: int, absorbed: int, into: int) -> None:
        await self.conn.execute(update(t.accounts).where(t.accounts.c.person_id == absorbed).values(person_id=into))
        await SqlAnswers(self.conn).merge(absorbed, into)
        await SqlMandates(self.conn).merge(absorbed, into)
        for table in (t.channel_members, t.roles, t.pending_replies):
            # The surviving person's row wins where both have one (same channel, same role…).
            c = table.c
            keys = [col.name for col in table.primary_key.columns if col.name != "person_id"]
            theirs = select(*[c[k] for k in keys]).where(c.person_id == into)
            if keys:
                taken = tuple_(*[c[k] for k in keys]).in_(theirs) if len(keys) > 1 else c[keys[0]].in_(theirs)
                await self.conn.execute(delete(table).where(c.person_id == absorbed, taken))
            await self.conn.execute(update(table).where(c.person_id == absorbed).values(person_id=into))
        await self.conn.execute(delete(t.person_sources).where(t.person_sources.c.person_id == absorbed))
        await self.conn.execute(update(t.person_sources).where(t.person_sources.c.changed_by == absorbed).values(
            changed_by=into))
        await self.conn.execute(update(t.persons).where(t.persons.c.merged_into == absorbed).values(merged_into=into))
        await self.conn.execute(update(t.persons).where(t.persons.c.id == absorbed).values(
            merged_into=into, organisation=None, attributes={}, locale=None))

    # -- accounts

    async def accounts(self, network_id: int) -> list[AccountRow]:
        rows = (await self.conn.execute(select(t.accounts).where(
            t.accounts.c.network_id == network_id).order_by(t.accounts.c.id))).all()
        return [AccountRow(r.id, r.platform, r.scope, r.user_id, r.person_id) for r in rows]

    async def account(self, network_id: int, platform: str, scope: str | None, user_id: str) -> AccountRow | None:
        q = select(t.accounts).where(t.accounts.c.network_id == network_id, t.accounts.c.platform == platform,
                                     t.accounts.c.user_id == user_id)
        if scope is not None:
            q = q.where(t.accounts.c.scope == scope)
        r = (await self.conn.execute(q.order_by(t.accounts.c.id))).first()
        return None if r is None else AccountRow(r.id, r.platform, r.scope, r.user_id, r.person_id)

    async def add_account(self, network_id: int, platform: str, scope: str, user_id: str, person_id: int,
                          display_name: str | None = None) -> None:
        await self.conn.execute(insert(self.conn, t.accounts).values(
            network_id=network_id, platform=platform, scope=scope, user_id=user_id, person_id=person_id,
            display_name=display_name[:NAME_MAX] if display_name else None).on_conflict_do_nothing())

    async def move_account(self, account_id: int, person_id: int) -> None:
        await self.conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(person_id=person_id))

    # -- channel members

    async def channel_members(self, channel_ids: Sequence[int]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for part in chunks(list(channel_ids)):
            rows = (await self.conn.execute(select(t.channel_members.c.channel_id, t.channel_members.c.person_id)
                                            .where(t.channel_members.c.channel_id.in_(list(part))))).all()
            out.extend((int(r[0]), int(r[1])) for r in rows)
        return out

    async def add_channel_member(self, channel_id: int, person_id: int, at: datetime) -> None:
        await self.conn.execute(insert(self.conn, t.channel_members).values(
            channel_id=channel_id, person_id=person_id, joined_at=at).on_conflict_do_nothing())

    async def remove_channel_members(self, channel_id: int, person_ids: Iterable[int]) -> None:
        ids = list(person_ids)
        for part in chunks(ids):
            await self.conn.execute(delete(t.channel_members).where(
                t.channel_members.c.channel_id == channel_id, t.channel_members.c.person_id.in_(list(part))))

    # -- roles

    async def roles(self, network_id: int) -> list[tuple[str, int]]:
        rows = (await self.conn.execute(select(t.roles.c.role, t.roles.c.person_id).where(
            t.roles.c.network_id == network_id))).all()
        return [(str(r[0]), int(r[1])) for r in rows]

    async def set_role(self, network_id: int, role: str, person_id: int, held: bool) -> None:
        if held:
            await self.conn.execute(insert(self.conn, t.roles).values(
                network_id=network_id, role=role, person_id=person_id).on_conflict_do_nothing())
        else:
            await self.conn.execute(delete(t.roles).where(
                t.roles.c.network_id == network_id, t.roles.c.role == role, t.roles.c.person_id == person_id))

    # -- where profile values came from

    async def sources(self, network_id: int) -> list[SourceRow]:
        s = t.person_sources
        rows = (await self.conn.execute(select(s).join(t.persons, t.persons.c.id == s.c.person_id).where(
            t.persons.c.network_id == network_id))).all()
        return [SourceRow(r.person_id, r.field, r.attribute, r.source, r.config_value, r.changed_at, r.changed_by)
                for r in rows]

    async def put_sources(self, rows: Sequence[SourceRow]) -> None:
        for row in rows:
            values = {"source": row.source, "config_value": row.config_value, "changed_at": row.changed_at,
                      "changed_by": row.changed_by}
            stmt = insert(self.conn, t.person_sources).values(person_id=row.person_id, field=row.field,
                                                               attribute=row.attribute, **values)
            await self.conn.execute(stmt.on_conflict_do_update(
                index_elements=["person_id", "field", "attribute"], set_=values))

    async def drop_sources(self, keys: Sequence[tuple[int, ProfileField, str]]) -> None:
        s = t.person_sources
        for pid, field, attribute in keys:
            await self.conn.execute(delete(s).where(s.c.person_id == pid, s.c.field == field,
                                                    s.c.attribute == attribute))
