"""`maillage db upgrade|dead-letters`: the schema's migrations, and the events the bot set aside because they failed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.base import load_config, say
from bot.kernel.i18n import Code, Msg, Renderer, When, normalize_locale
from bot.store import open_store
from bot.store.dead_letters import dead_letters
from bot.store.migrate import current_revision, head_revision


async def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config is None:
        return 2
    store = await open_store(config.store_url(), migrate=False)
    try:
        before = await current_revision(store.engine)
        await store.migrate()
        after = await current_revision(store.engine)
    finally:
        await store.close()
    say(Msg("cli.db_upgraded", before=before or "—", after=after or "—", head=head_revision() or "—"),
        normalize_locale(config.network.locale))
    return 0


async def cmd_db_dead_letters(args: argparse.Namespace) -> int:
    """`maillage db dead-letters`: the events the bot set aside because they failed."""
    config = load_config(args)
    if config is None:
        return 2
    locale = normalize_locale(config.network.locale)
    store = await open_store(config.store_url())
    try:
        letters = await dead_letters(store, config.network.name, args.limit)
    finally:
        await store.close()
    if not letters:
        say(Msg("cli.dead_letters.none"), locale)
        return 0
    render = Renderer(locale, ZoneInfo(config.network.timezone), now=datetime.now(UTC))
    print(render(Msg("cli.dead_letters.header", count=len(letters))))
    for d in letters:
        print(render(Msg("cli.dead_letters.line", when=When(at=d.at, style="datetime"), platform=d.platform,
                         event=Code(text=d.event_id), kind=d.kind, sender=d.sender or "—",
                         error=Code(text=d.error[:300]))))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("-c", "--config", required=True)
    up.set_defaults(func=cmd_db_upgrade)
    dead = db_sub.add_parser("dead-letters", help="list the events that failed and were set aside")
    dead.add_argument("-c", "--config", required=True)
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_db_dead_letters)
