"""The draw's chat commands: `tirage 3 parmi #comite territoire=1 …` and its seed steps."""

from __future__ import annotations

from typing import Any

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, Token, fold
from bot.kernel.i18n import Msg
from bot.kernel.inputs import (
    NAME,
    PANEL,
    ROTATION,
    SECRET,
    TITLE,
    check_length,
    looks_numeric,
    parse_int,
    shown,
)
from scenarios.sortition.pool import SortitionError, looks_like_quota, parse_quota_token

_FROM = frozenset({"parmi", "from", "among", "dans", "in"})
_ROLE = frozenset({"role", "pour", "for"})
_BALANCE = frozenset({"equilibre", "balance", "equilibrer", "balanced"})


def parse_start(tokens: list[Token]) -> dict[str, Any]:
    """`3 parmi #comite territoire=1 structure<=1 role "délégué" rotation=2 équilibre`."""
    if not tokens:
        raise CommandError(Msg("sortition.cmd.missing_k"))
    first = tokens[0].text
    if tokens[0].quoted or not looks_numeric(first):
        # A word where the number goes ("tirage trois", "tirage 1e9"): show the example.
        raise CommandError(Msg("sortition.cmd.bad_k", value=shown(first)))
    args: dict[str, Any] = {"k": parse_int(first, PANEL), "quotas": []}
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        word = fold(tok.text)
        if not tok.quoted and word in _FROM:
            if i + 1 >= len(tokens):
                raise CommandError(Msg("sortition.cmd.missing_pool", word=tok.text))
            args["pool"] = check_length(tokens[i + 1].text, NAME)
            i += 2
            continue
        if not tok.quoted and word in _ROLE:
            if i + 1 >= len(tokens):
                raise CommandError(Msg("sortition.cmd.missing_role", word=tok.text))
            args["role"] = check_length(tokens[i + 1].text, TITLE)
            i += 2
            continue
        if not tok.quoted and word in _BALANCE:
            args["balance"] = True
            i += 1
            continue
        if not tok.quoted and word.startswith("rotation="):
            value = tok.text.partition("=")[2]
            if not looks_numeric(value):
                raise CommandError(Msg("sortition.cmd.bad_rotation", value=shown(tok.text)))
            args["rotation"] = parse_int(value, ROTATION)
            i += 1
            continue
        if looks_like_quota(tok.text):
            try:
                q = parse_quota_token(tok.text)
            except SortitionError as e:
                raise CommandError(e.msg) from None
            check_length(q.attribute, NAME)
            check_length(q.value or "", NAME)
            args["quotas"].append(
                {"attribute": q.attribute, "value": q.value, "min": q.min, "max": q.max}
            )
            i += 1
            continue
        raise CommandError(Msg("sortition.cmd.not_understood", text=shown(tok.text)))
    return args


def _one(name: str) -> Any:
    def parse(tokens: list[Token]) -> dict[str, Any]:
        if not tokens:
            raise CommandError(Msg(f"sortition.cmd.missing_{name}"))
        return {name: " ".join(t.text for t in tokens)}

    return parse


def _nothing(tokens: list[Token]) -> dict[str, Any]:
    if tokens:
        raise CommandError(Msg("sortition.cmd.not_understood", text=shown(" ".join(t.text for t in tokens))))
    return {}


DRAW = CommandSpec(
    name="tirage",
    aliases=("draw",),
    route="start",
    summary_key="sortition.cmd.draw_summary",
    args=(
        ArgSpec("k", "int", "sortition.arg.k", bounds=PANEL),
        ArgSpec("pool", "text", "sortition.arg.pool", required=False),
        ArgSpec("quotas", "words", "sortition.arg.quotas", required=False),
    ),
    animateur_only=True,
    example_key="sortition.cmd.draw_example",
    parse=parse_start,
)

COMMIT = CommandSpec(
    name="tirage graine",
    aliases=("draw commit",),
    route="ritual",
    summary_key="sortition.cmd.commit_summary",
    args=(ArgSpec("commitment", "text", "sortition.arg.commitment"),),
    example_key="sortition.cmd.commit_example",
    parse=_one("commitment"),
)

REVEAL = CommandSpec(
    name="tirage révéler",
    aliases=("draw reveal",),
    route="ritual",
    summary_key="sortition.cmd.reveal_summary",
    args=(ArgSpec("secret", "rest", "sortition.arg.secret", limit=SECRET),),
    example_key="sortition.cmd.reveal_example",
    parse=_one("secret"),
)

PROBABILITY = CommandSpec(
    name="tirage probabilité",
    aliases=("draw probability",),
    route="ritual",
    summary_key="sortition.cmd.probability_summary",
    example_key="sortition.cmd.probability_example",
    parse=_nothing,
)

CLOSE = CommandSpec(
    name="tirage clore",
    aliases=("draw close",),
    route="ritual",
    summary_key="sortition.cmd.close_summary",
    animateur_only=True,
    example_key="sortition.cmd.close_example",
    parse=_nothing,
)

COMMANDS = (DRAW, COMMIT, REVEAL, PROBABILITY, CLOSE)
