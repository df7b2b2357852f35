"""The `!reseau` / `/reseau` grammar, as scenarios and the engine use it: declarations, parsing and help.

The parts live in `bot.kernel.grammar`: tokens, declarations (`specs`), the parser generated
from a declaration (`reading`), the whole grammar (`parser`) and the help (`help`).
"""

from __future__ import annotations

from bot.kernel.grammar.help import help_for, help_index
from bot.kernel.grammar.parser import Grammar
from bot.kernel.grammar.reading import read_duration, usage
from bot.kernel.grammar.specs import (
           ArgKind,
           ArgSpec,
           CommandSpec,
           OptionKind,
           OptionSpec,
           Parsed,
           Refusals,
           Route,
)
from bot.kernel.grammar.tokens import UNTIL, Token, fold, tokenize
from bot.kernel.inputs import CommandError

__all__ = ["UNTIL", "ArgKind", "ArgSpec", "CommandError", "CommandSpec", "Grammar", "OptionKind", "OptionSpec",
           "Parsed", "Refusals", "Route", "Token", "fold", "help_for", "help_index", "read_duration", "tokenize",
           "usage"]
