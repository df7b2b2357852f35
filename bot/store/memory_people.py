"""The directory's repositories in memory (networks, people, accounts, channels, roles, where
profile values came from), on the tables of `bot.store.memory.Data`."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.store.memory_answers import AnswerTable
from bot.store.memory_mandates import MandateTable
from bot.store.rows import AccountRow, ChannelRow, PersonRow, ProfileField, SourceRow


class Tables(Protocol):
    """The tables these repositories use (`bot.store.memory.Data` has them)."""

    networks: dict[int, dict[str, Any]]
    channels: dict[int, tuple[int, ChannelRow]]
    persons: dict[int, tuple[int, PersonRow]]
    accounts: dict[int, tuple[int, AccountRow, str | None]]
    members: set[tuple[int, int]]
    roles: set[tuple[int, str, int]]
    sources: dict[tuple[int, str, str], SourceRow]
    replies: dict[tuple[int, int], Any]
    answers: AnswerTable
    mandates: MandateTable

    def next_id(self) -> int: ...


class Holder(Protocol):
    """A unit of work whose `data` may be replaced (a savepoint restores a copy)."""

    @property
    def data(self) -> Tables: ...


class _Repo:
    def __init__(self, unit: Holder) -> None:
        self.unit = unit

    @property
    def d(self) -> Tables:
        return self.unit.data


class MemNetworks(_Repo):
    async def find(self, name: str) -> int | None:
        return next((i for i, n in self.d.networks.items() if n["name"] == name), None)

    async def ensure(self, name: str, now: datetime) -> int:
        found = await self.find(name)
        if found is None:
            found = self.d.next_id()
            self.d.networks[found] = {"name": name, "version": 0}
        return found

    async def directory_version(self, network_id: int) -> int:
        return int(self.d.networks[network_id]["version"])

    async def bump_directory(self, network_id: int) -> int:
        self.d.networks[network_id]["version"] += 1
        return int(self.d.networks[network_id]["version"])


class MemPeople(_Repo):
    async def channels(self, network_id: int) -> list[ChannelRow]:
        return [c for n, c in self.d.channels.values() if n == network_id]

    async def put_channel(self, network_id: int, key: str, platform: str, platform_id: str, name: str) -> None:
        for cid, (n, c) in self.d.channels.items():
            if n == network_id and c.key == key:
                self.d.channels[cid] = (n, ChannelRow(cid, key, platform, platform_id, name))
                return
        cid = self.d.next_id()
        self.d.channels[cid] = (network_id, ChannelRow(cid, key, platform, platform_id, name))

    async def persons(self, network_id: int) -> list[PersonRow]:
        return [copy.deepcopy(p) for n, p in self.d.persons.values() if n == network_id]

    async def person_id(self, network_id: int, key: str) -> int | None:
        return next((i for i, (n, p) in self.d.persons.items() if n == network_id and p.key == key), None)

    async def add_person(self, network_id: int, key: str, name: str, *, organisation: str | None = None,
                         attributes: Mapping[str, str] | None = None, locale: str | None = None,
                         from_config: bool = False, now: datetime) -> int:
        found = await self.person_id(network_id, key)
        if found is None:
            found = self.d.next_id()
            self.d.persons[found] = (network_id, PersonRow(found, key, name[:200], organisation,
                                                           dict(attributes or {}), locale, False, False))
        return found

    async def update_person(self, person_id: int, **values: Any) -> None:
        n, p = self.d.persons[person_id]
        values.pop("from_config", None)
        self.d.persons[person_id] = (n, replace(p, **values))

    async def mark_invited(self, person_id: int, at: datetime) -> bool:
        n, p = self.d.persons[person_id]
        if p.invited:
            return False
        self.d.persons[person_id] = (n, replace(p, invited=True))
        return True

    async def merge(self, network_id: int, absorbed: int, into: int) -> None:
        self.d.answers.merge(absorbed, into)
        self.d.mandates.merge(absorbed, into)
        for aid, (n, a, shown) in list(self.d.accounts.items()):
            if a.person_id == absorbed:
                self.d.accounts[aid] = (n, replace(a, person_id=into), shown)
        self.d.members = {(c, into if p == absorbed else p) for c, p in self.d.members}
        self.d.roles = {(n, r, into if p == absorbed else p) for n, r, p in self.d.roles}
        if (network_id, absorbed) in self.d.replies:
            self.d.replies.setdefault((network_id, into), self.d.replies.pop((network_id, absorbed)))
        self.d.sources = {k: (replace(v, changed_by=into) if v.changed_by == absorbed else v)
                          for k, v in self.d.sources.items() if k[0] != absorbed}
        for pid, (n, p) in list(self.d.persons.items()):
            if p.merged_into == absorbed:
                self.d.persons[pid] = (n, replace(p, merged_into=into))
        n, p = self.d.persons[absorbed]
        self.d.persons[absorbed] = (n, replace(p, merged_into=into, organisation=None, attributes={}, locale=None))

    async def accounts(self, network_id: int) -> list[AccountRow]:
        return [a for _, (n, a, _) in sorted(self.d.accounts.items()) if n == network_id]

    async def account(self, network_id: int, platform: str, scope: str | None, user_id: str) -> AccountRow | None:
        return next((a for _, (n, a, _) in sorted(self.d.accounts.items()) if n == network_id
                     and a.platform == platform and a.user_id == user_id and (scope is None or a.scope == scope)),
                    None)

    async def add_account(self, network_id: int, platform: str, scope: str, user_id: str, person_id: int,
                          display_name: str | None = None) -> None:
        if await self.account(network_id, platform, scope, user_id) is None:
            aid = self.d.next_id()
            self.d.accounts[aid] = (network_id, AccountRow(aid, platform, scope, user_id, person_id), display_name)

    async def move_account(self, account_id: int, person_id: int) -> None:
        n, a, shown = self.d.accounts[account_id]
        self.d.accounts[account_id] = (n, replace(a, person_id=person_id), shown)

    async def channel_members(self, channel_ids: Sequence[int]) -> list[tuple[int, int]]:
        wanted = set(channel_ids)
        return sorted(m for m in self.d.members if m[0] in wanted)

    async def add_channel_member(self, channel_id: int, person_id: int, at: datetime) -> None:
        self.d.members.add((channel_id, person_id))

    async def remove_channel_members(self, channel_id: int, person_ids: Iterable[int]) -> None:
        for pid in person_ids:
            self.d.members.discard((channel_id, pid))

    async def roles(self, network_id: int) -> list[tuple[str, int]]:
        return sorted((r, p) for n, r, p in self.d.roles if n == network_id)

    async def set_role(self, network_id: int, role: str, person_id: int, held: bool) -> None:
        if held:
            self.d.roles.add((network_id, role, person_id))
        else:
            self.d.roles.discard((network_id, role, person_id))

    async def sources(self, network_id: int) -> list[SourceRow]:
        return [r for r in self.d.sources.values()
                if r.person_id in self.d.persons and self.d.persons[r.person_id][0] == network_id]

    async def put_sources(self, rows: Sequence[SourceRow]) -> None:
        for r in rows:
            self.d.sources[(r.person_id, r.field, r.attribute)] = r

    async def drop_sources(self, keys: Sequence[tuple[int, ProfileField, str]]) -> None:
        for key in keys:
            self.d.sources.pop(key, None)
