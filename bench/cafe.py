"""The café-réseau over a year: 12 monthly rounds, 60 members in 15 organisations and 10 newcomers
arriving during the year, paired by the ritual's own code; what it promises, counted and printed.

    .venv/bin/python bench/cafe.py              # --seed 1
    .venv/bin/python bench/cafe.py --seeds 20   # the same figures summed over 20 seeds

The ritual is driven as the engine drives it (`Started`, `cafe oui`/`cafe non` commands, `Joined`
for each newcomer, its monthly timer), its answers kept as rows the way the store keeps them.
Members are half on Matrix, half on Slack, each in one of 5 territories (seeded); 48 of the 60
opt in at first, each newcomer opts in on arrival, and before each round 3 members (seeded)
change their mind. Per round the script reads the pairs the ritual remembered (its state) and
counts:
- pairs inside one organisation (must be 0);
- pairs repeated while an unrepeated pairing existed (must be 0): when a round repeats a pair,
  whether the round's opted-in members could all be paired (all but one when odd) by pairs that
  never met, i.e. the maximum-cardinality matching of the graph without the pairs that met
  before (`scenarios.cafe.pairing.fresh_matching_exists`) is perfect.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.kernel.answers import Answer, Answers
from bot.kernel.model import (
    Command,
    DirectMessage,
    Event,
    Joined,
    Member,
    RecordAnswer,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import ChannelInfo, Context, Directory, NetworkInfo
from scenarios.cafe import KIND, CafeState
from scenarios.cafe.commands import JOIN, LEAVE
from scenarios.cafe.kind import TIMER
from scenarios.cafe.pairing import Person, fresh_matching_exists

TZ = ZoneInfo("Europe/Paris")
START = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
TERRITORIES = ("Nord", "Sud", "Est", "Ouest", "Centre")
ORGS = 15
FOUNDERS = 60
NEWCOMERS = 10
ROUNDS = 12
NEWCOMER_DAYS = 90
CONFIG = {"rrule": "FREQ=MONTHLY;BYDAY=1MO", "time": "10:00", "newcomer_days": NEWCOMER_DAYS}


@dataclass
class Round:
    day: str
    people: int
    groups: int
    trios: int
    alone: int
    same_org: int
    repeated: int
    avoidable: int
    """Repeated pairs while an unrepeated pairing of the same people existed."""
    newcomers: int
    newcomers_with_elder: int
    cross_territory: int
    pairs: int
    cross_platform: int
    dms: int
    seconds: float


@dataclass
class Year:
    rounds: list[Round] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(r, name)) for r in self.rounds)


@dataclass
class Network:
    """The simulated network: its members, who is in the channel, the answers kept as rows."""

    members: dict[str, Member] = field(default_factory=dict)
    rows: list[Answer] = field(default_factory=list)

    def context(self, need: str, member: str | None, present: set[str]) -> Context:
        current = [a for a in self.rows if a.current]
        answers = (Answers(current, "all") if need == "all"
                   else Answers([a for a in current if a.member == member], "member", member) if need == "member"
                   else Answers())
        return Context(
            network=NetworkInfo(name="Réseau simulé", locale="fr", timezone=TZ.key),
            directory=Directory(members=dict(self.members), channel_members={"general": sorted(present)}),
            channels={"general": ChannelInfo("general", "Général", "matrix")},
            config=CONFIG, ritual_channels=("general",), answers=answers)

    def keep(self, a: RecordAnswer, at: datetime) -> None:
        self.rows = [r.model_copy(update={"superseded_at": at})
                     if r.current and (r.topic, r.member) == (a.topic, a.member) else r for r in self.rows]
        self.rows.append(Answer(topic=a.topic, member=a.member, value=a.value, at=at))

    def opted(self) -> set[str]:
        return {a.member for a in self.rows if a.current and a.value == "yes" and a.member is not None}


def simulate(seed: int = 1, *, founders: int = FOUNDERS, orgs: int = ORGS, newcomers: int = NEWCOMERS,
             opted: int = 48, rounds: int = ROUNDS, changes: int = 3) -> Year:
    rng = random.Random(seed)  # the simulation's own generator: who opts in, who arrives when
    net = Network()
    platforms = ("matrix", "slack")
    for i in range(founders + newcomers):
        key = f"p{i:02d}"
        platform = platforms[i % 2]
        handle = f"@{key}:tiers-lieux.example" if platform == "matrix" else f"U{i:04d}"
        net.members[key] = Member(key=key, name=f"Personne {i:02d}", account=f"{platform}:{handle}",
                                  organisation=f"Organisation {i % orgs + 1:02d}",
                                  attributes={"territoire": rng.choice(TERRITORIES)})
    first = sorted(net.members)[:founders]
    later = sorted(net.members)[founders:]
    present = set(first)
    arrivals = sorted((START + timedelta(days=rng.randrange(20, 330), hours=rng.randrange(8, 20)), k)
                      for k in later)

    state: CafeState = KIND.initial_state()
    due: datetime | None = None
    year = Year()

    def send(event: Event, now: datetime, member: str | None = None) -> list[Any]:
        nonlocal state, due
        need = KIND.answers_needed(state, event, now)
        ctx = net.context(need, member, present)
        state, actions = KIND.bind(ctx).handle(state, event, now)
        for a in actions:
            if isinstance(a, RecordAnswer):
                net.keep(a, now)
            elif isinstance(a, SetTimer) and a.name == TIMER:
                due = a.due_at
        return actions

    def command(key: str, spec_name: str, now: datetime) -> None:
        send(Command(member=net.members[key], name=spec_name, channel="dm"), now, key)

    send(Started(), START)
    for key in rng.sample(first, opted):
        command(key, JOIN.name, START)
    for _ in range(rounds):
        assert due is not None
        when = due
        for came, key in [a for a in arrivals if a[0] < when]:
            present.add(key)
            send(Joined(member=net.members[key], channel="general"), came)
            command(key, JOIN.name, came)
        arrivals = [a for a in arrivals if a[0] >= when]
        for key in rng.sample(sorted(present), changes):
            command(key, LEAVE.name if key in net.opted() else JOIN.name, when - timedelta(days=1))
        pool = sorted(net.opted() & present)
        met_before = {(m.a, m.b): state.rounds + 1 - m.last for m in state.met}
        arrived = {a.member: a.at for a in state.arrived}
        newcomer_keys = {k for k in pool if k in arrived and when - arrived[k] <= timedelta(days=NEWCOMER_DAYS)}
        t0 = time.perf_counter()
        actions = send(TimerFired(name=TIMER, due_at=when), when)
        seconds = time.perf_counter() - t0
        number = state.rounds
        this = [(m.a, m.b) for m in state.met if m.last == number]
        groups = _groups(this)
        repeated = [p for p in this if p in met_before]
        people = [Person(k, net.members[k].organisation, net.members[k].attributes["territoire"], k in newcomer_keys)
                  for k in pool]
        avoidable = len(repeated) if repeated and fresh_matching_exists(people, met_before, "check") else 0
        org = {k: net.members[k].organisation for k in pool}
        terr = {k: net.members[k].attributes["territoire"] for k in pool}
        plat = {k: net.members[k].account.split(":", 1)[0] for k in pool}
        with_elder = {k for a, b in this for k in (a, b)
                      if k in newcomer_keys and ({a, b} - {k}).pop() not in newcomer_keys}
        year.rounds.append(Round(
            day=when.astimezone(TZ).date().isoformat(), people=len(pool), groups=len(groups),
            trios=sum(1 for g in groups if len(g) == 3), alone=len(pool) - sum(len(g) for g in groups),
            same_org=sum(1 for a, b in this if org[a] == org[b]), repeated=len(repeated), avoidable=avoidable,
            newcomers=len(newcomer_keys), newcomers_with_elder=len(with_elder),
            cross_territory=sum(1 for a, b in this if terr[a] != terr[b]), pairs=len(this),
            cross_platform=sum(1 for a, b in this if plat[a] != plat[b]),
            dms=sum(1 for a in actions if isinstance(a, DirectMessage)), seconds=seconds))
    return year


def _groups(pairs: list[tuple[str, str]]) -> list[set[str]]:
    """The round's groups from its pairs (a trio is three pairs sharing people)."""
    groups: list[set[str]] = []
    for a, b in pairs:
        into = [g for g in groups if a in g or b in g]
        merged = {a, b}.union(*into)
        groups = [g for g in groups if g not in into] + [merged]
    return groups


