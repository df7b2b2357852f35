"""`maillage draw run|verify|commit`: sortition from CSV files, without any chat platform."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import TextIO

from bot.kernel.i18n import Code, Lines, Msg, normalize_locale, render_plain
from scenarios.sortition.draw import Exclusion, plan_draw
from scenarios.sortition.pool import (
    Quota,
    SortitionError,
    parse_people_csv,
    parse_quotas_csv,
)
from scenarios.sortition.record import (
    DrawRecord,
    draw,
    new_record,
    verify_record,
)
from scenarios.sortition.seed import Contribution, commitment_of

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `draw` and its subcommands to the `maillage` command line."""
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the output")
    parser = subparsers.add_parser("draw", help="sortition from CSV files, and draw verification")
    sub = parser.add_subparsers(dest="draw_command", required=True)

    run = sub.add_parser("run", parents=[lang], help="draw a panel from a people CSV")
    run.add_argument("--pool", required=True, type=Path, help="people CSV: an id column, then attributes")
    run.add_argument("--quotas", type=Path, help="quotas CSV: attribute,value,min,max")
    run.add_argument("-k", type=int, required=True, help="panel size")
    run.add_argument(
        "--seed",
        action="append",
        default=[],
        help="a seed contribution (repeat for several: dice, lottery numbers, members' words)",
    )
    run.add_argument("--exclude", action="append", default=[], help="an id who sits this draw out")
    run.add_argument("--title", default="", help="the role or assembly drawn for")
    run.add_argument("--out", type=Path, help="where to write the draw record (JSON)")
    run.set_defaults(func=run_command)

    verify = sub.add_parser("verify", parents=[lang], help="replay a draw record")
    verify.add_argument("record", type=Path)
    verify.add_argument(
        "--no-optimality",
        dest="optimality",
        action="store_false",
        help="skip re-solving leximin (only replay the lottery and the seed)",
    )
    verify.set_defaults(func=verify_command)

    export = sub.add_parser("export", parents=[lang], help="write the record of a chat draw (from the store)")
    export.add_argument("-c", "--config", required=True)
    export.add_argument("number", type=int, help="the draw's number (tirage n°…)")
    export.add_argument("--out", type=Path, help="where to write it (default: the standard output)")
    export.set_defaults(func=export_command)

    commit = sub.add_parser("commit", parents=[lang], help="the commitment (SHA-256) of a secret")
    commit.add_argument("secret")
    commit.set_defaults(func=commit_command)


def _say(msg: Msg, lang: str, out: TextIO | None = None) -> None:
    print(render_plain(msg, normalize_locale(lang)), file=out or sys.stdout)


def _read(path: Path, lang: str) -> str | None:
    try:
        return path.read_text("utf-8-sig")
    except FileNotFoundError:
        _say(Msg("sortition.cli.no_file", file=str(path)), lang, sys.stderr)
    except (OSError, UnicodeDecodeError) as e:
        _say(Msg("sortition.cli.unreadable", file=str(path), detail=str(e)), lang, sys.stderr)
    return None


async def run_command(args: argparse.Namespace) -> int:
    lang: str = args.lang
    pool_text = _read(args.pool, lang)
    if pool_text is None:
        return EXIT_BAD_INPUT
    quota_text = "" if args.quotas is None else _read(args.quotas, lang)
    if quota_text is None:
        return EXIT_BAD_INPUT
    try:
        people = parse_people_csv(pool_text, str(args.pool))
        quotas: list[Quota] = parse_quotas_csv(quota_text, str(args.quotas)) if quota_text else []
        by_id = {p.id: p for p in people}
        unknown = sorted(set(args.exclude) - set(by_id))
        if unknown:
            raise SortitionError(Msg("sortition.cli.unknown_exclude", count=len(unknown),
                                         ids=Code(text=", ".join(unknown))))
        excluded = [Exclusion(by_id[i], "excluded") for i in sorted(set(args.exclude))]
        plan = plan_draw(people, quotas, args.k, excluded)
    except SortitionError as e:
        _say(e.msg, lang, sys.stderr)
        return EXIT_BAD_INPUT
    record = new_record(plan, args.title)
    given: list[str] = list(args.seed)
    if not given:
        given = [secrets.token_hex(16)]
        _say(Msg("sortition.cli.random_seed", secret=Code(text=given[0])), lang)
    contributions = [
        Contribution(member=f"seed-{i:02d}", secret=s, status="given") for i, s in enumerate(given, 1)
    ]
    record = draw(record, contributions)
    _say(_report(record), lang)
    if args.out is not None:
        args.out.write_text(record.model_dump_json(indent=2) + "\n", "utf-8")
        _say(Msg("sortition.cli.written", file=str(args.out)), lang)
    return EXIT_OK


