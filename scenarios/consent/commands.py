"""The `decision` family's commands, declared once: arguments, options (names in both languages), refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, OptionSpec, Refusals
from bot.kernel.i18n import Msg
from bot.kernel.inputs import DECISIONS_COUNT, PROPOSAL, RITUAL_NUMBER, TITLE, WHEN, check_length
from scenarios.consent.queries import answer_decisions

__all__ = ["AMEND", "COMMANDS", "DECISION", "DECISIONS", "GROUP", "OBJECTION", "ROUND_COMMANDS", "SALONS",
           "WITHDRAW", "decision_from_form"]

_EMPTY = "consent.cmd.empty_option"

QUORUM = OptionSpec("quorum", ("quorum",), ("quorum",), "share", "consent.opt.quorum", empty_key=_EMPTY,
                    bad_key="consent.cmd.bad_quorum")
ANONYMOUS = OptionSpec("anonymous", ("anonyme",), ("anonymous",), "bool", "consent.opt.anonymous", empty_key=_EMPTY)
NAMED = OptionSpec("anonymous", ("nominatif",), ("named",), "flag", "consent.opt.named", value=False)
GROUP = OptionSpec("group", ("groupe", "cercle"), ("group", "circle"), "text", "consent.opt.group", empty_key=_EMPTY)
SALONS = OptionSpec("channels", ("salons", "salon", "aussi"), ("channels", "channel", "also"), "names",
                    "consent.opt.channels", empty_key=_EMPTY)
QUESTIONS = OptionSpec("questions", ("questions",), ("questions",), "when", "consent.opt.questions", limit=WHEN,
                       empty_key=_EMPTY)


def decision_from_form(values: Mapping[str, str]) -> dict[str, Any]:
    """The proposal form (a Slack modal: title, text, deadline) → the params of `Started`."""
    title = check_length((values.get("title") or "").strip(), TITLE)
    if not title:
        raise CommandError(Msg("consent.cmd.missing_title"))
    args: dict[str, Any] = {"title": title}
    if (values.get("text") or "").strip():
        args["text"] = check_length(values["text"].strip(), PROPOSAL)
    if (values.get("deadline") or "").strip():
        args["deadline"] = check_length(values["deadline"].strip(), WHEN)
    return args


_DEADLINE = ArgSpec("deadline", "when", "consent.arg.deadline", required=False, limit=WHEN)

DECISION = CommandSpec(
    name="decision",
    aliases=("decide",),
    route="start",
    summary_key="consent.help.decision",
    args=(ArgSpec("title", "title", "consent.arg.title", limit=TITLE, missing_key="consent.cmd.missing_title"),
          _DEADLINE),
    options=(QUORUM, ANONYMOUS, NAMED, GROUP, SALONS, QUESTIONS),
    refusals=Refusals(unknown_option="consent.cmd.unknown_option"),
    animateur_only=True,
    example_key="consent.help.example_decision",
    form="proposal",
    from_form=decision_from_form,
)
# The election's final step is a consent round too: typed in its thread, these commands go
# to the election, which hands them to the same machinery.
OBJECTION = CommandSpec(
    name="objection",
    aliases=("object",),
    route="ritual",
    summary_key="consent.help.objection",
    args=(ArgSpec("reason", "rest", "consent.arg.reason", required=False),),
    example_key="consent.help.example_objection",
    also_for=("election",),
)
AMEND = CommandSpec(
    name="amender",
    aliases=("amend",),
    route="ritual",
    summary_key="consent.help.amend",
    args=(ArgSpec("title", "title", "consent.arg.new_text", required=False, limit=TITLE), _DEADLINE),
    options=(QUORUM,),
    refusals=Refusals(unknown_option="consent.cmd.amend_options", bare="consent.cmd.amend_empty"),
    example_key="consent.help.example_amend",
    also_for=("election",),
)
WITHDRAW = CommandSpec(
    name="retirer",
    aliases=("withdraw",),
    route="ritual",
    summary_key="consent.help.withdraw",
    example_key="consent.help.example_withdraw",
    also_for=("election",),
)
DECISIONS = CommandSpec(
    name="decisions",
    aliases=("decisions",),
    route="query",
    summary_key="consent.help.decisions",
    args=(ArgSpec("number", "ref", "core.input.ritual_number", required=False, bounds=RITUAL_NUMBER,
                  bad_key="consent.cmd.decisions_usage"),
          ArgSpec("count", "int", "core.input.decisions_count", required=False, bounds=DECISIONS_COUNT)),
    refusals=Refusals(too_many="consent.cmd.decisions_usage"),
    example_key="consent.help.example_decisions",
    answer=answer_decisions,
)

COMMANDS: tuple[CommandSpec, ...] = (DECISION, OBJECTION, AMEND, WITHDRAW, DECISIONS)
ROUND_COMMANDS: tuple[str, ...] = (OBJECTION.name, AMEND.name, WITHDRAW.name)
"""What a member types about a running round, wherever the round runs (a decision, an election)."""
