"""How much the bot interrupts (issue 15): a standard month of a network on the real engine and store with a fake clock, counted at the adapter boundary as Matrix delivers it, per member per month.

Run: `.venv/bin/python bench/noise.py [--sizes 20,60,200] [--seed 1] [--quick]`.

The month (February 2027, four weeks) and the way people answer are in bench/_month.py; the
network and its config (the product's defaults) in bench/_network.py; the recording adapter,
which declares the Matrix adapter's capabilities and keeps what Matrix would deliver, in
bench/_delivery.py. What is counted, for each member present the whole month:

- direct messages: every DirectMessage, and every PrivateNote and form fallback, which the
  Matrix adapter sends as a direct message (Slack shows those as ephemeral messages instead);
- mentions: a post or thread reply in a room the member is in that mentions them, i.e. whose
  text carries them as a mention parameter, which the Matrix adapter renders as a pill and
  lists in `m.mentions` (its own collector, `adapters.matrix.content.render`); a poll's
  question counts too, though Matrix sends it without `m.mentions`: the bot named them in
  public. Names the text lists as plain words (« ✅ Bob, Chloé » in a meeting reminder) are
  not mentions, and an edit's mentions are not counted again (an edit changes a message
  already seen);
- top-level posts: every post not in a thread in a room the member is in (everyone there sees
  it); an image sent after a post (the digest's chart) is one more top-level event;
- thread replies and edits in the member's rooms, shown but not counted as interruptions;
- interruptions = direct messages + mentions + top-level posts (a post that mentions someone
  counts twice for them, as the issue defines it).

These are the messages the bot addresses to people, not what a client's push rules let ring
(Matrix's default rules keep the bot's m.notice messages silent, yet they mark the room
unread and are there to read).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._delivery import Delivered
from bench._month import Month
from bench._network import MONTH_END, MONTH_START, Network, Person, network

TARGET = 15
"""Interruptions per member per month the issue allows, at every size."""
SIZES = (20, 60, 200)
FIGURES = ("dms", "mentions", "posts", "interruptions", "threads", "edits")
HEADERS = ("DMs", "mentions", "top-level posts", "interruptions", "thread replies", "edits")
INTERRUPTING = ("dms", "mentions", "posts", "interruptions")


class Source(NamedTuple):
    """What caused an interruption: the ritual, the message's catalog key, and how it reached people."""

    ritual: str
    key: str
    how: str


@dataclass
class Figures:
    """What reached one person during the month."""

    dms: int = 0
    mentions: int = 0
    posts: int = 0
    threads: int = 0
    edits: int = 0

    @property
    def interruptions(self) -> int:
        return self.dms + self.mentions + self.posts

    def value(self, name: str) -> int:
        return self.interruptions if name == "interruptions" else int(getattr(self, name))


@dataclass
class Result:
    size: int
    net: Network
    delivered: list[Delivered]
    votes: Counter[tuple[str, str]]
    seconds: float
    people: dict[str, Figures] = field(default_factory=dict)
    """User → what reached them (members and newcomers)."""
    sources: Counter[Source] = field(default_factory=Counter)
    """Interruptions each source caused to the members present all month; their sum is the
    members' total."""

    @property
    def members(self) -> tuple[Person, ...]:
        return self.net.members

    def mean(self, people: Iterable[Person], name: str) -> float:
        values = [self.people[p.user].value(name) for p in people]
        return sum(values) / len(values) if values else 0.0

    def worst(self) -> tuple[Person, Figures]:
        person = max(self.members, key=lambda p: (self.people[p.user].interruptions, p.key))
        return person, self.people[person.user]

    def sent(self) -> Counter[str]:
        """Messages the bot sent, by kind (an image after a post is one more message)."""
        out: Counter[str] = Counter(d.kind for d in self.delivered if d.kind != "react")
        out["image"] = sum(1 for d in self.delivered if d.image)
        return out

    def meets(self) -> bool:
        """Every member at or under the target, the most interrupted included."""
        return self.worst()[1].interruptions <= TARGET

    def mean_meets(self) -> bool:
        """The mean per member at or under the target (the issue's per-member figures are means)."""
        return self.mean(self.members, "interruptions") <= TARGET


def count(result: Result) -> Result:
    """Who each delivery reached, and which message caused each interruption."""
    net = result.net
    people = {p.user: Figures() for p in (*net.members, *net.newcomers)}
    initial = {p.user for p in net.members}

    def charge(user: str, d: Delivered, how: str) -> None:
        if user in initial:
            result.sources[Source(d.source, d.key, how)] += 1

    for d in result.delivered:
        if d.kind == "dm" and d.recipient in people:
            people[d.recipient].dms += 1
            charge(d.recipient, d, f"DM ({d.action})")
        elif d.kind in ("post", "thread", "edit"):
            for user in d.audience:
                f = people.get(user)
                if f is None:
                    continue
                if d.kind == "post":
                    # An image beside a top-level post goes in its thread (the Matrix adapter).
                    f.posts += 1
                    f.threads += d.image
                    charge(user, d, "top-level post")
                elif d.kind == "thread":
                    f.threads += 1 + d.image
                else:
                    f.edits += 1
            if d.kind != "edit":
                for user in d.mentions:
                    if user in d.audience and user in people:
                        people[user].mentions += 1
                        charge(user, d, "mention in a thread reply" if d.kind == "thread" else "mention in a post")
    result.people = people
    return result


async def measure(size: int, seed: int = 1, workdir: Path | None = None) -> Result:
    """One network's month, run and counted; its store lives in `workdir` (default: a
    temporary directory removed afterwards)."""
    started = time.perf_counter()
    net = network(size, random.Random(seed))
    if workdir is not None:
        month = Month(net, workdir, seed)
        delivered = await month.run()
    else:
        with tempfile.TemporaryDirectory(prefix="maillage-noise-") as tmp:
            month = Month(net, Path(tmp), seed)
            delivered = await month.run()
    return count(Result(size, net, delivered, month.votes, time.perf_counter() - started))


