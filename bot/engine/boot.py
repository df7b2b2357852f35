"""Bringing the store in line with the config at start: the network, its directory, its
configured rituals (started, re-told when their options changed, retired when removed)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence

from bot.adapter import Adapter
from bot.config import Config
from bot.engine.directory import People
from bot.engine.isolation import Isolation
from bot.engine.rituals import CONFIG_KEY, Rituals
from bot.engine.seeding import Seeding
from bot.engine.tx import Tx
from bot.kernel.clock import Clock
from bot.kernel.model import Started
from bot.kernel.scenario import Registry
from bot.store.forget_rows import tombstone
from bot.store.ports import StorePort, Unit

log = logging.getLogger("maillage.engine")

OPTIONS = "ritual-options"
"""Settings namespace: the digest of the options each configured ritual last started with."""


class Boot:
    def __init__(self, store: StorePort, config: Config, registry: Registry, people: People, rituals: Rituals,
                 isolation: Isolation, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.registry = registry
        self.people = people
        self.rituals = rituals
        self.isolation = isolation
        self.clock = clock

    async def network(self) -> None:
        """The network's row, its channels, people and roles from the config (chat edits
        standing until the config's value changes: `seeding`), then the directory in memory."""
        now = self.clock.now()
        async with self.store.unit() as unit:
            await self._serialize(unit)
            self.people.network_id = await unit.networks.ensure(self.config.network.name, now)
            await Seeding(self.people, unit, now).run()
        async with self.store.reading() as unit:
            await self.people.load(unit)

    async def _serialize(self, unit: Unit) -> None:
        # Processes starting together on one PostgreSQL bring the store in line with the
        # config one after the other.
        await unit.serialize(f"maillage-boot:{self.config.network.name}")

    async def configured_rituals(self) -> Tx:
        now = self.clock.now()
        nid = self.people.network_id
        async with self.store.unit() as unit:
            await self._serialize(unit)
            tx = Tx(unit, now)
            wanted = {f"{CONFIG_KEY}{entry.id}": entry for entry in self.config.rituals}
            every = {r.key: r for r in await unit.rituals.configured(nid)}
            for key, row in every.items():
                if row.status == "open" and (key not in wanted or wanted[key].kind != row.kind):
                    # Removed from the config (or its kind changed): retire it and its timers.
                    await unit.rituals.retire(row.id, now)
                    await unit.timers.clear(row.id)
                    tx.timers_changed = True
            for key, entry in wanted.items():
                digest = self._options_digest(entry.id, entry.channels)
                first = entry.channels[0] if entry.channels else None
                former = every.get(key)
                if former is not None and former.status == "open" and former.kind == entry.kind:
                    ritual = await self.rituals.load(tx, former.id)
                    if ritual is None:
                        continue
                    if ritual.channels != list(entry.channels):
                        # A configured ritual's channels are those of its entry, nothing else
                        # (earlier releases let an answer posted elsewhere add its channel).
                        ritual.channels = list(entry.channels)
                        ritual.dirty = True
                    if await self._options_changed(unit, ritual.id, digest, tx):
                        # The config changed since this ritual started: tell it again, so a new
                        # series or a new time takes effect now, not at its next timer.
                        await self.isolation.deliver_alone(tx, ritual, Started(channel=first), platform="config",
                                                           event_id=f"start:{ritual.id}:{digest}")
                    continue
                if former is not None:
                    if former.status == "finished" and former.kind == entry.kind:
                        continue  # it ran to its end; the config does not make it run again
                    # Retired (removed from the config, or its kind changed) and now back: the
                    # same row reopens, keeping its number and its history.
                    kind = self.registry.get(entry.kind)
                    await unit.rituals.reopen(former.id, entry.kind, kind.initial_state().model_dump(mode="json"),
                                              now)
                    reopened = await self.rituals.load(tx, former.id)
                    assert reopened is not None
                    reopened.channels = list(entry.channels)
                    reopened.dirty = True
                    ritual = reopened
                else:
                    ritual = await self.rituals.create(tx, entry.kind, key, list(entry.channels), origin="config")
                await self._options_changed(unit, ritual.id, digest, tx)
                await self.isolation.deliver_alone(tx, ritual, Started(channel=first), platform="config",
                                                   event_id=f"start:{ritual.id}:{digest}")
            await tx.flush(nid)
        return tx

    def _options_digest(self, ritual_id: str, channels: Sequence[str]) -> str:
        body = json.dumps({"options": self.config.ritual_options.get(ritual_id, {}), "channels": list(channels)},
                          sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()

    async def _options_changed(self, unit: Unit, ritual_id: int, digest: str, tx: Tx) -> bool:
        known = await unit.settings.get(OPTIONS, str(ritual_id))
        if known == digest:
            return False
        await unit.settings.put(OPTIONS, str(ritual_id), digest, tx.now)
        return known is not None

    async def seed_members(self, adapters: Mapping[str, Adapter]) -> None:
        """Ask each adapter who is in each bound channel (after a downtime people may have
        joined or left without us seeing the event)."""
        now = self.clock.now()
        for ch in list(self.people.channels.values()):
            adapter = adapters.get(ch.platform)
            if adapter is None:
                continue
            try:
                present = await adapter.members(ch.platform_id)
            except Exception:  # a platform hiccup must not stop the boot
                log.warning("could not list members of channel %s", ch.key, exc_info=True)
                continue
            async with self.store.unit() as unit:
                here: dict[int, bool] = {}
                gone = await unit.forgetting.tombstones(self.people.network_id)
                for m in present:
                    if tombstone(self.people.network_id, f"{ch.platform}:{m.user_id}") in gone:
                        continue  # forgotten at their request: being in the room brings them back to nothing
                    pid = await self.people.ensure_account(unit, ch.platform, "", m.user_id, m.display_name, now)
                    here[pid] = here.get(pid, False) or m.is_bot
                await self.people.seed_channel(unit, ch.key, here, now)
