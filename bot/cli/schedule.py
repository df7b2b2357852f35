"""`maillage schedule`: the next firings of every ritual, in the network's local time, from the config alone."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot.cli.base import load_config, say
from bot.kernel.i18n import Code, Msg, Renderer, When, normalize_locale
from bot.kernel.localtime import localize
from scenarios import registry


@runtime_checkable
class _Detailed(Protocol):
    """A kind whose firings can say what they concern (a meeting series' title and date),
    beyond the bare catalog key of `upcoming`."""

    def schedule(self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
                 ) -> list[tuple[datetime, Msg]]: ...


async def cmd_schedule(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config is None:
        return 2
    tz = ZoneInfo(config.network.timezone)
    locale = normalize_locale(args.lang or config.network.locale)
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            say(Msg("cli.bad_datetime", value=args.start), locale, err=True)
            return 2
        if start.tzinfo is None:
            start = localize(start, tz)
    else:
        start = datetime.now(UTC)
    rows: list[tuple[datetime, str, str, Msg]] = []
    reg = registry()
    for entry in config.file.rituals:
        kind = reg.get(entry.kind)
        options = config.ritual_options[entry.id]
        # An animateur checks which series each reminder belongs to: the detailed listing when the kind has one.
        firings = (kind.schedule(options, tz, start, args.count) if isinstance(kind, _Detailed)
                   else [(at, Msg(key)) for at, key in kind.upcoming(options, tz, start, args.count)])
        for at, what in firings:
            rows.append((at, entry.id, entry.kind, what))
    rows.sort(key=lambda r: (r[0], r[1]))
    rows = rows[: args.count * max(1, len(config.file.rituals))]
    render = Renderer(locale, tz, now=start)
    print(render(Msg("core.schedule.header", timezone=config.network.timezone)))
    if not rows:
        print(render(Msg("core.schedule.none")))
    for at, rid, kind_name, what in rows:
        print(render(Msg("core.schedule.line", when=When(at=at, style="datetime"), ritual=Code(text=rid),
                         kind=kind_name, what=what)))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    sched = sub.add_parser("schedule", help="list the next firings of every ritual, in local time")
    sched.add_argument("-c", "--config", required=True)
    sched.add_argument("--from", dest="start", help="ISO date-time to start from (default: now)")
    sched.add_argument("--count", type=int, default=5)
    sched.set_defaults(func=cmd_schedule)
