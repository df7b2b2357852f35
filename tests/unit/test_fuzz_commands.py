"""The command parser fuzzed: any text parses, or fails with a message that renders in fr and en."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.engine.core_commands import CORE_COMMANDS
from bot.kernel.commands import CommandError, CommandSpec, Grammar
from bot.kernel.i18n import render_plain
from scenarios import registry

# The grammar the engine builds: its own commands, then every kind's.
SPECS: list[CommandSpec] = [*CORE_COMMANDS, *(spec for _, spec in registry().commands())]
GRAMMAR = Grammar(SPECS)
NAMES = sorted({name for spec in SPECS for name in (spec.name, *spec.aliases)})

SCALE = float(os.environ.get("MAILLAGE_FUZZ_SCALE", "1"))
"""Multiplies every example count: MAILLAGE_FUZZ_SCALE=20 for a deep run before a release."""


def examples(n: int) -> settings:
    # No deadline: the first deadline parsed loads dateparser's language data.
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# Words members type after a command: numbers and ritual numbers, quotas, deadlines in French
# and ISO, mentions, quotes of every kind (some unclosed), and oddities.
WORDS = [
    "#12", "#", "#0", "#-1", "#99999999999999999999", "12", "0", "-3", "99999999999999999999999", "3.5",
    "1e400", "NaN", "parmi", "#comite", "territoire=1", "structure<=1", "college>=2", "k=", "=", "<=", ">=2",
    "quorum=50%", "quorum=", "quorum=150%", "quorum=abc", "anonyme", "anonymous", "role", "délégué",
    "jusqu'à", "vendredi", "18h", "demain", "2026-05-04T18:00", "2026-13-45", "P7D", "dans", "3", "jours",
    "@Amina", "@", "@room", "parce", "qu'elle", "https://pad.example.org/x", "langue", "fr", "en", "de",
    "confirmer", "confirm", "langue", "«", "»", "“", "”", "„", '"', "'", "«»", '""', "“ ”", "\u00a0",
    "\u200b", "🙂", "✅", "é", "É", "\x00", "\t", "\n", "\\", "``", "*gras*", "<b>", "&amp;",
]
word = st.sampled_from(WORDS) | st.text(max_size=12) | st.integers().map(str)
spacing = st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", " \u3000 "])


@st.composite
def command_lines(draw: st.DrawFn) -> str:
    """A declared command name (any case, with or without accents), then arbitrary words."""
    name = draw(st.sampled_from(NAMES))
    name = draw(st.sampled_from([name, name.upper(), name.title(), name.replace("e", "é")]))
    words = draw(st.lists(word, max_size=8))
    parts = [name, *words]
    return "".join(p + draw(spacing) for p in parts).strip(draw(st.sampled_from(["", " "])))


def check(text: str) -> None:
    try:
        GRAMMAR.parse(text)
    except CommandError as err:
        for locale in ("fr", "en"):
            assert render_plain(err.msg, locale).strip()


@examples(400)
@given(command_lines())
@example("tirage 3 parmi #comite territoire=1 structure<=1 role \"délégué\"")
@example('decision "Adopter la charte v2" jusqu\'à vendredi 18h quorum=50% anonyme')
@example("tirage 99999999999999999999")
@example("decision « non fermé")
def test_declared_commands_with_any_words_parse_or_explain(text: str) -> None:
    check(text)


@examples(300)
@given(st.text(max_size=120))
@example("")
@example("   ")
@example("#12")
def test_any_text_parses_or_explains(text: str) -> None:
    check(text)


@examples(200)
@given(st.lists(word, max_size=10).map(" ".join))
def test_any_words_parse_or_explain(text: str) -> None:
    check(text)
