"""The café-réseau's commands: `cafe oui` and `cafe non`, typed anywhere, answered privately."""

from __future__ import annotations

from bot.kernel.commands import CommandSpec

__all__ = ["COMMANDS", "JOIN", "LEAVE"]

JOIN = CommandSpec(
    name="cafe oui",
    aliases=("coffee yes",),
    route="singleton",
    summary_key="cafe.cmd.summary_yes",
    example_key="cafe.cmd.example_yes",
    in_dm=True,
)
"""Take part in the next cafés (kept until `cafe non`)."""
LEAVE = CommandSpec(
    name="cafe non",
    aliases=("coffee no",),
    route="singleton",
    summary_key="cafe.cmd.summary_no",
    example_key="cafe.cmd.example_no",
    in_dm=True,
)
"""Stop taking part: not paired from the next month on."""

COMMANDS: tuple[CommandSpec, ...] = (JOIN, LEAVE)
