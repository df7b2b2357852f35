"""The draw's chat commands, declared once: `tirage 3 parmi #comite territoire=1 …` and its seed steps."""

from __future__ import annotations

from typing import Any

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, OptionSpec, Refusals
from bot.kernel.inputs import NAME, PANEL, ROTATION, SECRET, TITLE, check_length
from scenarios.sortition.pool import SortitionError, looks_like_quota, parse_quota_token

__all__ = ["CANCEL", "CLOSE", "COMMANDS", "COMMIT", "DRAW", "PROBABILITY", "REVEAL"]


def read_quota(text: str) -> dict[str, Any]:
    """`territoire=1`, `structure<=1`, `college=1-2`, `territoire:Nord=2` → one quota."""
    try:
        q = parse_quota_token(text)
    except SortitionError as e:
        raise CommandError(e.msg) from None
    check_length(q.attribute, NAME)
    check_length(q.value or "", NAME)
    return {"attribute": q.attribute, "value": q.value, "min": q.min, "max": q.max}


_NOT_UNDERSTOOD = Refusals(too_many="sortition.cmd.not_understood")

DRAW = CommandSpec(
    name="tirage",
    aliases=("draw",),
    route="start",
    summary_key="sortition.cmd.draw_summary",
    args=(
        ArgSpec("k", "int", "sortition.arg.k", bounds=PANEL, missing_key="sortition.cmd.missing_k",
                bad_key="sortition.cmd.bad_k"),
        ArgSpec("quotas", "items", "sortition.arg.quotas", required=False, limit=NAME, read=read_quota,
                accepts=looks_like_quota),
    ),
    options=(
        OptionSpec("pool", ("parmi", "dans"), ("from", "among", "in"), "text", "sortition.opt.pool", form="word",
                   empty_key="sortition.cmd.missing_pool"),
        OptionSpec("role", ("role", "pour"), ("for",), "text", "sortition.opt.role", form="word", limit=TITLE,
                   empty_key="sortition.cmd.missing_role"),
        OptionSpec("rotation", ("rotation",), ("rotation",), "int", "sortition.opt.rotation", bounds=ROTATION,
                   bad_key="sortition.cmd.bad_rotation"),
        OptionSpec("balance", ("équilibre", "équilibrer"), ("balance", "balanced"), "flag", "sortition.opt.balance"),
    ),
    refusals=_NOT_UNDERSTOOD,
    animateur_only=True,
    example_key="sortition.cmd.draw_example",
)

COMMIT = CommandSpec(
    name="tirage graine",
    aliases=("draw commit",),
    route="ritual",
    summary_key="sortition.cmd.commit_summary",
    args=(ArgSpec("commitment", "rest", "sortition.arg.commitment", missing_key="sortition.cmd.missing_commitment"),),
    example_key="sortition.cmd.commit_example",
)

REVEAL = CommandSpec(
    name="tirage révéler",
    aliases=("draw reveal",),
    route="ritual",
    summary_key="sortition.cmd.reveal_summary",
    args=(ArgSpec("secret", "rest", "sortition.arg.secret", limit=SECRET, missing_key="sortition.cmd.missing_secret"),),
    example_key="sortition.cmd.reveal_example",
)

PROBABILITY = CommandSpec(
    name="tirage probabilité",
    aliases=("draw probability",),
    route="ritual",
    summary_key="sortition.cmd.probability_summary",
    example_key="sortition.cmd.probability_example",
    refusals=_NOT_UNDERSTOOD,
)

CLOSE = CommandSpec(
    name="tirage clore",
    aliases=("draw close",),
    route="ritual",
    summary_key="sortition.cmd.close_summary",
    animateur_only=True,
    example_key="sortition.cmd.close_example",
    refusals=_NOT_UNDERSTOOD,
)

CANCEL = CommandSpec(
    name="tirage annuler",
    aliases=("draw cancel",),
    route="ritual",
    summary_key="sortition.cmd.cancel_summary",
    animateur_only=True,
    example_key="sortition.cmd.cancel_example",
    refusals=_NOT_UNDERSTOOD,
)

COMMANDS = (DRAW, COMMIT, REVEAL, PROBABILITY, CLOSE, CANCEL)
