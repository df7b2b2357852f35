"""Rotating meeting roles over a year: 26 meetings, 12 regular attendees with seeded absences, the
roles given by the meetings ritual's own code (rotation, then a seeded draw), the turns and the
spread between the most and least frequent holders printed per role.

    .venv/bin/python bench/meeting_roles.py            # --seed 1 --meetings 26 --people 12
    .venv/bin/python bench/meeting_roles.py --seeds 200   # the worst spread over 200 seeds

Each meeting, every attendee comes with their own attendance rate (0.70 to 0.95, seeded); the
roles are given among those who come by `scenarios.meeting.roles.assign`, seeded by the
meeting's key as the ritual does; one holder in 20 says they are absent after the roles were
given and is replaced by `replace_holder`, as when an RSVP changes to absent; each held meeting
is remembered by `record`, as the ritual does when the meeting is held.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.meeting.roles import RolesBy, assign, record, replace_holder

ROLES = ("facilitation", "secrétariat")
NAMES = ("Amina", "Bruno", "Chloé", "Dina", "Éloi", "Fanny", "Gaël", "Hugo", "Inès", "Jules", "Karim", "Léa",
         "Malik", "Nora", "Oscar", "Paula")
FIRST = date(2027, 1, 12)


@dataclass(frozen=True)
class Year:
    """Who held which role at each meeting, and how often each person came."""

    by: RolesBy
    people: tuple[str, ...]
    turns: dict[str, dict[str, int]]
    """Role → person → turns held."""
    came: dict[str, int]
    unfilled: int

    def spread(self, role: str) -> int:
        counts = [self.turns[role].get(p, 0) for p in self.people]
        return max(counts) - min(counts)


def simulate(by: RolesBy, seed: int = 1, meetings: int = 26, people: int = 12) -> Year:
    """A year of meetings every two weeks; the absences are the same for both ways of giving roles
    (the attendance generator is seeded apart from the roles)."""
    names = tuple(NAMES[:people])
    attendance = random.Random(seed)
    rate = {p: attendance.uniform(0.70, 0.95) for p in names}
    history: dict[str, dict[str, int]] = {}
    turns: dict[str, dict[str, int]] = {r: {} for r in ROLES}
    came = dict.fromkeys(names, 0)
    unfilled = 0
    for n in range(1, meetings + 1):
        key = f"comite.{FIRST + timedelta(weeks=2 * (n - 1)):%Y%m%d}"
        present = [p for p in names if attendance.random() < rate[p]]
        given = assign(ROLES, present, history, key, by)
        if given and attendance.random() < 0.05 * len(given):
            # A holder says they are absent after all: the next in rotation takes the role.
            role = attendance.choice(sorted(given))
            gone = given[role]
            present = [p for p in present if p != gone]
            given = replace_holder(given, role, present, history, key, by)
        for p in present:
            came[p] += 1
        unfilled += len(ROLES) - len(given)
        for role, person in given.items():
            turns[role][person] = turns[role].get(person, 0) + 1
        record(history, given, n)
    return Year(by, names, turns, came, unfilled)


def report(years: list[Year], meetings: int) -> str:
    lines: list[str] = []
    people = years[0].people
    for role in ROLES:
        lines.append(f"### {role}: turns per person over {meetings} meetings\n")
        lines.append("| person | meetings attended | " + " | ".join(y.by for y in years) + " |")
        lines.append("| --- | ---: | " + " | ".join("---:" for _ in years) + " |")
        for p in people:
            lines.append(f"| {p} | {years[0].came[p]} | " + " | ".join(str(y.turns[role].get(p, 0)) for y in years) + " |")
        lines.append("| **spread (max − min)** |  | " + " | ".join(f"**{y.spread(role)}**" for y in years) + " |\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--meetings", type=int, default=26)
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=0, help="also the worst spread over seeds 1..N")
    args = parser.parse_args()
    years = [simulate(by, args.seed, args.meetings, args.people) for by in ("rotation", "tirage")]
    print(f"Meeting roles: {args.meetings} meetings, {args.people} regular attendees, seed {args.seed}.\n")
    print(report(years, args.meetings))
    if args.seeds:
        for by in ("rotation", "tirage"):
            spreads = [max(simulate(by, s, args.meetings, args.people).spread(r) for r in ROLES)
                       for s in range(1, args.seeds + 1)]
            hist = {v: spreads.count(v) for v in sorted(set(spreads))}
            print(f"{by}: the larger spread of the two roles over seeds 1..{args.seeds}: worst {max(spreads)}, "
                  f"mean {sum(spreads) / len(spreads):.2f}, seeds per spread {hist}")


if __name__ == "__main__":
    main()
