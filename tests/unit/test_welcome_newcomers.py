"""Welcome: a newcomer is greeted once, privately, with the charter, who does what, the next meeting
and the invitation to complete their profile, in one message; nothing in public at their arrival."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.kernel.i18n import Lines, Msg
from bot.kernel.model import DirectMessage, Joined, Left, Post, Record, Ref, Started
from bot.kernel.scenario import RitualSummary
from scenarios.meeting import KIND as MEETING
from scenarios.welcome import KIND as WELCOME
from scenarios.welcome.kind import WelcomeConfig
from tests.unit.test_meeting_support import (
    BOB,
    MEMBERS,
    Sim,
    context,
    member,
    paris,
    render,
    text,
    used_keys,
)

EVE = member("eve", "Coop Beta")
PEOPLE = {**MEMBERS, "eve": EVE, "mallory": member("mallory", None, name="@channel <i>Mallory</i>")}


def greeter(config: dict[str, Any] | None = None, open_rituals: list[RitualSummary] | None = None,
            name_with_article: str | None = None) -> Sim:
    ctx = context({"channels": ["general", "comite"], **(config or {})}, members=PEOPLE,
                  channels={"general": sorted(PEOPLE), "comite": ["alice", "bob"], "off-topic": []},
                  open_rituals=open_rituals or [])
    ctx = replace(ctx, network=replace(ctx.network, name_with_article=name_with_article))
    sim = Sim(WELCOME, ctx, paris(2026, 3, 2, 9, 0))
    assert sim.send(Started()) == []
    return sim


def next_meeting_summary() -> RitualSummary:
    meetings = Sim(MEETING, context({"channels": ["general"], "title": "Comité", "rrule": "FREQ=MONTHLY;BYDAY=-1TU",
                                     "time": "18:00", "place": "Maison des associations"}), paris(2026, 3, 2, 9, 0))
    meetings.send(Started())
    return meetings.summary()


def test_a_newcomer_is_greeted_once_and_not_again_on_rejoin() -> None:
    sim = greeter(open_rituals=[next_meeting_summary()], name_with_article="les Tiers-Lieux du Val")
    first = sim.send(Joined(member=EVE, channel="general"))
    assert not [a for a in first if isinstance(a, Post)], "nothing in public at their arrival"
    greeting = [a for a in first if isinstance(a, DirectMessage)]
    assert [p.member for p in greeting] == ["eve"]
    assert text(greeting[0]) == (
        "👋 Bienvenue Eve ! Vous avez rejoint les Tiers-Lieux du Val.\n"
        "\n"
        "Notre charte\n"
        "Nous coopérons pour que chaque tiers-lieu du territoire vive.\n"
        "\n"
        "Qui fait quoi\n"
        "• animation : Alice\n"
        "\n"
        "Prochaine réunion : Comité, mardi 31 mars 2026 à 18 h (Maison des associations).\n"
        "\n"
        "Pour voir ce que je sais faire, tapez aide.")
    assert [a.summary for a in first if isinstance(a, Record)] == [
        {"member": "eve", "name": "Eve", "organisation": "Coop Beta", "channel": "general", "again": False}]

    sim.now += timedelta(days=3)
    assert sim.send(Left(member=EVE, channel="general")) == []
    assert sim.send(Joined(member=EVE, channel="general")) == []  # rejoin within the period
    assert sim.send(Joined(member=EVE, channel="comite")) == []  # another channel: same person


def test_greeted_again_only_after_the_configured_period() -> None:
    sim = greeter({"again_after": "30d"})
    sim.send(Joined(member=EVE, channel="general"))
    sim.now += timedelta(days=29)
    assert sim.send(Joined(member=EVE, channel="general")) == []
    sim.now += timedelta(days=2)
    again = sim.send(Joined(member=EVE, channel="general"))
    assert [a.summary["again"] for a in again if isinstance(a, Record)] == [True]


def test_bots_opted_out_members_and_unbound_channels_are_not_greeted() -> None:
    sim = greeter()
    assert sim.send(Joined(member=EVE.model_copy(update={"is_bot": True}), channel="general")) == []
    assert sim.send(Joined(member=EVE.model_copy(update={"opted_out": True}), channel="general")) == []
    assert sim.send(Joined(member=EVE, channel="off-topic")) == []
    assert sim.state.greeted == {}  # type: ignore[union-attr]


def test_the_network_own_words_and_a_greeting_by_direct_message() -> None:
    sim = greeter({"message": "Ici on se tutoie !", "where": "dm", "roles": False, "charter": False})
    out = sim.send(Joined(member=EVE, channel="comite"))
    assert isinstance(out[0], DirectMessage) and out[0].member == "eve"
    assert text(out[0]) == (
        "👋 Bienvenue Eve ! Vous avez rejoint le réseau « Tiers-Lieux du Val ».\n\nIci on se tutoie !\n\n"
        "Prochaine réunion : aucune n'est prévue pour l'instant.\n\nPour voir ce que je sais faire, tapez aide.")


def test_a_newcomers_name_cannot_ping_everyone_or_inject_markup() -> None:
    sim = greeter()
    out = sim.send(Joined(member=PEOPLE["mallory"], channel="general"))
    post = next(a for a in out if isinstance(a, DirectMessage))
    for fmt in ("html", "mrkdwn"):
        rendered = render(post.text, fmt)
        assert "@channel" not in rendered and "<i>" not in rendered
    assert "<b>Bienvenue</b>" in render(post.text, "html")


def test_next_meeting_prefers_the_channel_joined() -> None:
    summary = RitualSummary(kind="meeting", number=1, status="open", summary={"upcoming": [
        {"title": "Café", "start": "2026-03-05T09:00:00+01:00", "channels": ["general"], "place": None},
        {"title": "Comité", "start": "2026-03-10T18:00:00+01:00", "channels": ["comite"], "place": None},
    ]})
    sim = greeter(open_rituals=[summary])
    comite = text(next(a for a in sim.send(Joined(member=EVE, channel="comite")) if isinstance(a, DirectMessage)))
    assert "Prochaine réunion : Comité, mardi 10 mars 2026 à 18 h." in comite
    general = text(next(a for a in sim.send(Joined(member=BOB, channel="general")) if isinstance(a, DirectMessage)))
    assert "Prochaine réunion : Café, jeudi 5 mars 2026 à 9 h." in general


def test_english_greeting_and_keys_in_both_catalogs() -> None:
    from bot.kernel.i18n import has_key

    ctx = context({"channels": ["general"]}, members=PEOPLE, locale="en")
    sim = Sim(WELCOME, ctx, paris(2026, 3, 2, 9, 0))
    out = sim.send(Joined(member=EVE, channel="general"))
    assert text(out[0], "en").startswith("👋 Welcome Eve! You have joined Tiers-Lieux du Val.")  # type: ignore[arg-type]
    assert {k for k in used_keys(out) if not (has_key(k, "fr") and has_key(k, "en"))} == set()


@pytest.mark.parametrize("bad", [{"again_after": "jamais"}, {"where": "thread"}, {"greeting": "x"}])
def test_welcome_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WelcomeConfig.model_validate(bad)


INVITATION = Lines(items=[Msg("core.directory.invite_organisation"),
                          Msg("core.directory.invite_free", attribute="territoire")])


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_profile_invitation_is_part_of_the_one_private_welcome(locale: str) -> None:
    ctx = context({"channels": ["general"]}, members=PEOPLE, locale=locale)
    sim = Sim(WELCOME, ctx, paris(2026, 3, 2, 9, 0))
    out = sim.send(Joined(member=EVE, channel="general", invitation=INVITATION))
    assert [type(a) for a in out] == [DirectMessage, Record], "one message, nothing in public"
    said = text(out[0], locale)  # type: ignore[arg-type]
    if locale == "fr":
        assert said.startswith("👋 Bienvenue Eve !")
        assert "Votre fiche : quand vous le voulez, complétez-la" in said and "profil territoire" in said
        assert said.index("Prochaine réunion") < said.index("Votre fiche") < said.index("tapez aide")
    else:
        assert said.startswith("👋 Welcome Eve!")
        assert "Your profile: whenever you like, complete it" in said and "profile territoire" in said


def test_the_invitation_is_said_alone_when_there_is_no_greeting_this_time() -> None:
    sim = greeter()
    sim.send(Joined(member=EVE, channel="general"))
    sim.now += timedelta(days=3)
    out = sim.send(Joined(member=EVE, channel="comite", invitation=INVITATION))
    assert [(type(a), a.text.key) for a in out] == [(DirectMessage, "welcome.invite")]  # type: ignore[union-attr]
    assert "Bienvenue dans le réseau « Tiers-Lieux du Val » !" in text(out[0])  # type: ignore[arg-type]
    out = sim.send(Joined(member=BOB, channel="off-topic", invitation=INVITATION))
    assert [a.text.key for a in out] == ["welcome.invite"]  # type: ignore[union-attr]


def test_a_network_may_still_greet_in_the_channel() -> None:
    sim = greeter({"where": "channel"})
    out = sim.send(Joined(member=EVE, channel="general", invitation=INVITATION))
    (post,) = [a for a in out if isinstance(a, Post)]
    assert post.ref == Ref(role="welcome", member="eve") and "Votre fiche" not in text(post)
    assert [a.text.key for a in out if isinstance(a, DirectMessage)] == ["welcome.invite"]
