"""The pulse's command: `meteo 4` (`pulse 4`), a score per question and an optional comment."""

from __future__ import annotations

from bot.kernel.commands import ArgSpec, CommandSpec, Refusals
from bot.kernel.inputs import TEXT

__all__ = ["ANSWER", "COMMANDS", "is_score"]

SCORES = ("1", "2", "3", "4", "5")


def is_score(word: str) -> bool:
    return word in SCORES


ANSWER = CommandSpec(
    name="meteo",
    aliases=("pulse",),
    route="singleton",
    summary_key="pulse.cmd.summary",
    args=(
        ArgSpec("scores", "items", "pulse.arg.scores", required=False, read=int, accepts=is_score),
        ArgSpec("comment", "quoted", "pulse.arg.comment", required=False, limit=TEXT),
    ),
    refusals=Refusals(too_many="pulse.cmd.not_understood"),
    example_key="pulse.cmd.example",
    in_dm=True,
)
"""Answer this month's pulse (changed until it closes), privately."""

COMMANDS: tuple[CommandSpec, ...] = (ANSWER,)
