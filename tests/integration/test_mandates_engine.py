"""Mandates through the real engine, store and console adapter, on a fake clock: an election and
a draw for declared roles create mandates by themselves, `qui` says who holds what in French and
English, an animateur appoints, and the digest's "who does what" is right after a decline and
its replacement, and after a resignation filled from the reserve list."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.console import Sent
from bot.store import schema as t
from scenarios.sortition.seed import commitment_of
from tests.harness import Harness

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2027, 1, 4, 10, 0, tzinfo=PARIS)
DELEGATE = "délégué·e au comité régional"
COORDINATION = "coordination"

PEOPLE = [("alice", "Alice", "La Ruche"), ("bob", "Bob", "Le Jardin"), ("chloe", "Chloé", "La Ruche"),
          ("dina", "Dina", "Le Four"), ("eloi", "Éloi", "Le Four"), ("fanny", "Fanny", "La Grange"),
          ("gael", "Gaël", "L'Atelier")]
CONFIG = f"""
[network]
name = "Réseau test"
locale = "fr"
timezone = "Europe/Paris"

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[roles]
animateurs = ["alice"]

[roles."{DELEGATE}"]
seats = 2
term = "1 an"
renew_by = "tirage"
pool = "general"

[roles."{COORDINATION}"]
term = "2 ans"
renew_by = "election"

[roles."trésorerie"]
term = "1 an"

[defaults.draw]
min_contributors = 1
commit_hours = 24
reveal_hours = 12
accept_hours = 48

[defaults.election]
change = "0j"
consent = "1j"

