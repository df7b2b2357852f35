"""What the register's pages read of the store: the network, its directory as it is now, the
register's entries with names as shown today, and the rituals still open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config, RegistreSection
from bot.engine.directory import People
from bot.engine.register import Names, load_register, pseudonym
from bot.kernel.register import Entry, RegisterView
from bot.kernel.scenario import Registry, RitualSummary
from bot.store.forget_rows import forgotten_number
from bot.store.ports import StorePort


@dataclass(frozen=True)
class Network:
    id: int
    name: str
    locale: str
    tz: ZoneInfo
    charter: str
    command_prefix: str
    section: RegistreSection | None

    @classmethod
    def of(cls, config: Config, network_id: int) -> Network:
        net = config.network
        return cls(network_id, net.name, net.locale, ZoneInfo(net.timezone), net.charter, net.command_prefix,
                   config.file.registre)

    @property
    def base_url(self) -> str | None:
        return self.section.base_url if self.section is not None else None


class Source:
    """Reads one network's register for its pages and its export."""

    def __init__(self, store: StorePort, config: Config, network_id: int, registry: Registry | None = None) -> None:
        self.store = store
        self.config = config
        self.network = Network.of(config, network_id)
        self.registry = registry

    async def _people(self, unit: Any) -> People:
        # A directory of its own per read: the engine's is its own, and may change meanwhile.
        people = People(self.config)
        people.network_id = self.network.id
        await people.load(unit)
        return people

    async def everything(self, details: bool = True) -> tuple[RegisterView, Directory]:
        async with self.store.reading() as unit:
            people = await self._people(unit)
            if details:
                view = await load_register(unit, people, self.network.locale, self.network.base_url)
            else:
                rows = await unit.register.entries(self.network.id, details=False)
                names = Names(people, self.network.locale)
                view = RegisterView(tuple([await names.entry(unit, r, self.network.base_url) for r in rows]))
        return view, Directory(people, self.network.locale)

    async def entry(self, kind: str, number: int, ritual_kind: str | None = None
                    ) -> tuple[Entry | None, Directory]:
        async with self.store.reading() as unit:
            people = await self._people(unit)
            row = await unit.register.entry(self.network.id, kind, number, ritual_kind)
            found = None if row is None else await Names(people, self.network.locale).entry(
                unit, row, self.network.base_url)
        return found, Directory(people, self.network.locale)

    async def open_rituals(self) -> list[RitualSummary]:
        """What the open rituals say of themselves (decisions in progress, next meetings)."""
        if self.registry is None:
            return []
        out: list[RitualSummary] = []
        async with self.store.reading() as unit:
            for r in await unit.rituals.open(self.network.id):
                kind = self.registry.kinds.get(r.kind)
                if kind is None:
                    continue
                summary = kind.summarize(kind.state_type.model_validate(r.state))
                if summary is not None:
                    out.append(RitualSummary(r.kind, r.number, r.status, summary))
        return sorted(out, key=lambda s: (s.kind, s.number))


class Directory:
    """Names as the register shows them today: a forgotten person's pseudonym."""

    def __init__(self, people: People, locale: str) -> None:
        self.people = people
        self.locale = locale

    def name(self, key: str) -> str:
        pid = self.people.person_by_key.get(key)
        person = self.people.persons.get(pid) if pid is not None else None
        if person is None:
            return key
        return pseudonym(forgotten_number(person.key) or person.id, self.locale) if person.opted_out else person.name

    def by_id(self, pid: int) -> str:
        person = self.people.persons.get(pid)
        if person is None or person.opted_out:
            return pseudonym((forgotten_number(person.key) if person else None) or pid, self.locale)
        return person.name

    def roles(self) -> list[tuple[str, list[str]]]:
        """Who holds each role, by name (forgotten people hold none: they are left out)."""
        out: list[tuple[str, list[str]]] = []
        for role, ids in sorted(self.people.roles.items()):
            names = sorted(self.people.persons[i].name for i in ids
                           if i in self.people.persons and not self.people.persons[i].opted_out)
            if names:
                out.append((role, names))
        return out

    def names(self, keys: Sequence[str]) -> list[str]:
        return [self.name(k) for k in keys]
