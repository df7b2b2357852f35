"""The network's calendar (.ics): every configured ritual's calendar, from its stored state, in one file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from icalendar import Calendar, vText
from sqlalchemy import select

from bot.config import Config
from bot.kernel.scenario import NetworkInfo, Registry
from bot.store import Store
from bot.store import schema as t


async def network_calendar(store: Store, config: Config, registry: Registry, now: datetime) -> bytes | None:
    """One calendar of everything the configured rituals schedule (every meeting ritual's
    series and one-off meetings), each from its state in the store (or from its config alone
    when it never ran); None when no ritual has a calendar."""
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
    parts: list[tuple[str, bytes]] = []
    for entry in config.file.rituals:
        kind = registry.get(entry.kind)
        raw = states.get(entry.id)
        state = kind.state_type.model_validate(raw) if raw is not None else None
        data = kind.export_calendar(config.ritual_options[entry.id], state, info, now)
        if data is not None:
            parts.append((entry.id, data))
    return merge_calendars(parts)


def merge_calendars(parts: Sequence[tuple[str, bytes]]) -> bytes | None:
    """Several rituals' calendars as one: the first one's header, every event, each time
    zone once. A UID already used by an earlier ritual (two calendars both have a series
    "main" or a meeting "once-1") is prefixed with the ritual's id, for all the components
    of that ritual that carry it, so a recurring event keeps its overrides. One calendar is
    returned as it is (its bytes, hence its UIDs, do not change when it is alone)."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0][1]
    merged = Calendar.from_ical(parts[0][1])
    seen_uids = {str(c["uid"]) for c in merged.subcomponents if "uid" in c}
    zones = {str(c["tzid"]) for c in merged.walk("VTIMEZONE")}
    for ritual_id, data in parts[1:]:
        cal = Calendar.from_ical(data)
        mine = {str(c["uid"]) for c in cal.subcomponents if "uid" in c}
        taken = mine & seen_uids
        for component in cal.subcomponents:
            if component.name == "VTIMEZONE":
                if str(component["tzid"]) in zones:
                    continue
                zones.add(str(component["tzid"]))
            elif "uid" in component and str(component["uid"]) in taken:
                component["uid"] = vText(f"{ritual_id}.{component['uid']}")
            merged.add_component(component)
        seen_uids |= {f"{ritual_id}.{u}" if u in taken else u for u in mine}
    # Time zones first, as calendar applications expect them before the events using them.
    merged.subcomponents.sort(key=lambda c: c.name != "VTIMEZONE")
    return bytes(merged.to_ical())
