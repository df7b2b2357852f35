"""The mandates' commands, declared once: `qui` (who does what), `mandat quitter` (resign),
`mandat renouveler` (start a role's renewal now)."""

from __future__ import annotations

from bot.kernel.commands import ArgSpec, CommandSpec
from bot.kernel.inputs import NAME, TITLE
from scenarios.mandates.who import answer_who

__all__ = ["COMMANDS", "RENEW", "RESIGN", "WHO"]

WHO = CommandSpec(
    name="qui", aliases=("who",), route="query", summary_key="mandates.cmd.who_summary",
    args=(ArgSpec("what", "rest", "mandates.arg.what", required=False, limit=TITLE),),
    example_key="mandates.cmd.who_example", answer=answer_who, in_dm=True,
)
RESIGN = CommandSpec(
    name="mandat quitter", aliases=("mandate resign",), route="singleton", summary_key="mandates.cmd.resign_summary",
    args=(ArgSpec("role", "rest", "mandates.arg.role", required=False, limit=NAME),),
    example_key="mandates.cmd.resign_example", in_dm=True,
)
RENEW = CommandSpec(
    name="mandat renouveler", aliases=("mandate renew",), route="singleton", summary_key="mandates.cmd.renew_summary",
    args=(ArgSpec("role", "rest", "mandates.arg.role", limit=NAME),),
    animateur_only=True, example_key="mandates.cmd.renew_example", in_dm=True,
)
COMMANDS: tuple[CommandSpec, ...] = (WHO, RESIGN, RENEW)