def _report(r: DrawRecord) -> Msg:
    lines = [
        Msg("sortition.cli.probability_line", id=m, percent=round(float(_frac(p)) * 100, 4),
            fraction=Code(text=p))
        for m, p in sorted(r.probabilities.items())
    ]
    return Msg(
        "sortition.cli.report",
        k=r.k,
        n=len(r.pool),
        excluded=len(r.excluded),
        pool_hash=Code(text=r.hashes.pool),
        quotas_hash=Code(text=r.hashes.quotas),
        lottery_hash=Code(text=r.hashes.lottery),
        draw_hash=Code(text=r.hashes.draw),
        algorithm=Code(text=r.algorithm),
        seed=Code(text=r.seed or ""),
        ticket=(r.ticket or 0) + 1,
        size=r.lottery.size,
        panel=Code(text=", ".join(r.final_panel)),
        probabilities=Lines(items=list(lines)),
        total=r.k,
    )


def _frac(text: str) -> float:
    num, den = text.split("/")
    return int(num) / int(den)


async def verify_command(args: argparse.Namespace) -> int:
    lang: str = args.lang
    text = _read(args.record, lang)
    if text is None:
        return EXIT_BAD_INPUT
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        _say(Msg("sortition.cli.not_json", file=str(args.record), line=e.lineno, detail=e.msg), lang, sys.stderr)
        return EXIT_BAD_INPUT
    if not isinstance(data, dict):
        _say(Msg("sortition.cli.not_record", file=str(args.record)), lang, sys.stderr)
        return EXIT_BAD_INPUT
    verdict = verify_record(data, check_optimal=args.optimality)
    if verdict.ok and verdict.record is not None:
        r = verdict.record
        key = "sortition.cli.verified" if r.seed else "sortition.cli.verified_undrawn"
        _say(Msg(key, panel=Code(text=", ".join(r.final_panel)), draw_hash=Code(text=r.hashes.draw)), lang)
        if args.optimality:
            _say(Msg("sortition.cli.optimal"), lang)
        return EXIT_OK
    problems = [Msg("sortition.bullet", item=p) for p in verdict.problems]
    _say(Msg("sortition.cli.not_verified", problems=Lines(items=list(problems))), lang)
    return EXIT_MISMATCH


async def commit_command(args: argparse.Namespace) -> int:
    _say(Msg("sortition.cli.commitment", commitment=Code(text=commitment_of(args.secret))), args.lang)
    return EXIT_OK


async def export_command(args: argparse.Namespace) -> int:
    """The latest record the network's log holds for draw number N, as `verify` reads it."""
    from sqlalchemy import select

    from bot.cli.base import load_config
    from bot.store import open_store
    from bot.store import schema as t

    lang: str = args.lang
    config = load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    store = await open_store(config.store_url(), migrate=False)
    try:
        async with store.read() as conn:
            row = (
                await conn.execute(
                    select(t.log.c.summary)
                    .join(t.networks, t.networks.c.id == t.log.c.network_id)
                    .where(
                        t.networks.c.name == config.network.name,
                        t.log.c.kind == "draw",
                        t.log.c.ritual_kind == "draw",
                        t.log.c.ritual_number == args.number,
                    )
                    .order_by(t.log.c.id.desc())
                    .limit(1)
                )
            ).first()
    finally:
        await store.close()
    record = dict(row.summary).get("record") if row is not None else None
    if not record:
        _say(Msg("sortition.cli.no_record", number=args.number), lang, sys.stderr)
        return EXIT_BAD_INPUT
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, "utf-8")
        _say(Msg("sortition.cli.written", file=str(args.out)), lang)
    return EXIT_OK
