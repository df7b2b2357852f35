"""Two years of roles on a fake clock, through the real engine, store and console adapter: terms
end and renewals start by themselves at their notice, `max_consecutive` keeps a holder out of
the next term, a resignation brings in the next on the reserve list, and a role with no one to
choose alerts the animateurs — privately, once per event."""

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
START = datetime(2027, 1, 4, 10, 0, tzinfo=PARIS)
ROLE = "délégué·e au comité régional"
PEOPLE = ["alice", "bob", "chloe", "dina", "eloi", "fanny", "gael"]


def config(role: str, people: list[str] = PEOPLE, groups: str = "") -> str:
    return f"""
[network]
name = "Réseau test"
timezone = "Europe/Paris"

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[roles]
animateurs = ["alice"]

[roles."{ROLE}"]
{role}

[defaults.draw]
min_contributors = 1
commit_hours = 24
reveal_hours = 12
accept_hours = 48
{groups}
""" + "".join(f'\n[[members]]\nid = "{k}"\nname = "{k.capitalize()}"\naccounts = ["console:{k}"]\n'
              f'organisation = "Org {k}"\n' for k in people)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def to_alice(out: list[Sent]) -> list[str]:
    return [plain(s.text) for s in out if s.kind == "dm" and s.recipient == "alice"]


