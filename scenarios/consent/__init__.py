"""Consent decision rounds: the `decision` ritual (`KIND`) and the machinery others reuse."""

from __future__ import annotations

from scenarios.consent.commands import COMMANDS
from scenarios.consent.config import ConsentConfig, load_config
from scenarios.consent.deadline import DeadlineError, parse_deadline
from scenarios.consent.kind import ConsentRound, ConsentScenario, check_start
from scenarios.consent.queries import answer_decisions
from scenarios.consent.round import CHOICE_IDS, EMOJIS, RoundMachine, RoundState, choices

KIND = ConsentRound()

__all__ = [
    "CHOICE_IDS",
    "COMMANDS",
    "EMOJIS",
    "KIND",
    "ConsentConfig",
    "ConsentRound",
    "ConsentScenario",
    "DeadlineError",
    "RoundMachine",
    "RoundState",
    "answer_decisions",
    "check_start",
    "choices",
    "load_config",
    "parse_deadline",
]
