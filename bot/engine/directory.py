"""The network's directory in memory: people, accounts, channels, who is in which channel, roles.

The store is the truth; this is its reflection in one process, read again whenever another
process (or a rolled-back event) changed it: a version in the store says when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import Config
from bot.kernel.model import Member
from bot.kernel.scenario import Directory
from bot.store.ports import StorePort, Unit

ANIMATEUR = "animateur"


@dataclass
class Person:
    id: int
    key: str
    name: str
    organisation: str | None
    attributes: dict[str, str]
    locale: str | None
    opted_out: bool
    is_bot: bool
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    """(platform, scope, user_id), in creation order: the first is where DMs go."""
    invited: bool = False
    """Already invited to complete their profile."""


@dataclass
class Channel:
    id: int
    key: str
    platform: str
    platform_id: str
    name: str


def account_key(platform: str, scope: str, user: str) -> str:
    """The person key of someone known first by a platform account."""
    return f"{platform}:{scope + '/' if scope else ''}{user}"


class People:
    """One network's directory, as this process knows it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.network_id = 0
        self.persons: dict[int, Person] = {}
        self.person_by_key: dict[str, int] = {}
        self.account_index: dict[tuple[str, str, str], int] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_by_platform: dict[tuple[str, str], str] = {}
        self.members_of: dict[str, set[int]] = {}
        self.roles: dict[str, set[int]] = {}
        self.declared = frozenset(m.id for m in config.file.members)
        self.version = -1
        """The store's directory version this memory reflects (-1: read it again)."""
        self.generation = 0
        """Bumped whenever this memory changes: an event rolled back after changing it makes
        the engine read the directory again."""
        self._view: Directory | None = None
        self._members: dict[tuple[int, tuple[str, str, str] | None], tuple[Person, Member]] = {}
        """What `member` made since the directory last changed (with the person it was made of)."""

    # -- reading ---------------------------------------------------------------------

    async def load(self, unit: Unit) -> None:
        """Read the directory (within a transaction: as that transaction sees it)."""
        nid = self.network_id
        self.version = await unit.networks.directory_version(nid)
        rows = await unit.people.persons(nid)
        self.persons = {p.id: Person(p.id, p.key, p.name, p.organisation, dict(p.attributes), p.locale,
                                     p.opted_out, p.is_bot, invited=p.invited)
                        for p in rows if p.merged_into is None}
        self.person_by_key = {p.key: p.id for p in self.persons.values()}
        merged = {p.id: p.merged_into for p in rows if p.merged_into is not None}
        for p in rows:
            # A merged person's key means the person they were merged into (a message addressed
            # to the old key reaches them); they are no one of their own any more.
            target = p.merged_into
            for _ in range(len(merged)):  # bounded: a cycle would be a bug, not a hang
                if target not in merged:
                    break
                target = merged[target]
            if target is not None and target in self.persons:
                self.person_by_key[p.key] = target
        self.account_index = {}
        for a in await unit.people.accounts(nid):
            self.account_index[(a.platform, a.scope, a.user_id)] = a.person_id
            if a.person_id in self.persons:
                self.persons[a.person_id].accounts.append((a.platform, a.scope, a.user_id))
        self.channels = {c.key: Channel(c.id, c.key, c.platform, c.platform_id, c.name or c.key)
                         for c in await unit.people.channels(nid)}
        self.channel_by_platform = {(c.platform, c.platform_id): c.key for c in self.channels.values()}
        by_id = {c.id: c.key for c in self.channels.values()}
        self.members_of = {k: set() for k in self.channels}
        for channel_id, person_id in await unit.people.channel_members(list(by_id)):
            self.members_of[by_id[channel_id]].add(person_id)
        self.roles = {}
        for role, person_id in await unit.people.roles(nid):
            self.roles.setdefault(role, set()).add(person_id)
        self.changed()

    async def fresh(self, store: StorePort) -> None:
        """Read the directory again if another process changed it since we last looked."""
        async with store.reading() as unit:
            if await unit.networks.directory_version(self.network_id) != self.version:
                await self.load(unit)

    def changed(self) -> None:
        self._view = None
        self._members.clear()
        self.generation += 1

    async def bump(self, unit: Unit) -> None:
        """Record, in the transaction that changes people or channel members, that the
        directory moved on: other processes read theirs again before their next event."""
        new = await unit.networks.bump_directory(self.network_id)
        # Our memory already has this change; it lacks the others' if we skipped a number.
        self.version = new if new == self.version + 1 else -1
        self.changed()

    # -- views -----------------------------------------------------------------------

    def view(self) -> Directory:
        """The directory as scenarios see it (keys, names, channel members, groups)."""
        if self._view is None:
            members = {p.key: self.member(p) for p in self.persons.values()}
            channel_members = {k: sorted(self.persons[i].key for i in ids if i in self.persons)
                               for k, ids in self.members_of.items()}
            groups: dict[str, list[str]] = {}
            for g, people in self.config.file.groups.items():
                keys: list[str] = []
                for who in people:
                    pid = self.person_by_key.get(who)
                    if pid is None and ":" in who:
                        platform, _, user = who.partition(":")
                        pid = self.account_index.get((platform, "", user))
                    if pid is not None:
                        keys.append(self.persons[pid].key)
                groups[g] = sorted(keys)
            self._view = Directory(members=members, channel_members=channel_members, groups=groups)
        return self._view

    def member(self, p: Person, account: tuple[str, str, str] | None = None) -> Member:
        """The person as rituals see them, acting from `account` (else their first): made once
        per directory generation (a frozen model, handed to every event of theirs)."""
        known = self._members.get((p.id, account))
        if known is not None and known[0] is p:
            return known[1]
        acc = account or (p.accounts[0] if p.accounts else ("", "", ""))
        made = Member(
            key=p.key, name=p.name, account=f"{acc[0]}:{acc[2]}", organisation=p.organisation,
            attributes=p.attributes, locale=p.locale,
            is_animateur=p.id in self.roles.get(ANIMATEUR, set()), is_bot=p.is_bot, opted_out=p.opted_out,
        )
        self._members[(p.id, account)] = (p, made)
        return made

    def role_view(self) -> dict[str, list[str]]:
        return {role: sorted(self.persons[i].key for i in ids if i in self.persons)
                for role, ids in self.roles.items()}

    def is_member(self, pid: int) -> bool:
        """Declared in the config, or present in a bound channel: only they drive rituals."""
        if self.persons[pid].key in self.declared:
            return True
        return any(pid in ids for ids in self.members_of.values())

    def person_of(self, platform: str, scope: str, user: str) -> int | None:
        """Who an account is (a configured account has no workspace scope, an event does)."""
        pid = self.account_index.get((platform, scope, user))
        if pid is None and scope:
            pid = self.account_index.get((platform, "", user))
        return pid

    def channel_key(self, platform: str, platform_id: str) -> str | None:
        return self.channel_by_platform.get((platform, platform_id))

    # -- writing ---------------------------------------------------------------------

    async def ensure_account(self, unit: Unit, platform: str, scope: str, user: str, display: str | None,
                             now: datetime) -> int:
        """The person behind an account, created (with the account) the first time it acts."""
        pid = self.person_of(platform, scope, user)
        if pid is not None:
            return pid
        key = account_key(platform, scope, user)
        pid = await unit.people.add_person(self.network_id, key, display or user, now=now)
        await unit.people.add_account(self.network_id, platform, scope, user, pid, display)
        await self.bump(unit)
        # Memory follows the store only for rows that are certainly committed or re-created
        # idempotently: a rolled-back person is recreated under the same key next time.
        self.persons[pid] = Person(pid, key, display or user, None, {}, None, False, False, [(platform, scope, user)])
        self.person_by_key[key] = pid
        self.account_index[(platform, scope, user)] = pid
        self.changed()
        return pid

    async def join(self, unit: Unit, channel_key: str, pid: int, now: datetime) -> bool:
        """`pid` is in the channel; False if it already was."""
        present = self.members_of.setdefault(channel_key, set())
        if pid in present:
            return False
        await unit.people.add_channel_member(self.channels[channel_key].id, pid, now)
        present.add(pid)
        await self.bump(unit)
        return True

    async def leave(self, unit: Unit, channel_key: str, pid: int) -> bool:
        present = self.members_of.setdefault(channel_key, set())
        if pid not in present:
            return False
        await unit.people.remove_channel_members(self.channels[channel_key].id, [pid])
        present.discard(pid)
        await self.bump(unit)
        return True

    async def update(self, unit: Unit, pid: int, **values: object) -> None:
        """Change a person's fields (the store's and ours)."""
        await unit.people.update_person(pid, **values)
        person = self.persons[pid]
        for name, value in values.items():
            setattr(person, name, value)
        await self.bump(unit)

    # -- from the platforms --------------------------------------------------------

    async def seed_channel(self, unit: Unit, channel_key: str, present: Mapping[int, bool], now: datetime) -> None:
        """Who the platform says is in a channel now (person id → is a bot)."""
        ch = self.channels[channel_key]
        for pid, is_bot in present.items():
            if is_bot and not self.persons[pid].is_bot:
                await unit.people.update_person(pid, is_bot=True)
                self.persons[pid].is_bot = True
            if pid not in self.members_of.get(channel_key, set()):
                await unit.people.add_channel_member(ch.id, pid, now)
        gone = self.members_of.get(channel_key, set()) - set(present)
        if gone:
            await unit.people.remove_channel_members(ch.id, gone)
        if set(present) != self.members_of.get(channel_key, set()):
            await self.bump(unit)
        self.members_of[channel_key] = set(present)
        self.changed()