# --- the report ----------------------------------------------------------------------------


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(headers))]
    return [_row(headers), _row(align), *(_row(r) for r in rows)]


def size_table(r: Result) -> list[str]:
    """Per member per month, by group of people, for one size."""
    groups: list[tuple[str, Sequence[Person]]] = [
        ("all members (mean)", r.members),
        ("animateurs", r.net.animateurs),
        ("members who answer at once", [p for p in r.members if p.profile == "prompt" and not p.animateur]),
        ("members who answer late", [p for p in r.members if p.profile == "late"]),
        ("members who never answer", [p for p in r.members if p.profile == "never"]),
        ("newcomers (from when they join)", r.net.newcomers),
    ]
    rows = [[name, str(len(people)), *(f"{r.mean(people, f):.1f}" for f in FIGURES)] for name, people in groups]
    who, worst = r.worst()
    role = "animateur" if who.animateur else f"member who answers {'at once' if who.profile == 'prompt' else who.profile}"
    rows.append([f"most interrupted ({who.key}, {role})", "1", *(str(worst.value(f)) for f in FIGURES)])
    sent = r.sent()
    total = sum(sent.values())
    events = sum(d.events for d in r.delivered if d.kind != "react")
    verdict = ("meets it for every member" if r.meets()
               else "meets it by the mean, not for every member" if r.mean_meets() else "does not meet it")
    return [
        f"### {r.size} members ({r.seconds:.0f} s)",
        "",
        *_table(["who", "people", *HEADERS], rows, right_from=1),
        "",
        f"Bot messages: {total} ({total / r.size:.1f} per member): {sent['post']} top-level posts, "
        f"{sent['image']} images, {sent['thread']} thread replies, {sent['edit']} edits, {sent['dm']} direct messages; "
        f"{events} Matrix events; {sum(1 for d in r.delivered if d.kind == 'react')} reactions by the bot.",
        f"Target: at most {TARGET} interruptions per member per month: the mean is "
        f"{r.mean(r.members, 'interruptions'):.1f}, the most interrupted member {worst.interruptions}: "
        f"this size {verdict}.",
        "",
    ]


def growth(results: Sequence[Result]) -> list[str]:
    """Which per-member figure grows with the network's size (the issue wants none to)."""
    if len(results) < 2:
        return []
    small, large = results[0], results[-1]
    rows = []
    for name, header in zip(FIGURES, HEADERS, strict=True):
        values = [r.mean(r.members, name) for r in results]
        grows = values[-1] > values[0] * 1.10 + 0.5
        label = header if name in INTERRUPTING else f"{header} (not an interruption)"
        rows.append([label, *(f"{v:.1f}" for v in values), "grows" if grows else "flat"])
    return ["### Per member, as the network grows", "",
            *_table(["figure (mean per member)", *(f"{r.size}" for r in results), f"{small.size} → {large.size}"],
                    rows), ""]


def breakdown(results: Sequence[Result], limit: int = 25) -> list[str]:
    """Interruptions per member per month by the message that caused them, worst first
    (ordered by the largest size): where the next change should start."""
    last = results[-1]
    keys = sorted({k for r in results for k in r.sources}, key=lambda k: (-last.sources[k], k))
    total = max(1, sum(last.sources.values()))
    rows = [[k.ritual, f"`{k.key}`", k.how, *(f"{r.sources[k] / r.size:.2f}" for r in results),
             f"{last.sources[k] / total:.0%}"] for k in keys[:limit]]
    rest = keys[limit:]
    if rest:
        rows.append([f"{len(rest)} other sources", "", "",
                     *(f"{sum(r.sources[k] for k in rest) / r.size:.2f}" for r in results),
                     f"{sum(last.sources[k] for k in rest) / total:.0%}"])
    rows.append(["**total**", "", "", *(f"{sum(r.sources.values()) / r.size:.2f}" for r in results), "100%"])
    return ["### Where the interruptions come from (per member per month)", "",
            *_table(["ritual", "message", "how", *(f"{r.size}" for r in results), f"share at {last.size}"], rows,
                    right_from=3), ""]


def report(results: Sequence[Result], seed: int) -> str:
    lines = [
        f"Interruptions per member per month, {MONTH_START:%d %B %Y} to {MONTH_END:%d %B %Y} (4 weeks), seed {seed}.",
        "Delivery modelled: Matrix, as its adapter sends (the Matrix adapter's capabilities): choices as native polls,",
        "private notes and form fallbacks as direct messages (no ephemeral messages on Matrix; Slack would show them",
        "in the channel to one person), a post's image as an event of its own. Mentions: the members a new post or",
        "thread reply names as mentions (the adapter's pills and m.mentions; a poll's question names them as text).",
        "",
    ]
    for r in results:
        lines += size_table(r)
    lines += growth(results)
    lines += breakdown(results)
    for label, met in (("by the mean per member", [r.size for r in results if r.mean_meets()]),
                       ("for every member", [r.size for r in results if r.meets()])):
        lines.append(f"Target met {label} at: {', '.join(map(str, met)) if met else 'no size'}.")
    return "\n".join(lines)


async def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="network sizes (default 20,60,200)")
    ap.add_argument("--seed", type=int, default=1, help="the seed of the network and of people's habits")
    ap.add_argument("--quick", action="store_true", help="one network of 20 members")
    args = ap.parse_args(argv)
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",")]
    results = [await measure(size, args.seed) for size in sizes]
    print(report(results, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
