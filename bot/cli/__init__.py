"""The `maillage` command line: its parser and `main`; the composition root (bot/cli/adapters.py, bot/cli/run.py) wires a configured bot together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.cli import calendar, config, db, demo, draw, registre, run, schedule
from bot.cli.adapters import Launch
from bot.cli.base import locale_of, say
from bot.cli.help import Parser, locale_in, localize
from bot.cli.logs import setup_logging
from bot.kernel.i18n import Msg
from bot.secrets import redact

log = logging.getLogger("maillage")

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def parser(launch: Launch | None = None, locale: str | None = None) -> argparse.ArgumentParser:
    """Every command; `run` (and the demo, which drives the same start) with `launch`. The
    help is in `locale` (default: the language MAILLAGE_LANG names, else French); its texts
    are in bot/cli/catalog, keyed by command and option (bot/cli/help.py)."""
    launch = launch or Launch()
    p = Parser(prog="maillage")
    p.add_argument("--lang", choices=["fr", "en"])
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--log-json", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    run.register(sub, launch)
    config.register(sub)
    schedule.register(sub)
    calendar.register(sub)
    db.register(sub)
    demo.register(sub)
    draw.register(sub)
    registre.register(sub)
    return localize(p, locale or locale_in(()))


def main(argv: Sequence[str] | None = None, launch: Launch | None = None) -> int:
    """The program. `launch` is for a test entry point that starts the bot with hooks (a
    crash test's fault point); `maillage` itself never passes one."""
    args = parser(launch, locale_in(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    setup_logging(json=args.log_json or os.environ.get("MAILLAGE_LOG_FORMAT") == "json",
                  level=logging.DEBUG if args.verbose else logging.INFO)
    func: Command = args.func
    try:
        code = int(asyncio.run(func(args)))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a sentence for the user; the traceback only with -v
        log.debug("unexpected error", exc_info=True)
        say(Msg("cli.unexpected", kind=type(exc).__name__, detail=redact(str(exc)) or "—"), locale_of(args), err=True)
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
