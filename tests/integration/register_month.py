"""A scripted month of a network's rituals through the real engine, store and console adapter on
a fake clock (February 2027), for the register's tests: three decisions (one with a réserve, one
amended after an objection, one anonymous), a draw with its commit–reveal and a decline, an
election without candidates, two committee meetings with their attendance, and at the end a
member who asks to be forgotten."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import Sent
from scenarios.sortition.seed import commitment_of
from tests.harness import Harness

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 2, 1, 9, 0, tzinfo=PARIS)
"""Monday 1 February 2027."""

PEOPLE = [
    ("alice", "Alice Martin", "La Ruche", "Nord"), ("bob", "Bob Leroy", "Le Jardin", "Sud"),
    ("chloe", "Chloé Petit", "La Ruche", "Sud"), ("dina", "Dina Haddad", "Le Four", "Est"),
    ("eloi", "Éloi Garnier", "Le Four", "Nord"), ("fanny", "Fanny Roux", "La Grange", "Est"),
    ("gael", "Gaël Morel", "Le Jardin", "Nord"), ("hugo", "Hugo Faure", "L'Atelier", "Sud"),
]
FORGOTTEN = "Hugo Faure"


def config(visibility: str = "public", secret_env: str | None = None) -> str:
    registre = f'[registre]\nvisibility = "{visibility}"\nbase_url = "https://reseau.example.org"\n'
    if secret_env:
        registre += f'secret_env = "{secret_env}"\nlink_days = 7\n'
    return f"""
[network]
name = "Réseau des tiers-lieux"
locale = "fr"
timezone = "Europe/Paris"
charter = "Nous coopérons pour que chaque territoire ait un tiers-lieu vivant, ouvert à toutes et à tous."

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

{registre}
[roles]
animateurs = ["alice"]
"trésorerie" = ["dina"]

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
        f'\n[[members]]\nid = "{key}"\nname = "{name}"\naccounts = ["console:{key}"]\n'
        f'organisation = "{org}"\nterritoire = "{terr}"\n'
        for key, name, org, terr in PEOPLE)


@dataclass
class Month:
    """What the month did, for the tests to check the register against."""

    answers: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)
    """(decision, version) → member key → choice, for rounds that are not anonymous."""
    anonymous: dict[int, dict[str, int]] = field(default_factory=dict)
    """Anonymous decision → its counts."""
    nominations: list[tuple[str, str]] = field(default_factory=list)
    """(who, whom) of the election, in order."""
    final_panel: list[str] = field(default_factory=list)
    present: dict[int, set[str]] = field(default_factory=dict)
    """Meeting number → who came."""
    posts: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    """Everything the bot posted in the channel, in order."""


def _proposal(out: list[Sent]) -> str:
    (p,) = [s for s in out if s.kind == "post" and s.choices]
    return p.message_id


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 2, d, hour, minute, tzinfo=PARIS)


