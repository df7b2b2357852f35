"""The benchmarks' standard network: N members on Matrix in organisations and territories, how each of them answers, and its config (the product's defaults, a meeting every two weeks, the weekly digest, the welcome and the charter reminder)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTH_START = datetime(2027, 2, 1, 0, 0, tzinfo=PARIS)
"""A Monday: the month is the four weeks of February 2027 (no change of the clocks in it)."""
MONTH_END = MONTH_START + timedelta(days=28)
SERVER = "bench.example"
ROOM = f"!general:{SERVER}"

Profile = Literal["prompt", "late", "never"]
PROFILES: tuple[tuple[Profile, float], ...] = (("prompt", 0.60), ("late", 0.25), ("never", 0.15))
"""How people answer: most at once, some late (after a reminder), some never."""

_FIRST = ("Amina", "Bruno", "Chloé", "David", "Élise", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karima",
          "Léo", "Manon", "Nadia", "Octave", "Pauline", "Quentin", "Rose", "Samir", "Théa", "Ulysse", "Valérie",
          "William", "Yasmine", "Zoé")
_LAST = ("Martin", "Bernard", "Petit", "Roux", "Moreau", "Garnier", "Fabre", "Chevalier", "Lambert", "Girard",
         "Mercier", "Blanc")
_ORG_KINDS = ("Association", "Coopérative", "Tiers-lieu", "Centre social", "Ressourcerie", "Mairie")
_PLACES = ("de Voiron", "du Grésivaudan", "de Vif", "de Moirans", "de Rives", "de Tullins", "de Crolles",
           "de Vizille", "d'Eybens", "de Saint-Égrève")
TERRITORIES = ("Nord", "Sud", "Est", "Ouest")


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    user: str
    """The Matrix user id."""
    organisation: str
    territory: str
    profile: Profile
    animateur: bool = False


@dataclass(frozen=True)
class Network:
    size: int
    members: tuple[Person, ...]
    """Those in the room from the start of the month (the configured members)."""
    newcomers: tuple[Person, ...]
    """People the network does not know yet, who join during the month."""

    @property
    def animateurs(self) -> tuple[Person, ...]:
        return tuple(p for p in self.members if p.animateur)

    def person(self, user: str) -> Person | None:
        return next((p for p in (*self.members, *self.newcomers) if p.user == user), None)


def _name(i: int) -> str:
    return f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"


def _organisation(i: int) -> str:
    kind = _ORG_KINDS[i % len(_ORG_KINDS)]
    place = _PLACES[(i // len(_ORG_KINDS)) % len(_PLACES)]
    lap = i // (len(_ORG_KINDS) * len(_PLACES))
    return f"{kind} {place}" + (f" {lap + 1}" if lap else "")


def _profile(rng: random.Random) -> Profile:
    roll = rng.random()
    for profile, share in PROFILES:
        if roll < share:
            return profile
        roll -= share
    return PROFILES[-1][0]


def network(size: int, rng: random.Random) -> Network:
    """`size` members in about `size / 5` organisations and four territories; the first
    animateurs (2, and one more per 60 members) always answer at once."""
    if size < 8 or size > len(_FIRST) * len(_LAST) - 3:
        raise ValueError(f"a network of {size} members is outside what the benchmark names (8 to 297)")
    animateurs = 2 + size // 60
    organisations = max(4, size // 5)
    members = []
    for i in range(size):
        key = f"m{i + 1:03d}"
        members.append(Person(
            key=key, name=_name(i), user=f"@{key}:{SERVER}", organisation=_organisation(rng.randrange(organisations)),
            territory=TERRITORIES[rng.randrange(len(TERRITORIES))],
            profile="prompt" if i < animateurs else _profile(rng), animateur=i < animateurs))
    newcomers = tuple(
        Person(key=f"new{j + 1}", name=_name(size + j), user=f"@new{j + 1}:{SERVER}",
               organisation=_organisation(rng.randrange(organisations)), territory=TERRITORIES[j % 4],
               profile=_profile(rng))
        for j in range(3))
    return Network(size, tuple(members), newcomers)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(net: Network) -> str:
    """The network's config: every ritual with the product's defaults, only what the month needs set."""
    people = "".join(
        f"\n[[members]]\nid = {_toml(p.key)}\nname = {_toml(p.name)}\naccounts = [{_toml('matrix:' + p.user)}]\n"
        f"organisation = {_toml(p.organisation)}\nterritoire = {_toml(p.territory)}\n"
        for p in net.members)
    animateurs = ", ".join(_toml(p.key) for p in net.animateurs)
    return f"""
[network]
name = "Réseau des tiers-lieux"
locale = "fr"
timezone = "Europe/Paris"
charter = "Nous partageons nos ressources et décidons ensemble par consentement."

[matrix]  # validated only: the bench's recording adapter stands for the homeserver
homeserver = "https://{SERVER}"
user_id = "@maillage:{SERVER}"
access_token_env = "MAILLAGE_BENCH_NOT_READ"

[[channels]]
id = "general"
platform = "matrix"
room = {_toml(ROOM)}
name = "Général"
{people}
[roles]
animateurs = [{animateurs}]

[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]

[[rituals]]
id = "agenda"
kind = "meeting"
channels = ["general"]

[[rituals.series]]
id = "pleniere"
title = "Réunion du réseau"
rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
time = "18:00"
place = "Maison des associations"
start = 2027-02-09

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]

[[rituals]]
id = "accueil"
kind = "welcome"
channels = ["general"]
"""
