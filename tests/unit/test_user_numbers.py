"""Numbers and sizes typed by members: one parser, stated limits, an answer for everything else."""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.engine.core_commands import CORE_COMMANDS
from bot.kernel.commands import CommandError, CommandSpec, Grammar
from bot.kernel.i18n import Msg, render_plain
from bot.kernel.inputs import (
    COMMAND,
    DECISIONS_COUNT,
    PANEL,
    QUOTA,
    RITUAL_NUMBER,
    SECRET,
    TEXT,
    TITLE,
    WHEN,
    Bounds,
    check_lengths,
    looks_numeric,
    parse_int,
    parse_share,
    plain_digits,
    too_long,
)
from scenarios import registry
from scenarios.consent.deadline import DeadlineError
from scenarios.consent.kind import typed_deadline
from scenarios.election.election import typed_duration
from scenarios.sortition.pool import SortitionError, parse_quota_token

SPECS: list[CommandSpec] = [*CORE_COMMANDS, *(spec for _, spec in registry().commands())]
GRAMMAR = Grammar(SPECS)
RITUAL_SPECS = [s for s in SPECS if s.route == "ritual"]
SCALE = float(os.environ.get("MAILLAGE_FUZZ_SCALE", "1"))
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def examples(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def renders(msg: Msg) -> None:
    """An answer exists in French and English, says something, and shows no traceback."""
    for locale in ("fr", "en"):
        text = render_plain(msg, locale)
        assert text.strip() and "Traceback" not in text
        assert len(text) < 1000, "a value quoted back whole"


def refusal(fn: object, *args: object) -> Msg:
    with pytest.raises(CommandError) as err:
        fn(*args)  # type: ignore[operator]
    renders(err.value.msg)
    return err.value.msg


# Every character Unicode calls numeric that is not an ASCII digit: superscripts, Arabic-Indic,
# full-width, mathematical bold, Devanagari, fractions, Roman numerals, CJK numerals, circled…
FOREIGN_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(lambda c: c not in "0123456789")
NUMERIC_CHAR = st.characters(categories=["Nd", "No", "Nl"])
BOUNDS = st.builds(lambda lo, span, label: Bounds(lo, lo + span, label),
                   st.integers(-1000, 1000), st.integers(0, 10**12),
                   st.sampled_from(["core.input.number", "core.input.panel", "core.input.ritual_number"]))


# --- parse_int: the one parser of members' numbers ---------------------------------------


@examples(400)
@given(st.text(max_size=60), BOUNDS)
@example("²", RITUAL_NUMBER)
@example("#", RITUAL_NUMBER)
@example("1" * 5000, RITUAL_NUMBER)
@example("0" * 5000 + "1", RITUAL_NUMBER)
@example("99999999999999999999999", RITUAL_NUMBER)
@example("1e9", PANEL)
@example("-0", PANEL)
@example(" 3 ", PANEL)
@example("3_000", PANEL)
def test_any_text_is_a_number_in_bounds_or_an_answer(text: str, bounds: Bounds) -> None:
    try:
        value = parse_int(text, bounds)
    except CommandError as err:
        renders(err.msg)
        assert err.msg.key in ("core.input.not_integer", "core.input.out_of_range")
        return
    assert bounds.lo <= value <= bounds.hi
    assert text.strip().lstrip("+-\u2212").isascii()


@examples(300)
@given(st.integers(-(10**15), 10**15), BOUNDS, st.sampled_from(["", "0", "000"]), st.sampled_from(["", "+"]))
def test_ascii_integers_read_exactly_and_bounded(n: int, bounds: Bounds, zeros: str, plus: str) -> None:
    text = ("-" if n < 0 else plus) + zeros + str(abs(n))
    if bounds.lo <= n <= bounds.hi:
        assert parse_int(text, bounds) == n
    else:
        assert refusal(parse_int, text, bounds).key == "core.input.out_of_range"


@examples(300)
@given(st.text(alphabet="0123456789", max_size=8), FOREIGN_DIGITS, st.text(alphabet="0123456789", max_size=8))
def test_digits_other_than_ascii_are_refused_clearly(before: str, odd: str, after: str) -> None:
    text = before + odd + after
    assert looks_numeric(text)
    msg = refusal(parse_int, text, RITUAL_NUMBER)
    assert msg.key == "core.input.not_integer"
    assert "0" in render_plain(msg, "fr") and "9" in render_plain(msg, "fr")


@examples(50)
@given(st.integers(4301, 20000))
def test_numbers_past_pythons_digit_limit_are_out_of_range_not_an_error(digits: int) -> None:
    # int() refuses more than 4,300 digits with a ValueError; the answer must not depend on it.
    assert refusal(parse_int, "7" * digits, QUOTA).key == "core.input.out_of_range"


def test_the_answer_says_what_the_number_is_for_and_the_range() -> None:
    fr = render_plain(refusal(parse_int, "99999999999999999999999", RITUAL_NUMBER), "fr")
    en = render_plain(refusal(parse_int, "99999999999999999999999", RITUAL_NUMBER), "en")
    assert "Numéro" in fr and "1 000 000" in fr.replace("\u202f", " ").replace("\u00a0", " ")
    assert "Number" in en and "1,000,000" in en
    long = render_plain(refusal(parse_int, "1" * 5000, RITUAL_NUMBER), "fr")
    assert "…" in long and len(long) < 200, "a long number is quoted cut"


@examples(200)
@given(st.text(max_size=6).map(lambda s: s.strip()))
def test_looks_numeric_is_only_signs_and_numeric_characters(text: str) -> None:
    body = text[1:] if text[:1] in "+-\u2212" else text
    assert looks_numeric(text) == (bool(body) and all(unicodedata.numeric(c, None) is not None for c in body))


# --- parse_share: quorum and other shares ---------------------------------------------------


@pytest.mark.parametrize(("text", "share"), [
    ("50%", 0.5), ("50 %", 0.5), ("50\u00a0%", 0.5), ("0.5", 0.5), ("0,5", 0.5), ("1/2", 0.5), ("2/3", 2 / 3),
    ("50", 0.5), ("100%", 1.0), ("1", 1.0), ("12,5%", 0.125), ("0.5%", 0.005),
])
def test_shares_members_write(text: str, share: float) -> None:
    assert parse_share(text, "core.input.quorum") == pytest.approx(share)


@examples(400)
@given(st.text(max_size=12) | st.builds(lambda a, b: f"{a}{b}", NUMERIC_CHAR, st.sampled_from(["%", "/2", ""])))
@example("150%")
@example("0")
@example("1/0")
@example("1e400")
@example("nan")
@example("inf")
@example("٥٠%")
@example("9" * 5000)
@example("-50%")
def test_any_text_is_a_share_in_range_or_an_answer(text: str) -> None:
    try:
        share = parse_share(text, "core.input.quorum")
    except CommandError as err:
        assert err.msg.key == "core.input.bad_share"
        renders(err.msg)
        return
    assert 0 < share <= 1


# --- lengths: stated limits, and the commands that keep them ------------------------------


def test_limits_are_the_ones_the_guide_states() -> None:
    assert (COMMAND.chars, TITLE.chars, TEXT.chars, SECRET.chars, WHEN.chars) == (4000, 200, 1000, 200, 200)


@pytest.mark.parametrize("limit", [COMMAND, TITLE, TEXT, SECRET, WHEN])
def test_too_long_says_the_limit(limit: object) -> None:
    from bot.kernel.inputs import Limit
    assert isinstance(limit, Limit)
    assert too_long("x" * limit.chars, limit) is None
    msg = too_long("x" * (limit.chars + 1), limit)
    assert msg is not None
    renders(msg)
    fr, en = render_plain(msg, "fr"), render_plain(msg, "en")
    shown = f"{limit.chars:,}"
    assert shown.replace(",", "\u202f") in fr or shown.replace(",", "\u00a0") in fr or str(limit.chars) in fr
    assert shown in en or str(limit.chars) in en


# A command of each kind with a slot for text, and the limit that slot states.
SLOTS = [
    ('decision « {} »', TITLE), ('decide "{}"', TITLE), ("decision {}", TITLE),
    ('amender « {} »', TITLE), ("objection {}", TEXT), ("election « {} »", TITLE),
    ("election nommer {}", TEXT), ("reunion « {} » demain à 18h", TITLE),
    ("ordre-du-jour {}", TEXT), ("reunion annuler {}", TEXT), ("tirage révéler {}", SECRET),
    ('tirage 3 parmi #general role "{}"', TITLE), ("decision « T » jusqu'à {}", WHEN),
]


@pytest.mark.parametrize(("template", "limit"), SLOTS)
@examples(30)
@given(extra=st.integers(0, 50), word=st.sampled_from(["x", "é", "²", "ab"]))
def test_every_text_slot_keeps_its_stated_limit(template: str, limit: object, extra: int, word: str) -> None:
    from bot.kernel.inputs import Limit
    assert isinstance(limit, Limit)
    # Words of letters joined by spaces, so that unquoted slots stay one piece of text.
    fill = (word + " ") * ((limit.chars + 1 + extra) // (len(word) + 1) + 1)
    fill = fill[: limit.chars + 1 + extra].strip() or "x"
    if len(fill) <= limit.chars:
        return
    msg = refusal(GRAMMAR.parse, template.format(fill))
    assert msg.key in ("core.input.too_long", "consent.deadline.unparseable"), msg.key


@pytest.mark.parametrize(("template", "limit"), SLOTS)
def test_text_at_its_limit_is_taken(template: str, limit: object) -> None:
    from bot.kernel.inputs import Limit
    assert isinstance(limit, Limit)
    if limit is WHEN:
        return  # a deadline at its limit is still read by the date parser, which may refuse it
    parsed = GRAMMAR.parse(template.format("x" * limit.chars))
    assert any("x" * limit.chars in str(v) for v in parsed.args.values())


@examples(200)
@given(st.sampled_from(sorted({n for s in SPECS for n in (s.name, *s.aliases)})),
       st.integers(COMMAND.chars + 1, COMMAND.chars + 3000))
def test_a_whole_command_past_its_limit_is_answered_first(name: str, size: int) -> None:
    msg = refusal(GRAMMAR.parse, name + " " + "a" * size)
    assert msg.key == "core.input.too_long"


@examples(300)
@given(st.sampled_from(sorted({n for s in SPECS for n in (s.name, *s.aliases)})),
       st.lists(st.text(min_size=0, max_size=300) | st.sampled_from(["x" * 1001, "« " + "y" * 1500 + " »"]),
                max_size=5))
def test_no_parsed_argument_exceeds_its_stated_limit(name: str, words: list[str]) -> None:
    try:
        parsed = GRAMMAR.parse(" ".join([name, *words]))
    except CommandError as err:
        renders(err.msg)
        return
    limits = {a.name: a.limit for a in parsed.spec.args}
    for key, value in parsed.args.items():
        check_lengths(value, limits.get(key, TEXT))


# --- the grammar: numbers of every command route through parse_int -----------------------


@pytest.mark.parametrize("spec", RITUAL_SPECS, ids=lambda s: s.name)
@examples(40)
@given(number=st.text(alphabet=st.sampled_from("0123456789²٣６𝟗½-+"), min_size=1, max_size=30) | st.sampled_from(
    ["1" * 5000, "99999999999999999999999", "0", "-1"]))
def test_ritual_numbers_of_every_command(spec: CommandSpec, number: str) -> None:
    try:
        parsed = GRAMMAR.parse(f"{spec.name} #{number}")
    except CommandError as err:
        renders(err.msg)
        return
    if parsed.ritual_number is not None:
        assert RITUAL_NUMBER.lo <= parsed.ritual_number <= RITUAL_NUMBER.hi


@pytest.mark.parametrize(("text", "key"), [
    ("decisions #²", "core.input.not_integer"),
    ("decisions #" + "1" * 3000, "core.input.out_of_range"),
    ("decisions #" + "1" * 5000, "core.input.too_long"),
    ("decisions ٣", "core.input.not_integer"),
    ("decisions 51", "core.input.out_of_range"),
    ("decisions 0", "core.input.out_of_range"),
    ("retirer #99999999999999999999999", "core.input.out_of_range"),
    ("retirer #٣", "core.input.not_integer"),
    ("objection #𝟗 trop cher", "core.input.not_integer"),
    ("tirage 1e9 parmi #general", "sortition.cmd.bad_k"),
    ("tirage 99999999999 parmi #general", "core.input.out_of_range"),
    ("tirage ６ parmi #general", "core.input.not_integer"),
    ("tirage 0 parmi #general", "core.input.out_of_range"),
    ("tirage 3 parmi #general rotation=²", "core.input.not_integer"),
    ("tirage 3 parmi #general rotation=99999999999999999999", "core.input.out_of_range"),
    ("tirage 3 parmi #general territoire=٣", "core.input.not_integer"),
    ("tirage 3 parmi #general territoire=1-99999999999999", "core.input.out_of_range"),
    ('decision "T" quorum=٥٠%', "consent.cmd.bad_quorum"),
    ('decision "T" quorum=1e400', "consent.cmd.bad_quorum"),
    ('decision "T" quorum=' + "9" * 3000, "consent.cmd.bad_quorum"),
    ('election "délégué" changement=1e400j', "election.cmd.bad_change"),
    ('election "délégué" changement=99999999999999999999j', "core.input.too_far"),
    ('election "délégué" changement=²j', "core.input.foreign_digit"),
    ("reunion « Comité » le ١٢ décembre à 18h", "core.input.foreign_digit"),
])
def test_numbers_from_the_issue_get_a_clear_answer(text: str, key: str) -> None:
    assert refusal(GRAMMAR.parse, text).key == key


@pytest.mark.parametrize(("text", "expected"), [
    ("decisions #12", {"number": 12}), ("decisions 20", {"count": 20}), ("decisions", {}),
    ("tirage 3 parmi #general rotation=2", {"k": 3, "rotation": 2}),
])
def test_well_typed_numbers_still_read(text: str, expected: dict[str, int]) -> None:
    args = GRAMMAR.parse(text).args
    assert {k: args[k] for k in expected} == expected
    assert GRAMMAR.parse("retirer #12").ritual_number == 12
    assert DECISIONS_COUNT.hi == 50


@examples(200)
@given(st.text(alphabet=st.sampled_from("0123456789²٣６𝟗-"), min_size=1, max_size=25), st.sampled_from(
    ["territoire={}", "structure<={}", "genre>={}", "college=1-{}", "college={}-2", "territoire:Nord={}"]))
def test_quota_numbers_are_ascii_and_bounded(number: str, template: str) -> None:
    token = template.format(number)
    try:
        q = parse_quota_token(token)
    except SortitionError as err:
        renders(err.msg)
        return
    for n in (q.min, q.max):
        assert n is None or QUOTA.lo <= n <= QUOTA.hi


# --- numbers inside deadlines and durations ----------------------------------------------


@examples(150)
@given(st.sampled_from(["dans {} jours", "dans {} semaines", "{}h", "le {} décembre", "dans {} minutes",
                        "{}-12-31", "dans {}j"]),
       st.text(alphabet=st.sampled_from("0123456789²٣６𝟗"), min_size=1, max_size=30) | st.sampled_from(
           ["9" * 400, "99999999999", "9999"]))
def test_typed_deadlines_answer_or_fall_within_a_year(template: str, number: str) -> None:
    text = template.format(number)
    try:
        found = typed_deadline(text, NOW, PARIS, time(18, 0))
    except DeadlineError as err:
        renders(err.msg)
        return
    assert NOW < found <= NOW.replace(year=2027, month=3, day=3)


def test_deadline_digits_must_be_ascii() -> None:
    with pytest.raises(DeadlineError) as err:
        typed_deadline("dans ³ jours", NOW, PARIS, time(18, 0))
    assert err.value.msg.key == "core.input.foreign_digit"
    with pytest.raises(DeadlineError) as err:
        typed_deadline("dans 99999999999 jours", NOW, PARIS, time(18, 0))
    assert err.value.msg.key == "core.input.too_far"
    assert typed_deadline("dans 3 jours", NOW, PARIS, time(18, 0)) > NOW


@examples(150)
@given(st.text(alphabet=st.sampled_from("0123456789.,²٣e"), min_size=1, max_size=30), st.sampled_from(["j", "h", "semaines", "min"]))
def test_typed_durations_answer_or_stay_within_a_year(number: str, unit: str) -> None:
    try:
        found = typed_duration(number + unit)
    except CommandError as err:
        renders(err.msg)
        return
    assert found.total_seconds() <= 366 * 86400


def test_plain_digits_names_the_odd_character() -> None:
    assert plain_digits("vendredi 18h", "core.input.when") == "vendredi 18h"
    msg = refusal(plain_digits, "à ١٨h", "core.input.when")
    assert "١" in render_plain(msg, "fr")