async def held(h: Harness) -> list[dict[str, Any]]:
    """The mandates of the role, in the order chosen: who, from when, until when, how it ended."""
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.mandates, t.persons.c.key).join(
            t.persons, t.persons.c.id == t.mandates.c.person_id).order_by(t.mandates.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def settle_draw(h: Harness, secret: str, contributor: str = "bob") -> list[Sent]:
    """The draw announced last: one secret committed and revealed, everyone asked accepts
    (and so does anyone offered a seat afterwards)."""
    await h.say(f"{contributor}: !reseau tirage graine {commitment_of(secret)}")
    await h.say("alice: !reseau tirage clore")
    out = await h.say(f"{contributor}: !reseau tirage révéler {secret}")
    seen = list(out)
    asked = [s for s in out if s.kind == "dm" and s.choices]
    while asked:
        s = asked.pop(0)
        more = await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
        more += await h.advance(timedelta(minutes=1))  # the mandates ritual looks at the new mandate
        seen += more
        asked += [m for m in more if m.kind == "dm" and m.choices]
    return seen


async def test_two_years_of_terms_renewed_by_themselves_and_nobody_twice_in_a_row(sqlite_url: str,
                                                                                 tmp_path: Path) -> None:
    role = 'seats = 1\nterm = "1 an"\nrenew_by = "tirage"\npool = "general"\nmax_consecutive = 1\nauto = true'
    async with Harness(config(role), sqlite_url, START, tmp_path) as h:
        # The role is empty at the start: the animateurs hear it, and the draw starts by itself.
        (said,) = to_alice(h.sent)
        assert "1 siège vacant sur 1" in said and "lancé automatiquement" in said
        # The draw's announcement, its technical details in its thread.
        assert [s.target is None for s in h.sent if s.kind == "post"] == [True, False]
        await settle_draw(h, "an-1")
        (first,) = [r for r in await held(h) if r["status"] == "active"]
        assert first["how"] == "draw" and first["ritual_number"] == 1
        assert (first["started_at"].astimezone(PARIS), first["ends_at"].astimezone(PARIS)) == (
            START, datetime(2028, 1, 4, 10, 0, tzinfo=PARIS))

        # Nothing is said before the notice (a month before the end), then the renewal starts.
        quiet = await h.advance_to(datetime(2027, 12, 5, 9, 59, tzinfo=PARIS))
        assert to_alice(quiet) == [] and not [s for s in quiet if s.kind == "post"]
        out = await h.advance(timedelta(minutes=2))
        (said,) = to_alice(out)
        assert "fin du mandat" in said and "lancé automatiquement" in said
        assert f"Ne peuvent pas être choisi·es cette fois (1 mandat de suite au plus) : {first['key'].capitalize()}" \
            in said
        # The holder reached max_consecutive: the draw leaves them out of its pool and says so.
        (announce,) = [s for s in out if s.kind == "post" and s.target is None]
        (line,) = [x for x in plain(announce.text).splitlines() if "nombre maximal de mandats de suite" in x]
        assert first["key"].capitalize() in line
        # Whatever the seed, they are never drawn, and nobody is told of a seat beyond the limit.
        seen = await settle_draw(h, "an-2-6")
        asked = [s.recipient for s in seen if s.kind == "dm" and s.choices]
        assert len(asked) == 1 and first["key"] not in asked
        assert not [s for s in seen if "1 mandat de suite au plus" in plain(s.text)]
        drawn = asked[0] or ""
        out = await h.say("chloe: !reseau qui")
        who = plain(out[0].text)
        assert f"{first['key'].capitalize()} (Org {first['key']}), tiré·e au sort (tirage #1)" in who
        assert f"puis {drawn.capitalize()} " in who
        assert "du mardi 4 janvier 2028 au jeudi 4 janvier 2029" in who

        # The term ends: its successor takes the seat the same instant.
        await h.advance_to(datetime(2028, 1, 4, 10, 1, tzinfo=PARIS))
        out = await h.say("chloe: !reseau qui")
        assert first["key"].capitalize() not in plain(out[0].text).split("• animation")[0]

        # A second year, the same way.
        out = await h.advance_to(datetime(2028, 12, 5, 10, 1, tzinfo=PARIS))
        assert any("lancé automatiquement" in x for x in to_alice(out))
        await settle_draw(h, "an-3")
        await h.advance_to(datetime(2029, 1, 4, 10, 1, tzinfo=PARIS))

        rows = await held(h)
        terms = [r for r in rows if r["started_at"] is not None and r["ended_why"] not in ("over_limit",)
                 and r["status"] != "offered"]
        # Three terms, each beginning when the one before ended, never the same person twice in a row.
        assert len(terms) == 3, rows
        for before, after in zip(terms, terms[1:], strict=False):
            assert after["started_at"] == before["ends_at"]
            assert before["ended_why"] == "replaced"
            assert before["key"] != after["key"]
        assert terms[-1]["status"] == "active"


async def test_a_role_with_no_one_left_to_choose_alerts_the_animateurs(sqlite_url: str, tmp_path: Path) -> None:
    # Two seats drawn from a group of two, one term in a row at most: after the first term,
    # nobody may be drawn.
    role = 'seats = 2\nterm = "1 an"\nrenew_by = "tirage"\ngroup = "bureau"\nmax_consecutive = 1\nauto = true'
    async with Harness(config(role, groups='\n[groups]\nbureau = ["bob", "chloe"]\n'), sqlite_url, START,
                       tmp_path) as h:
        await settle_draw(h, "nc-1")
        assert sorted(r["key"] for r in await held(h)) == ["bob", "chloe"]
        out = await h.advance_to(datetime(2027, 12, 5, 10, 1, tzinfo=PARIS))
        (said,) = to_alice(out)
        assert "trop peu de personnes peuvent être choisies parmi le groupe « bureau » (0 pour 2 nécessaires)" in said
        assert "lancé" not in said and not [s for s in out if s.kind == "post"], "no draw that cannot be made"
        assert to_alice(await h.advance(timedelta(days=20))) == [], "said once"
        # The terms end: the role is empty, which the animateurs hear (again: it is news).
        out = await h.advance_to(datetime(2028, 1, 4, 10, 1, tzinfo=PARIS))
        (said,) = to_alice(out)
        assert "2 sièges vacants sur 2" in said and "trop peu de personnes" in said
        assert [(r["key"], r["ended_why"]) for r in await held(h)] == [("bob", "term"), ("chloe", "term")] or \
            [(r["key"], r["ended_why"]) for r in await held(h)] == [("chloe", "term"), ("bob", "term")]
        assert to_alice(await h.advance(timedelta(days=30))) == []


async def test_an_elected_role_is_proposed_at_its_notice_and_renewed_on_one_command(sqlite_url: str,
                                                                                   tmp_path: Path) -> None:
    role = 'term = "1 an"\nrenew_by = "election"\nmax_consecutive = 1\nnotice = "3 semaines"'
    async with Harness(config(role), sqlite_url, START, tmp_path) as h:
        (said,) = to_alice(h.sent)
        assert "Proposition : une élection sans candidat parmi #Général." in said
        assert f"mandat renouveler {ROLE}" in said and not [s for s in h.sent if s.kind == "post"]
        out = await h.say(f"alice: !reseau role donner @chloe {ROLE}")
        assert f"Chloe est nommé·e {ROLE} jusqu'au mardi 4 janvier 2028." in plain(out[0].text)

        out = await h.advance_to(datetime(2027, 12, 14, 10, 1, tzinfo=PARIS))
        (said,) = to_alice(out)
        assert "Chloe, jusqu'au mardi 4 janvier 2028 (fin du mandat)." in said
        assert "Ne peuvent pas être choisi·es cette fois (1 mandat de suite au plus) : Chloe." in said
        assert not [s for s in out if s.kind == "post"], "it waits for the animateurs"

        out = await h.say(f"alice: !reseau mandat renouveler {ROLE}")
        (call,) = [s for s in out if s.kind == "post"]
        assert ROLE in call.text
        (note,) = [s for s in out if s.kind == "note"]
        assert "Renouvellement de" in plain(note.text)
        again = await h.say(f"alice: !reseau mandat renouveler {ROLE}")
        assert "déjà en cours" in plain(again[0].text)
        for key in PEOPLE:
            if key != "bob":
                await h.say(f"[dm] {key}: !reseau election nommer bob parce qu'il connaît le comité")
        await h.advance(timedelta(days=2, minutes=1))
        out = await h.say("alice: !reseau election proposer bob")
        (proposal,) = [s for s in out if s.kind == "post" and s.choices]
        for key in PEOPLE:
            await h.say(f"{key}: ?{proposal.message_id} consent")
        await h.advance(timedelta(days=3))
        rows = await held(h)
        assert [(r["key"], r["how"], r["started_at"].astimezone(PARIS).date().isoformat()) for r in rows] == [
            ("chloe", "appointed", "2027-01-04"), ("bob", "election", "2028-01-04")]
        await h.advance_to(datetime(2028, 1, 4, 10, 1, tzinfo=PARIS))
        assert [(r["key"], r["ended_why"]) for r in await held(h)] == [("chloe", "replaced"), ("bob", None)]
        out = await h.say("dina: !reseau qui")
        assert "Bob (Org bob), élu·e (élection #1), jusqu'au jeudi 4 janvier 2029" in plain(out[0].text)


async def test_a_resignation_brings_in_the_reserve_until_it_runs_out(sqlite_url: str, tmp_path: Path) -> None:
    role = 'seats = 2\nterm = "1 an"\nrenew_by = "tirage"\npool = "general"'
    async with Harness(config(role, people=["alice", "bob", "chloe", "dina"]), sqlite_url, START, tmp_path) as h:
        await h.say(f'alice: !reseau mandat renouveler {ROLE}')
        await settle_draw(h, "res-1")
        holders = sorted(r["key"] for r in await held(h))
        leaving, staying = holders
        out = await h.say(f"{leaving}: !reseau mandat quitter {ROLE}")
        (offer,) = [s for s in out if s.kind == "dm" and s.choices]
        assert offer.recipient not in holders
        # (Alice may be the one offered the seat: the animateurs' note is the one about roles.)
        (said,) = [x for x in to_alice(out) if "Rôles et mandats" in x]
        assert f"{leaving.capitalize()} a quitté son mandat" in said and "liste de réserve du tirage #1" in said
        out = await h.say(f"[dm] {offer.recipient}: ?{offer.message_id} decline")
        offers = [s for s in out if s.kind == "dm" and s.choices]
        # The next on the list, if the list still has someone (the pool is four people).
        while offers:
            (nxt,) = offers
            assert nxt.recipient not in (leaving, staying, offer.recipient)
            out = await h.say(f"[dm] {nxt.recipient}: ?{nxt.message_id} decline")
            offers = [s for s in out if s.kind == "dm" and s.choices]
        (said,) = [x for x in to_alice(out) if "Rôles et mandats" in x]
        assert "Plus personne sur la liste de réserve du tirage" in said
        assert "Proposition : tirer au sort 1 personne parmi #Général." in said and "mandat renouveler" in said
        rows = await held(h)
        assert [r["ended_why"] for r in rows if r["reserve_rank"]] == ["decline"] * len(
            [r for r in rows if r["reserve_rank"]])
        assert [r["key"] for r in rows if r["status"] == "active"] == [staying]
        out = await h.say(f"bob: !reseau qui {ROLE}")
        assert "1 siège vacant" in plain(out[0].text)
