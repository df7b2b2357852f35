"""The `decision` family's grammar, the `decisions` query, the config, and the catalogs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.kernel.commands import CommandError, Grammar, help_for
from bot.kernel.i18n import catalog, render_plain
from bot.kernel.model import PrivateNote, ReplyHandle
from bot.kernel.register import RegisterView
from bot.kernel.scenario import RitualSummary
from scenarios import registry
from scenarios.consent import KIND, ConsentConfig, answer_decisions, check_start, load_config
from scenarios.consent.round import RoundState
from scenarios.election import KIND as ELECTION
from tests.spaces import spaces
from tests.unit.register_support import register_of
from tests.unit.test_consent_support import (
    ANIM,
    T0,
    Driver,
    chose,
    cmd,
    one_channel,
    person,
    records,
    start,
)

HANDLE = ReplyHandle(platform="console", channel="c")
"""A private answer's way back, passed through untouched."""

GRAMMAR = Grammar([*KIND.commands, *ELECTION.commands])


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ('decision "Adopter la charte v2" jusqu\'à vendredi 18h',
         {"title": "Adopter la charte v2", "deadline": "vendredi 18h"}),
        ("décision « Adopter la charte v2 » vendredi 18h", {"title": "Adopter la charte v2", "deadline": "vendredi 18h"}),
        ('decide "Adopt charter v2" until friday 6pm', {"title": "Adopt charter v2", "deadline": "friday 6pm"}),
        ("decision Adopter la charte jusqu'à demain midi", {"title": "Adopter la charte", "deadline": "demain midi"}),
        ('decision "Charte"', {"title": "Charte"}),
        ('decision "Charte" jusqu\'à vendredi quorum=50% anonyme groupe=comite salons=a,#b',
         {"title": "Charte", "deadline": "vendredi", "quorum": 0.5, "anonymous": True, "group": "comite",
          "channels": ["a", "b"]}),
        ('decision "Charte" questions="mercredi 12h" jusqu\'à vendredi',
         {"title": "Charte", "deadline": "vendredi", "questions": "mercredi 12h"}),
        ('decision "Charte" quorum=2/3', {"title": "Charte", "quorum": pytest.approx(2 / 3)}),
    ],
)
def test_decision_grammar(text: str, args: dict[str, Any]) -> None:
    parsed = GRAMMAR.parse(text)
    assert parsed.spec.name == "decision" and parsed.spec.route == "start" and parsed.spec.animateur_only
    assert parsed.args == args


@pytest.mark.parametrize(
    ("text", "key"),
    [("decision", "consent.cmd.missing_title"), ('decision "T" couleur=bleu', "consent.cmd.unknown_option"),
     ('decision "T" quorum=150%', "consent.cmd.bad_quorum"), ('decision "T" quorum=', "consent.cmd.empty_option"),
     ("amender", "consent.cmd.amend_empty"), ("decisions beaucoup", "consent.cmd.decisions_usage")],
)
def test_wrong_commands_get_a_clear_reply(text: str, key: str) -> None:
    with pytest.raises(CommandError) as err:
        GRAMMAR.parse(text)
    assert err.value.msg.key == key
    assert render_plain(err.value.msg, "fr") and render_plain(err.value.msg, "en")


def test_other_commands() -> None:
    assert GRAMMAR.parse("objection le budget manque").args == {"reason": "le budget manque"}
    assert GRAMMAR.parse("object").args == {}
    assert GRAMMAR.parse("objection #3 trop tôt").ritual_number == 3
    assert GRAMMAR.parse('amender "Charte v2.1" jusqu\'à mardi').args == {"title": "Charte v2.1", "deadline": "mardi"}
    assert GRAMMAR.parse("amend until tuesday 6pm").args == {"deadline": "tuesday 6pm"}
    assert GRAMMAR.parse("retirer").spec.name == "retirer" and GRAMMAR.parse("withdraw").spec.name == "retirer"
    assert GRAMMAR.parse("decisions #12").args == {"number": 12}
    assert GRAMMAR.parse("decisions 20").args == {"count": 20}
    spec = GRAMMAR.parse("decisions").spec
    assert spec.route == "query" and spec.answer is answer_decisions


def test_help_for_every_command_renders_in_both_languages() -> None:
    for spec in [*KIND.commands, *ELECTION.commands]:
        for locale in ("fr", "en"):
            assert render_plain(help_for(spec), locale)


