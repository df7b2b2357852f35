"""The network's calendar (.ics), built from its configured rituals' stored state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.config import Config
from bot.scenario import NetworkInfo, Registry
from bot.store import Store
from bot.store import schema as t


async def network_calendar(store: Store, config: Config, registry: Registry, now: datetime) -> bytes | None:
    """The first configured ritual that exports a calendar (the meetings), from its state in
    the store (or from its config alone when it never ran); None when no ritual has one."""
    net = config.network
    info = NetworkInfo(name=net.name, locale=net.locale, timezone=net.timezone, charter=net.charter)
    async with store.read() as conn:
        nid = (await conn.execute(select(t.networks.c.id).where(t.networks.c.name == net.name))).scalar()
        states: dict[str, object] = {}
        if nid is not None:
            rows = (await conn.execute(select(t.rituals.c.key, t.rituals.c.state).where(
                t.rituals.c.network_id == nid, t.rituals.c.status == "open",
                t.rituals.c.key.like("cfg:%")))).all()
            states = {r.key[4:]: r.state for r in rows}
    for entry in config.file.rituals:
        kind = registry.get(entry.kind)
        raw = states.get(entry.id)
        state = kind.state_type.model_validate(raw) if raw is not None else None
        data = kind.export_calendar(config.ritual_options[entry.id], state, info, now)
        if data is not None:
            return data
    return None
