"""The config seeds the directory: its channels, people, profile values and roles, without
silently overwriting a value edited in chat.

The rule, per person and per value (name, organisation, language, each attribute, each role
held): a value edited in chat stands until the config's own value for it changes; then the
config's new value applies. Each value kept against the config is logged at boot."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import Config, MemberEntry
from bot.engine.directory import ANIMATEUR, People, account_key
from bot.store.forget_rows import tombstone
from bot.store.ports import Unit
from bot.store.rows import PersonRow, ProfileField, SourceRow

log = logging.getLogger("maillage.engine")

ValueKey = tuple[ProfileField, str]
"""(field, attribute or role name; "" for the person's own fields)."""
Sources = Mapping[tuple[int, ProfileField, str], SourceRow]

HELD = "1"
"""A role's value in the config and in `person_sources`: held (absent: not held)."""


def role_name(config_key: str) -> str:
    """The config's `animateurs` list is the `animateur` role."""
    return ANIMATEUR if config_key in ("animateurs", ANIMATEUR) else config_key


def member_values(config: Config, m: MemberEntry) -> dict[ValueKey, str]:
    """What the config says of one member: name, organisation, language, attributes."""
    out: dict[ValueKey, str] = {("name", ""): m.name or m.id}
    if m.organisation:
        out[("organisation", "")] = m.organisation
    if m.locale:
        out[("locale", "")] = m.locale
    for name, value in m.own_attributes.items():
        out[("attribute", name)] = config.attributes.value(name, value) or value
    return out


def config_value(config: Config, key: str, accounts: Sequence[tuple[str, str, str]], kind: ProfileField,
                 attribute: str) -> str | None:
    """What the config says now of one value of the person `key` (with these accounts)."""
    if kind == "role":
        names = {key, *(f"{platform}:{user}" for platform, _, user in accounts)}
        listed = any(role_name(r) == attribute and names & set(people) for r, people in config.file.roles.items())
        return HELD if listed else None
    entry = next((m for m in config.file.members if m.id == key), None)
    if entry is None:
        return None
    return member_values(config, entry).get((kind, attribute))


@dataclass
class Seeding:
    """One boot's pass over the config, inside its transaction."""

    people: People
    unit: Unit
    now: datetime
    written: list[SourceRow] = field(default_factory=list)
    dropped: list[tuple[int, ProfileField, str]] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)

    def _forgotten(self, *identifiers: str) -> bool:
        return any(tombstone(self.people.network_id, i) in self.gone for i in identifiers)

    @property
    def config(self) -> Config:
        return self.people.config

    async def run(self) -> None:
        nid, cfg = self.people.network_id, self.config.file
        for ch in cfg.channels:
            await self.unit.people.put_channel(nid, ch.id, ch.platform, ch.room, ch.name or ch.id)
        rows = {p.key: p for p in await self.unit.people.persons(nid)}
        sources = {(s.person_id, s.field, s.attribute): s for s in await self.unit.people.sources(nid)}
        self.keys = {p.id: p.key for p in rows.values()}
        persons: dict[str, int] = {}
        self.gone = await self.unit.forgetting.tombstones(nid)
        for m in cfg.members:
            if self._forgotten(m.id, *m.accounts):
                # Forgotten at their request: the config still naming them brings no one back.
                continue
            row = rows.get(m.id)
            if row is None:
                pid = await self.unit.people.add_person(nid, m.id, m.name or m.id, from_config=True, now=self.now)
                row = PersonRow(pid, m.id, m.name or m.id, None, {}, None, False, False)
                self.keys[pid] = m.id
            elif row.merged_into is not None:
                # Merged in chat into someone else, and now declared by the config: the config
                # speaks of this person, who is someone of their own again.
                log.warning("config member %s had been merged into another person in chat; the config's entry "
                            "makes them a person of their own again", m.id)
                await self.unit.people.update_person(row.id, merged_into=None)
            persons[m.id] = row.id
            await self._member(m, row, sources)
            for acc in m.accounts:
                platform, _, user = acc.partition(":")
                existing = await self.unit.people.account(nid, platform, "", user)
                if existing is None:
                    await self.unit.people.add_account(nid, platform, "", user, row.id)
                elif existing.person_id != row.id:
                    # The config links this account to a person now: follow it.
                    await self.unit.people.move_account(existing.id, row.id)
        await self._roles(persons, sources)
        if self.written:
            await self.unit.people.put_sources(self.written)
        if self.dropped:
            await self.unit.people.drop_sources(self.dropped)
        await self.people.bump(self.unit)

    def _decide(self, pid: int, key: ValueKey, wanted: str | None, current: str | None,
                sources: Sources, who: str) -> bool:
        """Whether the config's `wanted` value applies (recording its source); False when a
        chat edit stands."""
        kind, attribute = key
        src = sources.get((pid, kind, attribute))
        if src is not None and src.source == "chat" and src.config_value == wanted:
            if current != wanted:
                log.info("directory: %s's %s edited in chat (%r) differs from the config (%r); the chat's value "
                         "stands until the config's value changes", who, attribute or kind, current, wanted)
            return False
        if wanted is None:
            if src is not None:
                self.dropped.append((pid, kind, attribute))
        elif src is None or src.source != "config" or src.config_value != wanted:
            self.written.append(SourceRow(pid, kind, attribute, "config", wanted, self.now))
        return True

    async def _member(self, m: MemberEntry, row: PersonRow, sources: Sources) -> None:
        wanted = member_values(self.config, m)
        current: dict[ValueKey, str | None] = {("name", ""): row.name, ("organisation", ""): row.organisation,
                                               ("locale", ""): row.locale}
        current.update({("attribute", a): v for a, v in row.attributes.items()})
        keys: set[ValueKey] = set(wanted) | set(current)
        keys |= {(f, a) for (p, f, a) in sources if p == row.id and f != "role"}
        changes: dict[str, object] = {"from_config": True}
        attributes = dict(row.attributes)
        for key in sorted(keys):
            kind, attribute = key
            value = wanted.get(key)
            if kind == "locale" and value is None and (row.id, kind, attribute) not in sources:
                continue  # a language chosen in chat before sources were recorded
            if not self._decide(row.id, key, value, current.get(key), sources, m.id) or current.get(key) == value:
                continue
            if kind == "attribute":
                if value is None:
                    attributes.pop(attribute, None)
                else:
                    attributes[attribute] = value
                changes["attributes"] = attributes
            else:
                changes[kind] = value
        await self.unit.people.update_person(row.id, **changes)

    async def _roles(self, persons: Mapping[str, int], sources: Sources) -> None:
        nid, cfg = self.people.network_id, self.config.file
        listed: set[tuple[str, int]] = set()
        for role, people in cfg.roles.items():
            for who in people:
                pid = persons.get(who)
                if pid is None and ":" in who and not self._forgotten(who):
                    pid = await self._person_for_account(who)
                if pid is not None:
                    listed.add((role_name(role), pid))
        held = set(await self.unit.people.roles(nid))
        chat = {(s.attribute, s.person_id) for s in sources.values() if s.field == "role"}
        for role, pid in sorted(listed | held | chat):
            wanted = HELD if (role, pid) in listed else None
            now_held = HELD if (role, pid) in held else None
            if self._decide(pid, ("role", role), wanted, now_held, sources, self.keys.get(pid, str(pid))) and now_held != wanted:
                await self.unit.people.set_role(nid, role, pid, wanted == HELD)

    async def _person_for_account(self, account: str) -> int:
        platform, _, user = account.partition(":")
        found = await self.unit.people.account(self.people.network_id, platform, None, user)
        if found is not None:
            return found.person_id
        key = account_key(platform, "", user)
        pid = await self.unit.people.add_person(self.people.network_id, key, user, now=self.now)
        await self.unit.people.add_account(self.people.network_id, platform, "", user, pid)
        return pid
