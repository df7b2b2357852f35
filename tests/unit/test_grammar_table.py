"""The one command grammar as a table: each scenario's commands, typed inputs → typed values or the expected refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.core_commands import CORE_COMMANDS
from bot.engine.people_commands import (
    MEMBER_ADD,
    MEMBER_MERGE,
    MEMBER_SET,
    PROFILE,
    ROLE_GIVE,
    ROLE_REMOVE,
)
from bot.engine.profiles import FieldWord, Who
from bot.engine.register_commands import REGISTER, REGISTER_REVOKE
from bot.kernel.commands import CommandError, CommandSpec, Grammar, help_for, help_index
from bot.kernel.i18n import render_plain
from scenarios import registry
from scenarios.consent.commands import AMEND, DECISION, DECISIONS, OBJECTION
from scenarios.election.commands import ELECTION, NOMINATE
from scenarios.mandates.commands import RENEW, RESIGN, WHO
from scenarios.meeting.commands import MUTE, NEW, PERSONAL_OFF, PERSONAL_ON, ROLE_SWAP
from scenarios.sortition.commands import DRAW

SPECS: list[CommandSpec] = [*CORE_COMMANDS, *(spec for _, spec in registry().commands())]
GRAMMAR = Grammar(SPECS)


@pytest.mark.parametrize(("typed", "spec", "args"), [
    # consent: options anywhere, in French or English, typed values
    ('decide "T" quorum=2/3 named group=board channels=a,b', DECISION,
     {"title": "T", "quorum": pytest.approx(2 / 3), "anonymous": False, "group": "board", "channels": ["a", "b"]}),
    ('decision anonyme=non "T" cercle=bureau salon=x aussi=#y', DECISION,
     {"title": "T", "anonymous": False, "group": "bureau", "channels": ["x", "y"]}),
    ('decision "T" anonymous=yes', DECISION, {"title": "T", "anonymous": True}),
    ('amender "T2" jusqu\'à mardi quorum=60%', AMEND, {"title": "T2", "deadline": "mardi", "quorum": 0.6}),
    ("objection a=b c", OBJECTION, {"reason": "a=b c"}),
    ("decisions", DECISIONS, {}),
    # election: the change round is a duration
    ('election "délégué" changement=1h30 groupe=ca', ELECTION,
     {"role": "délégué", "change": timedelta(hours=1, minutes=30), "group": "ca"}),
    ('elect "delegate" until friday change=2d channels=a', ELECTION,
     {"role": "delegate", "deadline": "friday", "change": timedelta(days=2), "channels": ["a"]}),
    ("election nommer @Amina parce que", NOMINATE, {"who": "@Amina parce que"}),
    # draw: options introduced by a word, flags, quotas
    ("tirage 2 équilibre pour « trésorier » dans bureau", DRAW,
     {"k": 2, "balance": True, "role": "trésorier", "pool": "bureau", "quotas": []}),
    ("draw 1 for x among y rotation=0", DRAW, {"k": 1, "role": "x", "pool": "y", "rotation": 0, "quotas": []}),
    # meeting
    ("meeting mute Board", MUTE, {"series": "Board"}),
    ("reunion « A » demain 18h", NEW, {"title": "A", "text": "demain 18h"}),
    ("reunion rappels perso", PERSONAL_ON, {}),
    ("réunion rappels perso Comité", PERSONAL_ON, {"series": "Comité"}),
    ("reunion rappels perso non", PERSONAL_OFF, {}),
    ("meeting reminders off", PERSONAL_OFF, {}),
    ("meeting reminders on Board", PERSONAL_ON, {"series": "Board"}),
    ("reunion rôle échanger @Amina", ROLE_SWAP, {"who": "@Amina"}),
    ("meeting role swap @amina:example.org", ROLE_SWAP, {"who": "@amina:example.org"}),
    # the directory: a profile's field is typed (a field of the person's own, else an attribute's
    # name), the people named are accounts (Slack mention, Matrix id, platform:id) or words
    ("profil", PROFILE, {}),
    ("profil territoire Creuse", PROFILE, {"field": FieldWord("territoire", None), "value": "Creuse"}),
    ("profile Organization « La Ruche »", PROFILE,
     {"field": FieldWord("Organization", "organisation"), "value": "La Ruche"}),
    ("profil langue en", PROFILE, {"field": FieldWord("langue", "locale"), "value": "en"}),
    ('membre ajouter « Emma Durand » organisation="Le Four" compte=matrix:@emma:example.org', MEMBER_ADD,
     {"name": "Emma Durand", "organisation": "Le Four", "account": "matrix:@emma:example.org"}),
    ("member add Zoé Martin structure=Aliso", MEMBER_ADD, {"name": "Zoé Martin", "organisation": "Aliso"}),
    ("membre corriger @bruno territoire Sud", MEMBER_SET,
     {"who": Who("@bruno", None), "field": FieldWord("territoire", None), "value": "Sud"}),
    ("member merge bruno <@U0B12|bruno>", MEMBER_MERGE,
     {"who": Who("bruno", None), "other": Who("<@U0B12|bruno>", ("slack", "U0B12"))}),
    ("membre fusionner « Bruno Petit » @bruno:example.org", MEMBER_MERGE,
     {"who": Who("Bruno Petit", None), "other": Who("@bruno:example.org", ("matrix", "@bruno:example.org"))}),
    ("role donner console:chloe animatrice", ROLE_GIVE, {"who": Who("console:chloe", ("console", "chloe")),
                                                        "role": "animatrice"}),
    ("rôle retirer @bob délégué au comité", ROLE_REMOVE, {"who": Who("@bob", None), "role": "délégué au comité"}),
    # mandates: who does what (a role, a person or an organisation), resigning, renewing
    ("qui", WHO, {}),
    ("who délégué·e au comité régional", WHO, {"what": "délégué·e au comité régional"}),
    ("qui @bruno", WHO, {"what": "@bruno"}),
    ("mandat quitter", RESIGN, {}),
    ("mandate resign délégué·e", RESIGN, {"role": "délégué·e"}),
    ("mandat renouveler « délégué·e au comité »", RENEW, {"role": "délégué·e au comité"}),
    # the register: a personal link, and cancelling every link
    ("registre", REGISTER, {}),
    ("register revoke", REGISTER_REVOKE, {}),
])
def test_typed_inputs_give_typed_values(typed: str, spec: CommandSpec, args: dict[str, Any]) -> None:
    parsed = GRAMMAR.parse(typed)
    assert parsed.spec is spec
    assert parsed.args == args


@pytest.mark.parametrize(("typed", "key"), [
    ('decision "T" anonyme=peut-être', "core.cmd.bad_yes_no"),
    ('decision "T" questions=', "consent.cmd.empty_option"),
    ('decision "T" questions="dans ³ jours"', "core.input.foreign_digit"),
    ('amender "T" groupe=x', "consent.cmd.amend_options"),
    ("amender #2", "consent.cmd.amend_empty"),
    ('election "r" couleur=bleu', "election.cmd.unknown_option"),
    ('election "r" changement=', "core.cmd.empty_option"),
    ("election jusqu'à vendredi", "election.cmd.missing_role"),
    ("election nommer", "election.cmd.missing_who"),
    ("decisions #abc", "consent.cmd.decisions_usage"),
    ("decisions 3 4", "consent.cmd.decisions_usage"),
    ("tirage 3 pour", "sortition.cmd.missing_role"),
    ("tirage 3 rotation=101", "core.input.out_of_range"),
    ("tirage clore maintenant", "sortition.cmd.not_understood"),
    ('reunion "" demain', "meeting.cmd.title_missing"),
    ("reunion cr", "core.cmd.missing_arg"),
    ("reunion role echanger", "meeting.cmd.swap_missing"),
    ("resume maintenant", "core.cmd.too_many"),
    ("membre ajouter", "core.cmd.missing_arg"),
    ('membre ajouter « E » couleur=bleu', "core.cmd.unknown_option"),
    ("membre corriger @bruno territoire", "core.cmd.missing_arg"),
    ("membre fusionner @bruno", "core.cmd.missing_arg"),
    ("role donner @bruno", "core.cmd.missing_arg"),
    ("mandat renouveler", "core.cmd.missing_arg"),
    ("mandat", "core.cmd.unknown"),
    (f"qui {'x' * 201}", "core.input.too_long"),
    (f"mandat quitter {'x' * 101}", "core.input.too_long"),
    (f"profil territoire {'x' * 201}", "core.input.too_long"),
    (f"profil {'x' * 101} Sud", "core.input.too_long"),
])
def test_refusals_name_what_was_expected(typed: str, key: str) -> None:
    with pytest.raises(CommandError) as err:
        GRAMMAR.parse(typed)
    assert err.value.msg.key == key
    for locale in ("fr", "en"):
        assert render_plain(err.value.msg, locale).strip()


def test_an_unknown_option_lists_the_declared_ones_in_the_readers_language() -> None:
    with pytest.raises(CommandError) as err:
        GRAMMAR.parse('decision "T" couleur=bleu')
    fr, en = render_plain(err.value.msg, "fr"), render_plain(err.value.msg, "en")
    assert "groupe=<nom>" in fr and "salons=" in fr and "nominatif" in fr
    assert "group=<name>" in en and "channels=" in en and "named" in en


def test_help_is_generated_from_the_declarations() -> None:
    index = render_plain(help_index(SPECS, True), "fr")
    assert "  " not in index  # issue 19: no doubled space after a command without arguments
    assert "• resume — " in index and "[options…]" in index
    fr, en = render_plain(help_for(DECISION), "fr"), render_plain(help_for(DECISION), "en")
    assert "quorum=<part>" in fr and "anonyme=<oui|non>" in fr and "groupe=<nom> — " in fr and "cercle" in fr
    assert "group=<name> — " in en and "circle" in en and "cercle" not in en
    draw = render_plain(help_for(DRAW), "fr")
    assert "parmi <nom>" in draw and "aussi" in draw and "dans" in draw
    for spec in SPECS:
        for locale in ("fr", "en"):
            text = render_plain(help_for(spec), locale)
            assert text.strip() and "\n\n" not in text


def test_rituals_reached_by_other_kinds_commands_are_declared() -> None:
    assert OBJECTION.also_for == ("election",) and AMEND.also_for == ("election",)
    assert DECISION.also_for == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted({n for s in SPECS for n in (s.name, *s.aliases)})),
       st.lists(st.sampled_from(["=", "a=", "=b", "quorum=", "parmi", "pour", "«", "»", '"', "#", "#1", "1",
                                 "jusqu'à", "anonyme", "nominatif", "changement=0j", "x<=2", "équilibre"])
                | st.text(max_size=10), max_size=6))
def test_any_words_after_any_command_parse_or_raise_command_error(name: str, words: list[str]) -> None:
    try:
        parsed = GRAMMAR.parse(" ".join([name, *words]))
    except CommandError as err:
        assert render_plain(err.msg, "fr") and render_plain(err.msg, "en")
        return
    declared = {a.name for a in parsed.spec.args} | {o.name for o in parsed.spec.options}
    assert set(parsed.args) <= declared
