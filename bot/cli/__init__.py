"""The `maillage` command line, and the composition root that wires a configured bot together."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.adapter import Adapter, PermanentError
from bot.config import Config, ConfigError, load, missing_env
from bot.kernel.i18n import Code, Msg, Renderer, When, normalize_locale, render_plain
from bot.kernel.localtime import localize
from bot.cli.logs import setup_logging
from bot.secrets import redact
from bot.store import Store, open_store
from bot.store.migrate import current_revision, head_revision
from bot.web.ops import OpsServer
from scenarios import registry

if TYPE_CHECKING:
    from bot.engine.running import Stopping

log = logging.getLogger("maillage")


def say(msg: Msg, locale: str = "fr", tz: str = "Europe/Paris", err: bool = False) -> None:
    print(render_plain(msg, locale, tz), file=sys.stderr if err else sys.stdout, flush=True)


def _locale(args: argparse.Namespace) -> str:
    return normalize_locale(getattr(args, "lang", None) or os.environ.get("MAILLAGE_LANG") or "fr")


def load_config(args: argparse.Namespace) -> Config | None:
    try:
        return load(Path(args.config), registry())
    except ConfigError as exc:
        loc = _locale(args)
        for m in exc.messages():
            say(m, loc, err=True)
        say(Msg("config.invalid_count", count=len(exc.problems)), loc, err=True)
        return None


# ------------------------------------------------------------------ adapters


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def build_adapters(config: Config, store: Store, read_stdin: bool) -> dict[str, Adapter]:
    """One adapter per platform the config binds. Platform modules are imported only when
    used, so a Slack-only network never loads the Matrix stack."""
    adapters: dict[str, Adapter] = {}
    platforms = {c.platform for c in config.file.channels}
    if "console" in platforms:
        from adapters.console import ConsoleAdapter

        rooms = [c.room for c in config.file.channels if c.platform == "console"]
        members: dict[str, list[str]] = {}
        for m in config.file.members:
            for acc in m.accounts:
                if acc.startswith("console:"):
                    for r in rooms:
                        members.setdefault(r, []).append(acc.split(":", 1)[1])
        # The transcript is the console's "platform history": with it, a message resent after a
        # crash is recognised by its idempotency key, as Matrix and Slack recognise theirs.
        transcript = os.environ.get("MAILLAGE_CONSOLE_TRANSCRIPT")
        adapters["console"] = ConsoleAdapter(rooms, members, prefix=config.network.command_prefix,
                                             read_stdin=read_stdin, locale=normalize_locale(config.network.locale),
                                             transcript=Path(transcript) if transcript else None)
    if "matrix" in platforms:
        mod = _optional("adapters.matrix.adapter")
        if mod is None or not hasattr(mod, "build"):
            raise SystemExit("the Matrix adapter is not available in this installation")
        adapters["matrix"] = mod.build(config, store.kv(), store.leases())
    if "slack" in platforms:
        mod = _optional("adapters.slack.adapter")
        if mod is None or not hasattr(mod, "build"):
            raise SystemExit("the Slack adapter is not available in this installation")
        adapters["slack"] = mod.build(config, store)
    return adapters


# ------------------------------------------------------------------ commands


async def cmd_run(args: argparse.Namespace) -> int:
    from bot.engine.running import Stopping

    config = load_config(args)
    if config is None:
        return 2
    loc = _locale(args)
    # Checked before anything starts: a missing secret is named, not met half-way through a
    # start. Matrix credentials are the adapter's to judge: a stored session may do.
    missing = [need for need in missing_env(config) if not need.first_login_only]
    if missing:
        _refused(ConfigError([need.problem(str(config.path)) for need in missing]), loc)
        return 2
    stopping = Stopping(lambda msg: say(msg, loc, err=True))
    code = await stopping.run(_serve(config, stopping, loc))
    if stopping.signal is not None:
        say(Msg("cli.stop.done"), loc, err=True)
        args.stopped_by_signal = True
    return code


def _refused(exc: ConfigError, loc: str) -> None:
    for m in exc.messages():
        say(m, loc, err=True)
    say(Msg("config.invalid_count", count=len(exc.problems)), loc, err=True)


async def _serve(config: Config, stopping: Stopping, loc: str) -> int:
    """Start the bot, serve until a stop is asked, stop in order. A start that cannot succeed
    (a secret missing, a login refused) is said in a sentence, not a traceback."""
    from bot.engine.running import running_bot

    store = await open_store(config.store_url())
    try:
        adapters = build_adapters(config, store, read_stdin=True)
        # Crash tests still name their fault point in the environment (to be injected instead).
        async with running_bot(config, registry(), adapters, store=store,
                               fault=os.environ.get("MAILLAGE_FAULT")) as bot:
            ops_cfg = config.file.ops
            ops = OpsServer([bot.engine], ops_cfg.host, ops_cfg.port) if ops_cfg else None
            if ops is not None:
                await ops.start()
            stopping.serving = True
            try:
                await stopping.requested.wait()
            finally:
                if ops is not None:
                    await ops.stop()
    except ConfigError as exc:  # a secret named by the config is missing from the environment
        _refused(exc, loc)
        return 2
    except PermanentError as exc:  # e.g. a login the homeserver refuses: retrying would not help
        say(Msg("cli.start_failed", detail=redact(str(exc))), loc, err=True)
        return 1
    finally:
        await store.close()
    return 0


async def cmd_config_check(args: argparse.Namespace) -> int:
    """Exit 0: valid and `run` has what it needs; 1: valid, but variables `run` reads are not
    set here; 2: invalid."""
    config = load_config(args)
    if config is None:
        return 2
    loc = normalize_locale(args.lang or config.network.locale)
    say(Msg("config.ok", channels=len(config.file.channels), members=len(config.file.members),
            rituals=len(config.file.rituals)), loc)
    missing = missing_env(config)
    if not missing:
        return 0
    say(Msg("config.env_header"), loc, err=True)
    for need in missing:
        p = need.problem(str(config.path))
        say(Msg("config.problem", file=p.file, key=Code(text=p.key), what=p.msg), loc, err=True)
    say(Msg("config.env_count", count=len(missing)), loc, err=True)
    return 1


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
    rows: list[tuple[datetime, str, str, str]] = []
    reg = registry()
    for entry in config.file.rituals:
        kind = reg.get(entry.kind)
        for at, what in kind.upcoming(config.ritual_options[entry.id], tz, start, args.count):
            rows.append((at, entry.id, entry.kind, what))
    rows.sort(key=lambda r: (r[0], r[1]))
    rows = rows[: args.count * max(1, len(config.file.rituals))]
    render = Renderer(locale, tz, "plain", now=start)
    print(render(Msg("core.schedule.header", timezone=config.network.timezone)))
    if not rows:
        print(render(Msg("core.schedule.none")))
    for at, rid, kind_name, what in rows:
        print(render(Msg("core.schedule.line", when=When(at=at, style="datetime"), ritual=Code(text=rid),
                         kind=kind_name, what=Msg(what))))
    return 0


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
    from bot.store.dead_letters import dead_letters

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
    render = Renderer(locale, ZoneInfo(config.network.timezone), "plain", now=datetime.now(UTC))
    print(render(Msg("cli.dead_letters.header", count=len(letters))))
    for d in letters:
        print(render(Msg("cli.dead_letters.line", when=When(at=d.at, style="datetime"), platform=d.platform,
                         event=Code(text=d.event_id), kind=d.kind, sender=d.sender or "—",
                         error=Code(text=d.error[:300]))))
    return 0


async def cmd_calendar(args: argparse.Namespace) -> int:
    from bot.engine.calendar import network_calendar

    config = load_config(args)
    if config is None:
        return 2
    store = await open_store(config.store_url())
    try:
        data = await network_calendar(store, config, registry(), datetime.now(UTC))
    finally:
        await store.close()
    if data is None:
        say(Msg("cli.no_calendar"), normalize_locale(config.network.locale), err=True)
        return 1
    if args.out:
        await asyncio.to_thread(Path(args.out).write_bytes, data)
    else:
        sys.stdout.buffer.write(data)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maillage", description="Maillage: the rituals of a network, in its chat.")
    p.add_argument("--lang", choices=["fr", "en"], help="language of the messages (default: fr)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--log-json", action="store_true", help="one JSON object per log line")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", required=True)
    run.set_defaults(func=cmd_run)

    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a config file")
    check.add_argument("-c", "--config", required=True)
    check.set_defaults(func=cmd_config_check)

    sched = sub.add_parser("schedule", help="list the next firings of every ritual, in local time")
    sched.add_argument("-c", "--config", required=True)
    sched.add_argument("--from", dest="start", help="ISO date-time to start from (default: now)")
    sched.add_argument("--count", type=int, default=5)
    sched.set_defaults(func=cmd_schedule)

    cal = sub.add_parser("calendar", help="write the network's meetings as an .ics calendar")
    cal.add_argument("-c", "--config", required=True)
    cal.add_argument("--out", help="file to write (default: standard output)")
    cal.set_defaults(func=cmd_calendar)

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("-c", "--config", required=True)
    up.set_defaults(func=cmd_db_upgrade)
    dead = db_sub.add_parser("dead-letters", help="list the events that failed and were set aside")
    dead.add_argument("-c", "--config", required=True)
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_db_dead_letters)

    for name in ("bot.demo", "bot.cli.draw"):
        mod = _optional(name)
        if mod is not None and hasattr(mod, "register"):
            mod.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(json=args.log_json or os.environ.get("MAILLAGE_LOG_FORMAT") == "json",
                  level=logging.DEBUG if args.verbose else logging.INFO)
    func: Any = args.func
    try:
        code = int(asyncio.run(func(args)))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a sentence for the user; the traceback only with -v
        log.debug("unexpected error", exc_info=True)
        say(Msg("cli.unexpected", kind=type(exc).__name__, detail=redact(str(exc)) or "—"), _locale(args), err=True)
        return 1
    if argv is None and getattr(args, "stopped_by_signal", False):
        # The program (not a caller in-process) stopped on a signal, everything closed and
        # flushed: the interpreter's teardown of every module only frees memory, and takes
        # seconds of the stop budget on a loaded host.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