async def run_month(store_url: str, tmp: Path, visibility: str = "public", secret_env: str | None = None) -> Month:
    m = Month()
    async with Harness(config(visibility, secret_env), store_url, START, tmp) as h:
        await h.say('bob: !reseau ordre-du-jour « Budget 2027 »')
        # Decision 1: adopted, with a réserve and someone standing aside.
        d1 = _proposal(await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à mercredi 18h"))
        m.answers[(1, 1)] = {"bob": "consent", "chloe": "concern", "dina": "consent", "eloi": "stand_aside",
                             "fanny": "consent"}
        for who, choice in m.answers[(1, 1)].items():
            # Chloé says why she has a réserve: the register keeps it beside the objections.
            await h.say(f"{who}: ?{d1} {choice}" + (" le calendrier est serré" if who == "chloe" else ""))
        # Decision 2: an objection with its reason, then an amended version, adopted.
        d2 = _proposal(await h.say("alice: !reseau decision « Budget 2027 » jusqu'à mardi 18h"))
        await h.say(f"bob: ?{d2} objection")
        await h.say(f"bob: > {d2} le budget n'est pas chiffré")
        await h.say(f"chloe: ?{d2} consent")
        await h.say(f"gael: ?{d2} consent")
        m.answers[(2, 1)] = {"bob": "objection", "chloe": "consent", "gael": "consent"}
        # Decision 3: anonymous; an objection closes it without adoption.
        d3 = _proposal(await h.say("alice: !reseau decision « Changer de nom » jusqu'à jeudi 18h anonyme"))
        await h.say(f"bob: ?{d3} consent")
        await h.say(f"chloe: ?{d3} objection trop tôt pour en décider")
        await h.say(f"dina: ?{d3} consent")
        m.anonymous[3] = {"consent": 2, "concern": 0, "objection": 1, "stand_aside": 0}

        # Tuesday: the budget round closes; the committee meets (Bob came, Chloé did not).
        out = await h.advance_to(day(2, 20, 1))
        (question,) = [s for s in out if s.kind == "post" and "Qui était là" in s.text]
        for who, came in (("alice", "came"), ("bob", "came"), ("chloe", "missed"), ("dina", "came"),
                          ("hugo", "came")):
            await h.say(f"{who}: ?{question.message_id} {came}")
        m.present[1] = {"alice", "bob", "dina", "hugo"}
        await h.advance_to(day(3, 9))
        await h.say("alice: !reseau reunion cr https://pad.example.org/comite-fevrier")
        v2 = _proposal(await h.say("alice: !reseau amender #2 « Budget 2027, chiffré poste par poste » jusqu'à vendredi 18h"))
        m.answers[(2, 2)] = {"bob": "consent", "chloe": "consent", "hugo": "consent"}
        for who, choice in m.answers[(2, 2)].items():
            await h.say(f"{who}: ?{v2} {choice}")
        await h.advance_to(day(8, 10))

        # A draw of two delegates, one per territory at most, with a shared seed.
        out = await h.say('alice: !reseau tirage 2 territoire<=1 role "délégué·e régional·e"')
        (announce,) = [s for s in out if s.kind == "post" and s.choices]
        await h.say(f"bob: ?{announce.message_id} contribute")
        await h.say("[dm] bob: les poules ont des dents")
        await h.say(f"chloe: !reseau tirage graine {commitment_of('tournesol')}")
        await h.advance(timedelta(hours=24, minutes=1))
        out = await h.say("chloe: !reseau tirage révéler tournesol")
        asks = [s for s in out if s.kind == "dm" and s.choices]
        first, *others = asks
        out = await h.say(f"[dm] {first.recipient}: ?{first.message_id} decline")
        for s in [*others, *[s for s in out if s.kind == "dm" and s.choices]]:
            await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
        await h.advance_to(day(15, 10))

        # An election without candidates: nominations, a change of mind, consent on Dina.
        await h.say("alice: !reseau election « trésorier·e » jusqu'à mercredi 18h")
        for who, whom, why in (("bob", "dina", "elle tient déjà les comptes"),
                               ("chloe", "dina", "elle est rigoureuse"), ("eloi", "fanny", "elle a du temps")):
            await h.say(f"[dm] {who}: !reseau election nommer {whom} parce qu'{why}")
            m.nominations.append((who, whom))
        # The second committee meeting.
        out = await h.advance_to(day(16, 20, 1))
        (question,) = [s for s in out if s.kind == "post" and "Qui était là" in s.text]
        for who, came in (("alice", "came"), ("bob", "came"), ("eloi", "came"), ("fanny", "came"),
                          ("gael", "missed")):
            await h.say(f"{who}: ?{question.message_id} {came}")
        m.present[2] = {"alice", "bob", "eloi", "fanny"}
        await h.advance_to(day(17, 18, 1))
        await h.say("[dm] eloi: !reseau election changer dina parce qu'elle a plus d'expérience")
        await h.advance_to(day(18, 18, 2))
        out = await h.say("alice: !reseau election proposer dina")
        ballot = _proposal(out)
        for who in ("alice", "bob", "chloe", "eloi", "fanny"):
            await h.say(f"{who}: ?{ballot} consent")
        # Three days for the election's round to close; the month ends.
        await h.advance_to(day(28, 9))
        # Hugo asks to be forgotten: the register shows a pseudonym wherever he was.
        await h.say("[dm] hugo: !reseau oublie-moi confirmer")
        m.posts = [s.text for s in h.sent if s.kind == "post"]
        m.edits = [s.text for s in h.sent if s.kind == "edit"]
    return m
