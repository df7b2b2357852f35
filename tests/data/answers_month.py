"""A month of a network's rituals in two halves, for migration 0008's test (answers carried out
of the rituals' states into rows).

`before_snapshot` ran on the release before answers were rows (commit 7a86c5b, the store at
revision 0007) and left a store with every kind of answer in the rituals' states: closed, amended
and anonymous decisions, one still open with an objection, a meeting's attendance, RSVPs to the
next meeting, a draw with its seed and acceptances, an election taking nominations.
`after_snapshot` is what happens next; it ran there too, and its outcome is kept in
tests/data/answers_0007.json beside the store (`make_answers_0007.py` wrote both). The test runs
`after_snapshot` on the upgraded store with today's code and expects the same outcome.

Only the harness and chat lines: this module runs unchanged on both releases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.console import Sent
from bot.store import schema as t
from scenarios.sortition.seed import commitment_of
from tests.harness import Harness

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 2, 1, 9, 0, tzinfo=PARIS)
"""Monday 1 February 2027."""
SNAPSHOT = datetime(2027, 2, 16, 12, 0, tzinfo=PARIS)
END = datetime(2027, 2, 26, 9, 0, tzinfo=PARIS)

PEOPLE = [
    ("alice", "Alice Martin", "La Ruche", "Nord"), ("bob", "Bob Leroy", "Le Jardin", "Sud"),
    ("chloe", "Chloé Petit", "La Ruche", "Sud"), ("dina", "Dina Haddad", "Le Four", "Est"),
    ("eloi", "Éloi Garnier", "Le Four", "Nord"), ("fanny", "Fanny Roux", "La Grange", "Est"),
]

CONFIG = """
[network]
name = "Réseau des tiers-lieux"
locale = "fr"
timezone = "Europe/Paris"
charter = "Nous coopérons pour que chaque territoire ait un tiers-lieu vivant."

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[roles]
animateurs = ["alice"]

[defaults.draw]
min_contributors = 2
commit_hours = 24
reveal_hours = 12
accept_hours = 48
rotation = 1

[defaults.election]
change = "1j"

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"