def test_kinds_are_discovered() -> None:
    kinds = registry().kinds
    assert kinds["consent"] is KIND and kinds["election"] is ELECTION


def test_catalogs_have_the_same_keys_in_french_and_english() -> None:
    for domain in ("consent.", "election."):
        fr = {k for k in catalog("fr") if k.startswith(domain)}
        en = {k for k in catalog("en") if k.startswith(domain)}
        assert fr == en and fr


def test_config_defaults_round_trip_through_the_config_dump() -> None:
    cfg = ConsentConfig.model_validate({"duration": "2j", "questions": "6h", "reminders": ["1j", "1h"],
                                        "quorum": "50%", "default_time": "17h30", "remind_via": "dm"})
    dumped = cfg.model_dump(mode="json")  # what `[defaults.consent]` becomes in the engine
    again = load_config({}, {"consent": dumped})
    assert again == cfg
    assert again.duration == timedelta(days=2) and again.quorum == 0.5
    with pytest.raises(ValueError):
        ConsentConfig.model_validate({"quorum": 2})
    with pytest.raises(ValueError):
        ConsentConfig.model_validate({"unknown": 1})


def test_check_start_tells_before_creating_anything() -> None:
    ctx, _ = one_channel(3)
    assert check_start(ctx, {"title": "T", "deadline": "vendredi 18h"}, "general", T0) is None
    msg = check_start(ctx, {"title": "T", "deadline": "hier"}, "general", T0)
    assert msg is not None and msg.key == "consent.deadline.past"


# --- decisions --------------------------------------------------------------------------


def _register_of_two_rounds() -> tuple[RegisterView, list[dict[str, Any]]]:
    ctx, people = one_channel(4)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="Adopter la charte v2", deadline="vendredi 18h"), T0)
    d.send(chose(people[1], "objection", reason="budget"), T0 + timedelta(hours=1))
    d.advance(timedelta(days=5))
    d.send(cmd(ANIM, "amender", title="Charte v2.1"), d.now)
    d.send(chose(people[1], "consent", ref="proposal:v2:general"), d.now)
    d.advance(timedelta(days=5))
    recs = records(d.actions)
    register = register_of([("decision", "consent", 1, datetime.fromisoformat(r["recorded_at"]), r) for r in recs],
                           people)
    return register, recs


def test_decisions_lists_recent_outcomes_and_open_rounds() -> None:
    register, recs = _register_of_two_rounds()
    assert [r["outcome"] for r in recs] == ["objections", "adopted"]
    ctx, _ = one_channel(4)
    open_round = RitualSummary("consent", 2, "open", {"title": "Budget 2027", "status": "answers",
                                                      "deadline": "2026-12-11T18:00:00+01:00", "answered": 3})
    ctx = type(ctx)(network=ctx.network, directory=ctx.directory, channels=ctx.channels, register=register,
                    open_rituals=[open_round])
    bob = person("bob")
    (note,) = answer_decisions(ctx, bob, {}, T0 + timedelta(days=12), reply_to=HANDLE)
    assert isinstance(note, PrivateNote) and note.member == "bob" and note.reply_to == HANDLE
    fr = spaces(render_plain(note.text, "fr"))
    assert "#2 « Budget 2027 » — réponses jusqu'au ven. 11 déc. à 18 h (3 réponses pour l'instant)" in fr
    # One line per decision: the latest outcome of the amended round.
    assert fr.count("« Charte v2.1 » (v2) — adoptée") == 1 and "objections à intégrer" not in fr
    assert "Recent decisions" in render_plain(note.text, "en")
    (detail,) = answer_decisions(ctx, bob, {"number": 1}, T0)
    text = spaces(render_plain(detail.text, "fr"))
    assert "Décision #1 « Charte v2.1 »" in text and "Consentement : Bob" in text
    assert "v1 « Adopter la charte v2 » — objections à intégrer" in text
    assert "v2 « Charte v2.1 » — adoptée" in text
    (missing,) = answer_decisions(ctx, bob, {"number": 9}, T0)
    assert missing.text.key == "consent.decisions.unknown"


def test_decisions_when_there_are_none() -> None:
    ctx, people = one_channel(2)
    (note,) = answer_decisions(ctx, people[0], {}, T0)
    assert note.text.key == "consent.decisions.none"