def table(year: Year) -> str:
    head = ("| round | opted in | cafés (trios) | alone | newcomers (with an elder) | pairs across territories "
            "| across platforms | same organisation | repeated | repeated while avoidable | matching (s) |")
    lines = [head, "|" + "---|" * 11]
    for r in year.rounds:
        lines.append(f"| {r.day} | {r.people} | {r.groups} ({r.trios}) | {r.alone} | {r.newcomers} "
                     f"({r.newcomers_with_elder}) | {r.cross_territory}/{r.pairs} | {r.cross_platform}/{r.pairs} "
                     f"| {r.same_org} | {r.repeated} | {r.avoidable} | {r.seconds:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=0, help="sum the two figures over seeds 1..N")
    args = parser.parse_args()
    year = simulate(args.seed)
    print(f"### {ROUNDS} rounds, {FOUNDERS} members in {ORGS} organisations, {NEWCOMERS} newcomers (seed {args.seed})")
    print()
    print(table(year))
    print()
    print(f"pairs inside one organisation: {year.total('same_org')}")
    print(f"pairs repeated while an unrepeated pairing existed: {year.total('avoidable')}")
    print(f"pairs repeated at all: {year.total('repeated')}")
    if args.seeds:
        years = [simulate(s) for s in range(1, args.seeds + 1)]
        print(f"over seeds 1..{args.seeds}: inside one organisation {sum(y.total('same_org') for y in years)}, "
              f"repeated while avoidable {sum(y.total('avoidable') for y in years)}, "
              f"repeated at all {sum(y.total('repeated') for y in years)}")


if __name__ == "__main__":
    main()
