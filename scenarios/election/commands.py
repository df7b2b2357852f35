"""The election's commands, declared once: the role, its deadline, options in both languages, the steps."""

from __future__ import annotations

from datetime import timedelta

from bot.kernel.commands import ArgSpec, CommandSpec, OptionSpec, Refusals, read_duration
from bot.kernel.inputs import TITLE, WHEN
from scenarios.consent.commands import GROUP, SALONS

__all__ = ["COMMANDS", "DECLINE", "ELECTION", "NEXT", "NOMINATE", "PROPOSE", "RENOMINATE", "typed_duration"]


def typed_duration(text: str) -> timedelta:
    """The change round's length as typed ("1j", "12h", "1h30", "0j": none), in the one grammar
    of durations, the digits 0 to 9 and at most `DURATION_MAX`; CommandError with the answer
    otherwise, never anything else."""
    value: timedelta = read_duration(text, "election.cmd.bad_change")
    return value


CHANGE = OptionSpec("change", ("changement", "changements"), ("change",), "duration", "election.opt.change",
                    bad_key="election.cmd.bad_change")

ELECTION = CommandSpec(
    name="election",
    aliases=("elect",),
    route="start",
    summary_key="election.help.election",
    args=(
        ArgSpec("role", "title", "election.arg.role", limit=TITLE, missing_key="election.cmd.missing_role"),
        ArgSpec("deadline", "when", "consent.arg.deadline", required=False, limit=WHEN),
    ),
    options=(GROUP, SALONS, CHANGE),
    refusals=Refusals(unknown_option="election.cmd.unknown_option"),
    animateur_only=True,
    example_key="election.help.example_election",
)


def _who(label_key: str) -> tuple[ArgSpec, ...]:
    return (ArgSpec("who", "rest", label_key, missing_key="election.cmd.missing_who"),)


NOMINATE = CommandSpec(
    name="election nommer",
    aliases=("elect nominate",),
    route="ritual",
    summary_key="election.help.nominate",
    args=_who("election.arg.who_reason"),
    example_key="election.help.example_nominate",
    in_dm=True,
)
RENOMINATE = CommandSpec(
    name="election changer",
    aliases=("elect change",),
    route="ritual",
    summary_key="election.help.change",
    args=_who("election.arg.who_reason"),
    example_key="election.help.example_change",
    in_dm=True,
)
NEXT = CommandSpec(
    name="election suivant",
    aliases=("elect next",),
    route="ritual",
    summary_key="election.help.next",
    animateur_only=True,
    example_key="election.help.example_next",
)
PROPOSE = CommandSpec(
    name="election proposer",
    aliases=("elect propose",),
    route="ritual",
    summary_key="election.help.propose",
    args=_who("election.arg.who_deadline"),
    animateur_only=True,
    example_key="election.help.example_propose",
)
DECLINE = CommandSpec(
    name="election decliner",
    aliases=("elect decline",),
    route="ritual",
    summary_key="election.help.decline",
    example_key="election.help.example_decline",
    in_dm=True,
)

COMMANDS: tuple[CommandSpec, ...] = (ELECTION, NOMINATE, RENOMINATE, NEXT, PROPOSE, DECLINE)