[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
leads = ["1d"]
personal_leads = []

[[rituals.series]]
id = "comite"
title = "Comité"
rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
time = "18:00"
start = "2027-02-01"
place = "Maison des associations, Voiron"
""" + "".join(
    f'\n[[members]]\nid = "{key}"\nname = "{name}"\naccounts = ["console:{key}"]\norganisation = "{org}"\n'
    f'territoire = "{terr}"\n' for key, name, org, terr in PEOPLE)


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 2, d, hour, minute, tzinfo=PARIS)


def _proposal(out: list[Sent]) -> str:
    (p,) = [s for s in out if s.kind == "post" and s.choices]
    return p.message_id


async def before_snapshot(h: Harness) -> dict[str, str]:
    """Up to the snapshot; returns the ids of the messages the second half answers."""
    d1 = _proposal(await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à mercredi 18h"))
    for who, choice in (("bob", "consent"), ("chloe", "concern le calendrier est serré"), ("dina", "consent"),
                        ("eloi", "stand_aside")):
        await h.say(f"{who}: ?{d1} {choice}")
    d2 = _proposal(await h.say("alice: !reseau decision « Budget 2027 » jusqu'à mardi 18h"))
    await h.say(f"bob: ?{d2} objection")
    await h.say(f"bob: > {d2} le budget n'est pas chiffré")
    await h.say(f"chloe: ?{d2} consent")
    d3 = _proposal(await h.say("alice: !reseau decision « Changer de nom » jusqu'à jeudi 18h anonyme"))
    await h.say(f"bob: ?{d3} consent")
    await h.say(f"chloe: ?{d3} objection trop tôt pour en décider")
    await h.say(f"dina: ?{d3} consent")
    # Tuesday: the budget's objection stands; the committee meets (Bob came, Chloé did not).
    out = await h.advance_to(day(2, 20, 1))
    (question,) = [s for s in out if s.kind == "post" and "Qui était là" in s.text]
    for who, came in (("alice", "came"), ("bob", "came"), ("chloe", "missed"), ("dina", "came")):
        await h.say(f"{who}: ?{question.message_id} {came}")
    await h.advance_to(day(3, 9))
    v2 = _proposal(await h.say("alice: !reseau amender #2 « Budget 2027, chiffré » jusqu'à vendredi 18h"))
    for who in ("bob", "chloe", "fanny"):
        await h.say(f"{who}: ?{v2} consent")
    await h.advance_to(day(8, 10))
    # A draw of two delegates with a shared seed; the first drawn declines.
    out = await h.say('alice: !reseau tirage 2 territoire<=1 role "délégué·e régional·e"')
    (announce,) = [s for s in out if s.kind == "post" and s.choices]
    await h.say(f"bob: ?{announce.message_id} contribute")
    await h.say("[dm] bob: les poules ont des dents")
    await h.say(f"chloe: !reseau tirage graine {commitment_of('tournesol')}")
    await h.advance_to(day(9, 10, 1))
    out = await h.say("chloe: !reseau tirage révéler tournesol")
    first, *others = [s for s in out if s.kind == "dm" and s.choices]
    out = await h.say(f"[dm] {first.recipient}: ?{first.message_id} decline")
    for s in [*others, *[s for s in out if s.kind == "dm" and s.choices]]:
        await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
    # An election: nominations until Wednesday.
    await h.advance_to(day(15, 10))
    await h.say("alice: !reseau election « trésorier·e » jusqu'à mercredi 18h")
    for who, whom, why in (("bob", "dina", "elle tient déjà les comptes"), ("chloe", "dina", "elle est rigoureuse"),
                           ("eloi", "fanny", "elle a du temps")):
        await h.say(f"[dm] {who}: !reseau election nommer {whom} parce qu'{why}")
    await h.say("[dm] fanny: !reseau election nommer eloi")  # the reason comes later
    # The reminder of Tuesday's committee: who comes.
    out = await h.advance_to(day(15, 18, 1))
    (reminder,) = [s for s in out if s.kind == "post" and s.choices]
    for who, answer in (("bob", "yes"), ("chloe", "no"), ("dina", "maybe"), ("eloi", "yes"), ("eloi", "no")):
        await h.say(f"{who}: ?{reminder.message_id} {answer}")
    # A decision still open at the snapshot, with an objection and a changed answer.
    d4 = _proposal(await h.say("alice: !reseau decision « Ouvrir le samedi » jusqu'au 22 février 18h"))
    for who, choice in (("bob", "consent"), ("chloe", "objection pas assez de bénévoles"), ("dina", "concern"),
                        ("dina", "consent"), ("fanny", "stand_aside")):
        await h.say(f"{who}: ?{d4} {choice}")
    await h.advance_to(SNAPSHOT)
    return {"d4": d4}


@dataclass
class Outcome:
    """What the second half shows: the bot's answers to `decisions`, the posts (the digest, the
    attendance question, outcomes) and every record, in order."""

    answers: dict[str, str] = field(default_factory=dict)
    posts: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


async def _log(h: Harness, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.log.c.id, t.log.c.kind, t.log.c.summary).where(t.log.c.id > after)
                                   .order_by(t.log.c.id))).all()
    return [(r.id, r.kind, dict(r.summary)) for r in rows]


async def after_snapshot(h: Harness, ids: dict[str, str]) -> Outcome:
    o = Outcome()
    start = len(h.sent)
    logged = max((i for i, _, _ in await _log(h)), default=0)

    async def ask(line: str) -> None:
        (answer,) = [s for s in await h.say(line) if s.recipient == line.split(":", 1)[0]]
        o.answers[f"{h.clock.now():%d %H:%M} {line}"] = answer.text

    for n in ("", " #1", " #2", " #3", " #4"):
        await ask(f"bob: !reseau decisions{n}")
    await h.say("[dm] fanny: parce qu'il connaît les comptes")
    # Tuesday's committee: who said yes is asked whether they came.
    out = await h.advance_to(day(16, 20, 1))
    (question,) = [s for s in out if s.kind == "post" and "Qui était là" in s.text]
    for who, came in (("bob", "came"), ("eloi", "came"), ("fanny", "came")):
        await h.say(f"{who}: ?{question.message_id} {came}")
    await h.say(f"dina: ?{ids['d4']} objection")
    # The nominations are revealed; one changes in the change round.
    await h.advance_to(day(17, 18, 1))
    await h.say("[dm] eloi: !reseau election changer dina parce qu'elle a plus d'expérience")
    await h.advance_to(day(18, 18, 2))
    ballot = _proposal(await h.say("alice: !reseau election proposer dina"))
    for who in ("alice", "bob", "chloe"):
        await h.say(f"{who}: ?{ballot} consent")
    await h.advance_to(END)
    for n in ("", " #4"):
        await ask(f"bob: !reseau decisions{n}")
    o.posts = [s.text for s in h.sent[start:] if s.kind == "post"]
    o.records = [{"kind": kind, "summary": summary} for _, kind, summary in await _log(h, logged)]
    return o
