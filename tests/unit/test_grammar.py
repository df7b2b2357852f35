"""The command grammar: quotes, apostrophes, aliases, accents, errors that say what was expected."""

from __future__ import annotations

import pytest

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, Grammar, tokenize
from bot.kernel.i18n import render_plain
from tests.spaces import spaces

DECIDE = CommandSpec(name="decision", aliases=("decide",), route="start", summary_key="core.help.summary_help",
                     args=(ArgSpec("title", "text", "core.help.arg_command"),
                           ArgSpec("deadline", "rest", "core.help.arg_command", required=False)),
                     animateur_only=True)
DRAW = CommandSpec(name="tirage graine", aliases=("draw seed",), route="ritual", summary_key="core.help.summary_help",
                   args=(ArgSpec("secret", "text", "core.help.arg_command"),))
MEETING = CommandSpec(name="reunion", aliases=("meeting",), route="start", summary_key="core.help.summary_help",
                      args=(ArgSpec("count", "int", "core.help.arg_command"),))
G = Grammar([DECIDE, DRAW, MEETING])


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ('decision "Adopter la charte v2" jusqu\'à vendredi 18h', ["decision", "Adopter la charte v2", "jusqu'à", "vendredi", "18h"]),
        ("decide « Budget 2027 » until friday", ["decide", "Budget 2027", "until", "friday"]),
        ("decision “curly quotes” x", ["decision", "curly quotes", "x"]),
    ],
)
def test_tokenize_keeps_quotes_whole_and_apostrophes_inside_words(text: str, tokens: list[str]) -> None:
    assert [t.text for t in tokenize(text)] == tokens


def test_french_and_english_names_and_accents() -> None:
    for text in ('decision "A"', 'décision "A"', 'DECIDE "A"'):
        assert G.parse(text).spec is DECIDE
    parsed = G.parse('decision "Adopter" jusqu\'à vendredi 18h')
    assert parsed.args == {"title": "Adopter", "deadline": "jusqu'à vendredi 18h"}
    assert G.parse("tirage graine abc").spec is DRAW
    assert G.parse("réunion 3").args == {"count": 3}


def test_ritual_number() -> None:
    parsed = G.parse("tirage graine #12 abc")
    assert parsed.ritual_number == 12 and parsed.args == {"secret": "abc"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("decision", "Il manque"),
        ("reunion trois", "n'est pas un nombre"),
        ("reunion 3 4", "Je n'ai pas compris « 4 »"),
        ("decisoin", "Vouliez-vous dire decision"),
        ("", "Commande vide"),
        ('decision "A', "guillemet fermant"),
    ],
)
def test_errors_say_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(CommandError) as err:
        G.parse(text)
    assert expected in spaces(render_plain(err.value.msg))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError):
        Grammar([DECIDE, CommandSpec(name="decide", aliases=(), route="query", summary_key="x")])
