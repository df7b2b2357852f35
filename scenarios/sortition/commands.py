"""The draw's chat commands: `tirage 3 parmi #comite territoire=1 …` and its seed steps."""

from __future__ import annotations

from typing import Any

from bot.commands import ArgSpec, CommandError, CommandSpec, Token, fold
from bot.i18n import Msg
from scenarios.sortition.pool import SortitionError, looks_like_quota, parse_quota_token

_FROM = frozenset({"parmi", "from", "among", "dans", "in"})
_ROLE = frozenset({"role", "pour", "for"})
_BALANCE = frozenset({"equilibre", "balance", "equilibrer", "balanced"})


def parse_start(tokens: list[Token]) -> dict[str, Any]:
    """`3 parmi #comite territoire=1 structure<=1 role "délégué" rotation=2 équilibre`."""
    if not tokens:
        raise CommandError(Msg("sortition.cmd.missing_k"))
    try:
        k = int(tokens[0].text)
    except ValueError:
        raise CommandError(Msg("sortition.cmd.bad_k", value=tokens[0].text)) from None
    args: dict[str, Any] = {"k": k, "quotas": []}
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        word = fold(tok.text)
        if not tok.quoted and word in _FROM:
            if i + 1 >= len(tokens):
                raise CommandError(Msg("sortition.cmd.missing_pool", word=tok.text))
            args["pool"] = tokens[i + 1].text
            i += 2
            continue
        if not tok.quoted and word in _ROLE:
            if i + 1 >= len(tokens):
                raise CommandError(Msg("sortition.cmd.missing_role", word=tok.text))
            args["role"] = tokens[i + 1].text
            i += 2
            continue
        if not tok.quoted and word in _BALANCE:
            args["balance"] = True
            i += 1
            continue
        if not tok.quoted and word.startswith("rotation="):
            value = word.removeprefix("rotation=")
            if not value.isdigit():
                raise CommandError(Msg("sortition.cmd.bad_rotation", value=tok.text))
            args["rotation"] = int(value)
            i += 1
            continue
        if looks_like_quota(tok.text):
            try:
                q = parse_quota_token(tok.text)
            except SortitionError as e:
                raise CommandError(e.msg) from None
            args["quotas"].append(
                {"attribute": q.attribute, "value": q.value, "min": q.min, "max": q.max}
            )
            i += 1
            continue
        raise CommandError(Msg("sortition.cmd.not_understood", text=tok.text))
    return args


def _one(name: str) -> Any:
    def parse(tokens: list[Token]) -> dict[str, Any]:
        if not tokens:
            raise CommandError(Msg(f"sortition.cmd.missing_{name}"))
        return {name: " ".join(t.text for t in tokens)}

    return parse


def _nothing(tokens: list[Token]) -> dict[str, Any]:
    if tokens:
        raise CommandError(Msg("sortition.cmd.not_understood", text=" ".join(t.text for t in tokens)))
    return {}


DRAW = CommandSpec(
    name="tirage",
    aliases=("draw",),
    route="start",
    summary_key="sortition.cmd.draw_summary",
    args=(
        ArgSpec("k", "int", "sortition.arg.k"),
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
    args=(ArgSpec("secret", "rest", "sortition.arg.secret"),),
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