[[rituals]]
id = "accueil"
kind = "welcome"
channels = ["general"]

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"
""" + "".join(
    f'\n[[members]]\nid = "{key}"\nname = "{name}"\naccounts = ["console:{key}"]\norganisation = "{org}"\n'
    + ('locale = "en"\n' if key == "gael" else "")
    for key, name, org in PEOPLE)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def block(text: str, role: str) -> str:
    """A role's entry in "who does what": its line, and its holders' lines under it."""
    start = text.index(f"• {role}")
    end = text.find("\n•", start + 1)
    return text[start:] if end < 0 else text[start:end]


def texts(out: list[Sent]) -> list[str]:
    return [plain(s.text) for s in out]


async def mandates(h: Harness) -> list[dict[str, Any]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.mandates, t.persons.c.key).join(
            t.persons, t.persons.c.id == t.mandates.c.person_id).order_by(t.mandates.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def run_draw(h: Harness, start: str, secret: str, answers: dict[str, str] | None = None) -> list[Sent]:
    """A draw from its command (or None: already announced) to its panel settled: one seed
    secret, then each person asked answers as `answers` says (accept by default)."""
    if start:
        await h.say(start)
    await h.say(f"bob: !reseau tirage graine {commitment_of(secret)}")
    await h.advance(timedelta(hours=24, minutes=1))
    out = await h.say(f"bob: !reseau tirage révéler {secret}")
    asked = [s for s in out if s.kind == "dm" and s.choices]
    seen: list[Sent] = list(out)
    while asked:
        s = asked.pop(0)
        answer = (answers or {}).get(s.recipient or "", "accept")
        more = await h.say(f"[dm] {s.recipient}: ?{s.message_id} {answer}")
        seen += more
        asked += [m for m in more if m.kind == "dm" and m.choices]
    return seen


async def elect(h: Harness, role: str, nominee: str) -> list[Sent]:
    """An election without candidates: everyone nominates `nominee`, who is proposed and consented to."""
    await h.say(f'alice: !reseau election "{role}"')
    for key, _, _ in PEOPLE:
        if key != nominee:
            await h.say(f"[dm] {key}: !reseau election nommer {nominee} parce qu'elle connaît le réseau")
    await h.advance(timedelta(days=2, minutes=1))
    out = await h.say(f"alice: !reseau election proposer {nominee}")
    (proposal,) = [s for s in out if s.kind == "post" and s.choices]
    for key, _, _ in PEOPLE:
        await h.say(f"{key}: ?{proposal.message_id} consent")
    return await h.advance(timedelta(days=1, minutes=1))


async def test_an_election_and_a_draw_create_mandates_and_qui_says_who_does_what(sqlite_url: str,
                                                                                tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        # At the start, every declared role is empty: the animateurs are told, privately, once.
        told = [s for s in h.sent if s.kind == "dm" and s.recipient == "alice"]
        assert len(told) == 1 and "mandat renouveler" in told[0].text
        assert all(role in plain(told[0].text) for role in (DELEGATE, COORDINATION, "trésorerie"))
        assert not [s for s in h.sent if s.kind == "post"], "never the whole network"
        assert [s for s in await h.advance(timedelta(days=8)) if s.kind == "dm"] == [], "told once, not weekly"

        elected = await elect(h, COORDINATION, "chloe")
        assert any(f"Chloé est élu·e {COORDINATION}" in x for x in texts(elected))
        await run_draw(h, f'alice: !reseau tirage 2 role "{DELEGATE}"', "graine-1")
        out = await h.say("alice: !reseau role donner @dina trésorerie")
        assert "Dina est nommé·e trésorerie jusqu'au" in plain(out[0].text)

        rows = await mandates(h)
        assert sorted((r["role"], r["how"], r["status"]) for r in rows) == sorted([
            (COORDINATION, "election", "active"), (DELEGATE, "draw", "active"), (DELEGATE, "draw", "active"),
            ("trésorerie", "appointed", "active")])
        coordination = next(r for r in rows if r["role"] == COORDINATION)
        assert (coordination["key"], coordination["organisation"], coordination["ritual_number"]) == (
            "chloe", "La Ruche", 1)
        assert coordination["ends_at"].date().year == 2029  # two years
        drawn = sorted(r["key"] for r in rows if r["role"] == DELEGATE)

        # qui, in French, privately; the organisations without anyone in a role for animateurs only.
        (fr,) = await h.say("bob: !reseau qui")
        assert fr.kind == "note" and fr.recipient == "bob"
        text = plain(fr.text)
        assert "Qui fait quoi" in text
        assert "• coordination : Chloé (La Ruche), élu·e (élection #1), jusqu'au" in text
        assert "2029" in text.split("coordination")[1].split("\n")[0]
        assert "tiré·e au sort (tirage #1)" in text and "nommé·e par Alice le" in text
        assert "Organisations dont personne" not in text
        (animateur,) = await h.say("alice: !reseau qui")
        assert "Organisations dont personne ne tient de rôle" in plain(animateur.text)
        (one,) = await h.say(f"bob: !reseau qui {DELEGATE}")
        assert all(dict((k, n) for k, n, _ in PEOPLE)[k] in plain(one.text) for k in drawn)
        assert "coordination" not in plain(one.text)
        (person,) = await h.say("bob: !reseau qui @chloe")
        assert "coordination" in plain(person.text) and "élu·e" in plain(person.text)
        (organisation,) = await h.say("bob: !reseau qui le four")
        assert "trésorerie" in plain(organisation.text) and "Dina" in plain(organisation.text)

        # qui, in English, for a member who reads English.
        (en,) = await h.say("gael: !reseau who")
        english = plain(en.text)
        assert "Who does what" in english and "• coordination: Chloé (La Ruche), elected (election #1), until" in english
        assert "drawn (draw #1)" in english and "appointed by Alice on" in english
        (unknown,) = await h.say("gael: !reseau who nobody-at-all")
        assert "is neither a role, a person nor an organisation" in plain(unknown.text)

        # A newcomer is welcomed, privately, with who does what: the declared roles' holders.
        (greeting,) = [s for s in await h.say("+hugo") if s.kind == "dm"]
        welcome = plain(greeting.text)
        assert "Qui fait quoi" in welcome and "• coordination : Chloé (La Ruche), élu·e (élection #1), jusqu'au" in welcome
        assert "• trésorerie : Dina (Le Four), nommé·e par Alice le" in welcome and "• animation : Alice" in welcome


async def test_who_does_what_in_the_digest_after_a_decline_and_its_replacement(sqlite_url: str,
                                                                              tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        out = await h.say(f'alice: !reseau tirage 2 role "{DELEGATE}"')
        await h.say(f"bob: !reseau tirage graine {commitment_of('graine-2')}")
        await h.advance(timedelta(hours=24, minutes=1))
        out = await h.say("bob: !reseau tirage révéler graine-2")
        first, second = [s for s in out if s.kind == "dm" and s.choices]
        out = await h.say(f"[dm] {first.recipient}: ?{first.message_id} decline")
        (replacement,) = [s for s in out if s.kind == "dm" and s.choices]
        assert replacement.recipient not in (first.recipient, second.recipient)
        await h.say(f"[dm] {second.recipient}: ?{second.message_id} accept")
        await h.say(f"[dm] {replacement.recipient}: ?{replacement.message_id} accept")
        names = dict((k, n) for k, n, _ in PEOPLE)

        (digest,) = await h.say("alice: !reseau resume")
        body = plain(digest.text)
        section = body.split("Qui fait quoi")[1]
        line = block(section, DELEGATE)
        assert names[second.recipient or ""] in line and names[replacement.recipient or ""] in line
        assert names[first.recipient or ""] not in line, "who declined holds nothing"
        assert "tiré·e au sort (tirage #1)" in line

        # A resignation: the seat goes to the next on the draw's reserve list, privately; the
        # animateurs are told; the digest follows.
        holder = second.recipient or ""
        out = await h.say(f"{holder}: !reseau mandat quitter")
        thanks = [s for s in out if s.kind == "note" and s.recipient == holder]
        assert len(thanks) == 1 and ("prend fin aujourd'hui" in thanks[0].text or "ends today" in thanks[0].text)
        (offer,) = [s for s in out if s.kind == "dm" and s.choices]
        assert offer.recipient not in (first.recipient, second.recipient, replacement.recipient)
        assert "liste de réserve du tirage #1" in plain(offer.text)
        assert any(s.recipient == "alice" and "La place est proposée à" in plain(s.text) for s in out)
        out = await h.say(f"[dm] {offer.recipient}: ?{offer.message_id} accept")
        assert any(s.recipient == "alice" and "accepte la place" in plain(s.text) for s in out)
        (digest,) = await h.say("bob: !reseau resume")
        line = block(plain(digest.text).split("Qui fait quoi")[1], DELEGATE)
        assert names[offer.recipient or ""] in line and names[replacement.recipient or ""] in line
        assert names[holder] not in line
        rows = [r for r in await mandates(h) if r["role"] == DELEGATE]
        assert [(r["key"], r["status"], r["ended_why"], r["reserve_rank"]) for r in rows] == [
            (r["key"], *shape) for r, shape in zip(rows, [
                ("ended", "resignation", None) if rows[0]["key"] == holder else ("active", None, None),
                ("ended", "resignation", None) if rows[1]["key"] == holder else ("active", None, None),
                ("active", None, 1)], strict=True)]
