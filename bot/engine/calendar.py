"""The network's calendar (.ics): every configured ritual's calendar, from its stored state, in one file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from icalendar import Calendar, vText

from bot.config import Config
from bot.engine.rituals import CONFIG_KEY
from bot.kernel.scenario import NetworkInfo, Registry
from bot.store.ports import StorePort
from bot.store.rows import RitualRow


async def network_calendar(store: StorePort, config: Config, registry: Registry, now: datetime) -> bytes | None:
    """One calendar of everything the configured rituals schedule (every meeting ritual's
    series and one-off meetings, and the meetings other rituals started), each from its state
    in the store (or from its config alone when it never ran); None when no ritual has a
    calendar."""
    net = config.network
    info = NetworkInfo(name=net.name, locale=net.locale, timezone=net.timezone, charter=net.charter,
                       name_with_article=net.name_with_article)
    async with store.reading() as unit:
        nid = await unit.networks.find(net.name)
        states: dict[str, object] = {}
        implicit: list[RitualRow] = []
        if nid is not None:
            for row in await unit.rituals.configured(nid):
                if row.status == "open":
                    states[row.key.removeprefix(CONFIG_KEY)] = row.state
            configured_kinds = {entry.kind for entry in config.file.rituals}
            for kind in registry.kinds.values():
                if kind.implicit and kind.name not in configured_kinds:
                    implicit += await unit.rituals.of_kind(nid, kind.name, ["implicit"])
                if kind.implicit:
                    # One another ritual started (a date poll's meeting, `StartRitual`).
                    implicit += await unit.rituals.of_kind(nid, kind.name, ["command"])
    parts: list[tuple[str, bytes]] = []
    for entry in config.file.rituals:
        kind = registry.get(entry.kind)
        raw = states.get(entry.id)
        state = kind.state_type.model_validate(raw) if raw is not None else None
        data = kind.export_calendar(config.ritual_options[entry.id], state, info, now)
        if data is not None:
            parts.append((entry.id, data))
    for row in implicit:
        # A kind present in every network (the calendar of one-off meetings) with no entry.
        kind = registry.get(row.kind)
        data = kind.export_calendar(config.kind_defaults.get(row.kind, {}), kind.state_type.model_validate(row.state),
                                    info, now)
        if data is not None:
            parts.append((row.key, data))
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
