"""The living directory through the real engine and store (SQLite and PostgreSQL), on a fake clock: a newcomer joins, is invited once, fills their profile by chat and counts in rounds and draws; animateurs manage people and roles; a config reload does not overwrite a chat edit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
FRIDAY_18H = datetime(2026, 11, 27, 18, 0, tzinfo=PARIS)
DIRECTORY = """
[directory]
attributes = ["territoire", "college"]

[directory.values]
territoire = ["Nord", "Sud", "Creuse"]
"""
CONFIG = BASE_CONFIG + DIRECTORY
IN_GENERAL = {"general": ["alice", "bob", "chloe"]}


def _notes(out: list[Any], who: str) -> list[str]:
    return [spaces(s.text) for s in out if s.recipient == who and s.kind in ("note", "dm")]


async def _decisions(h: Harness) -> list[dict[str, Any]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "decision")
                                   .order_by(t.log.c.id))).all()
    return [dict(r.summary) for r in rows]


async def test_a_newcomer_joins_fills_their_profile_votes_and_is_drawn(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path, members=IN_GENERAL) as h:
        # Joining a bound channel makes a member at once, invited once and privately.
        out = await h.say("+emma")
        (invitation,) = [s for s in out if s.recipient == "emma"]
        assert invitation.kind == "dm"
        text = invitation.text
        assert "profil organisation" in text and "profil territoire" in text and "Nord | Sud | Creuse" in text
        assert "profil college" in text and "Rien n'est obligatoire" in text
        assert not [s for s in out if s.recipient != "emma"], "nobody else hears of it"

        # Organisation and territory by chat; the value is the network's spelling.
        out = await h.say("emma: !reseau profil organisation « Aliso »")
        assert _notes(out, "emma") == ["C'est noté : organisation = Aliso."]
        out = await h.say("emma: !reseau profil territoire creuse")
        assert _notes(out, "emma") == ["C'est noté : territoire = Creuse."]
        (profile,) = _notes(await h.say("emma: !reseau profil"), "emma")
        assert "Organisation : Aliso" in profile and "territoire = Creuse, college = —" in profile

        # Leaving and coming back, or the bot restarting, does not invite again.
        await h.say("-emma")
        assert not _notes(await h.say("+emma"), "emma")
        await h.restart(timedelta(minutes=5))
        await h.say("-emma")
        assert not _notes(await h.say("+emma"), "emma")

        # She answers a round and is counted, once.
        out = await h.say('alice: !reseau decision "Adopter la charte v2" jusqu\'à vendredi 18h')
        (proposal,) = [s for s in out if s.kind == "post" and s.choices]
        await h.say(f"emma: ?{proposal.message_id} consent")
        await h.say(f"bob: +✅ {proposal.message_id}")
        await h.advance_to(FRIDAY_18H + timedelta(minutes=1))
        (record,) = await _decisions(h)
        assert record["answered"] == 2 and record["circle_size"] == 4
        assert record["names"]["consent"] == ["Bob", "emma"]

        # The draw reads her territory from the directory: with one seat per territory, the
        # only person of the Creuse is certain to be drawn.
        out = await h.say("alice: !reseau tirage 3 territoire=1")
        assert any(s.kind == "post" and s.choices for s in out), [s.text for s in out]
        (chance,) = _notes(await h.say("emma: !reseau tirage probabilite"), "emma")
        assert "100 % (exactement 1/1)" in chance, chance
        (chance,) = _notes(await h.say("bob: !reseau tirage probabilite"), "bob")
        assert "exactement 1/2)" in chance, chance


async def test_refusals_name_what_is_allowed_in_the_members_language(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        (answer,) = _notes(await h.say("bob: !reseau profil couleur bleu"), "bob")
        assert answer == ("Je ne connais pas le champ « couleur ». Champs possibles : "
                          "nom, organisation, langue, territoire, college.")
        (answer,) = _notes(await h.say("bob: !reseau profil territoire Bretagne"), "bob")
        assert answer == ("« Bretagne » n'est pas une valeur possible pour territoire. "
                          "Valeurs possibles : Nord, Sud, Creuse.")
        (answer,) = _notes(await h.say("bob: !reseau profil territoire"), "bob")
        assert "Il manque la valeur de « territoire »" in answer and "profil territoire …" in answer
        for command in ("membre ajouter Zoé", "membre corriger chloe territoire Nord", "membre fusionner bob chloe",
                        "role donner @bob animateur", "role retirer @alice animateur"):
            (answer,) = _notes(await h.say(f"bob: !reseau {command}"), "bob")
            assert answer.startswith("Désolé, seule l'équipe d'animation"), answer
        await h.say("bob: !reseau profil langue en")
        (answer,) = _notes(await h.say("bob: !reseau profile territoire Bretagne"), "bob")
        assert answer == "“Bretagne” is not a possible value for territoire. Possible values: Nord, Sud, Creuse."
        h.clock.advance(timedelta(minutes=1))  # past the flood guard: ten commands were typed at once
        (answer,) = _notes(await h.say("bob: !reseau member add Zoé"), "bob")
        assert answer.startswith("Sorry, only the network's facilitators")
        # Nothing was changed by any of them.
        (profile,) = _notes(await h.say("bob: !reseau profile"), "bob")
        assert "territoire = Sud" in profile


async def test_animateurs_manage_people_and_roles_seen_by_every_process(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with Harness(CONFIG, store_url, MONDAY, tmp_path / "a", members=IN_GENERAL) as a, \
            Harness(CONFIG, store_url, MONDAY, tmp_path / "b", members=IN_GENERAL) as b:
        out = await a.say('alice: !reseau membre ajouter « Emma Durand » organisation=« aliso » compte=console:emma')
        assert _notes(out, "alice") == ["Emma Durand est dans l'annuaire, avec l'identifiant emma-durand."]
        out = await a.say("alice: !reseau membre corriger emma-durand territoire Nord")
        assert _notes(out, "alice") == ["C'est noté pour Emma Durand : territoire = Nord."]
        out = await a.say("alice: !reseau role donner @Emma délégué")
        assert _notes(out, "alice") == ["C'est fait : Emma Durand a le rôle « délégué »."]
        out = await a.say("alice: !reseau role donner @chloe animatrice")
        assert _notes(out, "alice") == ["C'est fait : Chloé a le rôle « animation »."]
        out = await a.say("alice: !reseau membre corriger bob organisation -")
        assert _notes(out, "alice") == ["C'est noté pour Bob : organisation = —."]

        # Another process sharing the store follows without a restart: Emma, known by her
        # account, joins through it and is asked only for what her profile lacks.
        out = await b.say("+emma")
        (invitation,) = _notes(out, "emma")
        assert "profil college" in invitation and "profil organisation" not in invitation
        assert "profil territoire" not in invitation
        (profile,) = _notes(await b.say("emma: !reseau profil"), "emma")
        assert "Nom : Emma Durand" in profile and "Organisation : aliso" in profile
        assert "territoire = Nord" in profile and "Rôles : délégué" in profile
        # Chloé animates now, in the other process too.
        out = await b.say("chloe: !reseau role retirer @alice animateur")
        assert _notes(out, "chloe") == ["C'est fait : Alice n'a plus le rôle « animation »."]
        (answer,) = _notes(await a.say("alice: !reseau membre ajouter Zoé"), "alice")
        assert answer.startswith("Désolé, seule l'équipe d'animation"), answer
        (answer,) = _notes(await a.say("chloe: !reseau role retirer chloe animateur"), "chloe")
        assert answer == ("Chloé est la seule personne qui anime le réseau : donnez d'abord ce rôle à "
                          "quelqu'un d'autre.")
        # The spelling the network uses: "ALISO" is Emma's organisation, not a new one.
        out = await b.say("bob: !reseau profil organisation ALISO")
        assert _notes(out, "bob") == ["C'est noté : organisation = aliso."]


async def test_a_config_reload_does_not_overwrite_a_chat_edit(store_url: str, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    for step in ("1", "2", "3", "4"):
        (tmp_path / step).mkdir()
    async with Harness(CONFIG, store_url, MONDAY, tmp_path / "1") as h:
        await h.say("bob: !reseau profil territoire Creuse")
        await h.say("bob: !reseau profil nom « Bob Martin »")
        await h.say("alice: !reseau membre corriger chloe organisation « Le Fournil »")
        await h.say("alice: !reseau role donner @bob délégué")
        await h.say("alice: !reseau role donner @chloe animateur")
        await h.say("alice: !reseau role retirer @alice animateur")
    # The same config again: every chat edit stands, and the boot log lists those that differ.
    with caplog.at_level(logging.INFO, logger="maillage.engine"):
        async with Harness(CONFIG, store_url, MONDAY, tmp_path / "2") as h:
            (profile,) = _notes(await h.say("bob: !reseau profil"), "bob")
            assert "Nom : Bob Martin" in profile and "territoire = Creuse" in profile and "délégué" in profile
            (profile,) = _notes(await h.say("chloe: !reseau profil"), "chloe")
            assert "Organisation : Le Fournil" in profile and "animation" in profile
            (answer,) = _notes(await h.say("alice: !reseau membre ajouter Zoé"), "alice")
            assert answer.startswith("Désolé"), "a role removed in chat stays removed"
    kept = [r.getMessage() for r in caplog.records if "edited in chat" in r.getMessage()]
    assert any("bob's territoire" in m and "'Creuse'" in m and "'Sud'" in m for m in kept), kept
    assert any("chloe's organisation" in m for m in kept) and any("alice's animateur" in m for m in kept), kept
    # The config's own value changes: it applies; values it did not change keep the chat's.
    moved = CONFIG.replace('organisation = "Le Jardin"\nterritoire = "Sud"', 'organisation = "Le Jardin"\n'
                                                                               'territoire = "Nord"')
    moved = moved.replace('animateurs = ["alice"]', 'animateurs = ["alice", "chloe"]\n"délégué" = ["chloe"]')
    assert moved.count("Nord") == 3
    async with Harness(moved, store_url, MONDAY, tmp_path / "3") as h:
        (profile,) = _notes(await h.say("bob: !reseau profil"), "bob")
        assert "territoire = Nord" in profile and "Nom : Bob Martin" in profile and "délégué" in profile
        (profile,) = _notes(await h.say("chloe: !reseau profil"), "chloe")
        assert "Organisation : Le Fournil" in profile and "délégué" in profile
        # Alice's role was removed in chat while the config listed her, and it still does.
        (answer,) = _notes(await h.say("alice: !reseau membre ajouter Zoé"), "alice")
        assert answer.startswith("Désolé")
        # A later chat edit of a value the config now decides wins again, until the next change.
        await h.say("bob: !reseau profil territoire Sud")
    async with Harness(moved, store_url, MONDAY, tmp_path / "4") as h:
        (profile,) = _notes(await h.say("bob: !reseau profil"), "bob")
        assert "territoire = Sud" in profile


async def test_a_person_merged_after_their_invitation_is_not_invited_again(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path, members=IN_GENERAL) as h:
        assert _notes(await h.say("+farid"), "farid"), "invited as a newcomer"
        await h.say("alice: !reseau membre ajouter « Farid Benali »")
        out = await h.say("alice: !reseau membre fusionner farid-benali @farid")
        assert _notes(out, "alice") == ["C'est fait : farid et Farid Benali ne font plus qu'une personne, "
                                        "Farid Benali. Ses comptes : console:farid."]
        await h.say("-farid")
        assert not _notes(await h.say("+farid"), "farid")
        (profile,) = _notes(await h.say("farid: !reseau profil"), "farid")
        assert "Nom : Farid Benali" in profile
