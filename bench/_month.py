"""A standard month of a network on the real engine and store with a fake clock: the animateurs' commands, the rituals' own timers, and members answering what the bot sends them as people do (most at once, some late, some never), from a seeded generator so that a run is reproducible."""

from __future__ import annotations

import heapq
import random
import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bench._delivery import Delivered, MatrixDelivery
from bench._network import MONTH_END, MONTH_START, PARIS, ROOM, Network, Person, config_text
from bot.cli.adapters import platform_configs
from bot.config import validate
from bot.engine import Engine
from bot.kernel.clock import FakeClock
from bot.kernel.model import (
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
)
from bot.store import open_store
from scenarios import registry
from scenarios.sortition.seed import commitment_of


def day(d: int, hour: int, minute: int = 0) -> datetime:
    """An instant of February 2027, in the network's time."""
    return datetime(2027, 2, d, hour, minute, tzinfo=PARIS)


MEETINGS = (day(9, 18), day(23, 18))
"""The two meetings of the month's series (every other Tuesday at 18:00)."""
CONSENT_CHOICES = (("consent", 0.78), ("concern", 0.12), ("stand_aside", 0.10))
ELECTION_CHOICES = (("consent", 0.85), ("concern", 0.10), ("stand_aside", 0.05))
RSVP_CHOICES = (("yes", 0.55), ("no", 0.30), ("maybe", 0.15))
RSVP_EMOJI = {"yes": "✅", "no": "❌", "maybe": "🤔"}
CANDIDATE_WEIGHTS = (0.45, 0.25, 0.20, 0.10)


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    act: Callable[[], Awaitable[None]] = field(compare=False)


class Month:
    """One network's month. `run()` returns everything the bot delivered, in order."""

    def __init__(self, net: Network, tmp: Path, seed: int) -> None:
        self.net = net
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.clock = FakeClock(MONTH_START)
        self.config = validate(tomllib.loads(config_text(net)), registry(), tmp / "noise.toml", platform_configs())
        self.adapter = MatrixDelivery({ROOM: [(p.user, p.name) for p in net.members]}, self.clock.now)
        self.adapter.listeners.append(self._react)
        self.engine: Engine | None = None
        self._agenda: list[_Step] = []
        self._seq = 0
        self._events = 0
        a = net.animateurs
        self.lead, self.second = a[0], a[1 % len(a)]
        ordinary = [p for p in net.members if not p.animateur and p.profile == "prompt"]
        if len(ordinary) < 6:
            raise ValueError("the month needs six members who answer at once besides the animateurs "
                             "(an objector, a public contributor to the draw, four candidates)")
        picks = self.rng.sample(ordinary, 6)
        self.objector, self.public_seed = picks[0], picks[1]
        self.candidates = picks[2:6]
        self.rsvp: dict[datetime, dict[str, str]] = {m: {} for m in MEETINGS}
        self.nominations: dict[str, str] = {}
        self.declined_once = False
        self.secrets: dict[str, str] = {}
        self.votes: Counter[tuple[str, str]] = Counter()
        """Poll answers given: (user, catalog key of the message answered) → how many."""

    # --- running --------------------------------------------------------------------

    async def run(self) -> list[Delivered]:
        # Durability is not what is measured: the store syncs lazily to keep the bench quick.
        store = await open_store(f"sqlite+aiosqlite:///{self.tmp / 'noise.db'}", synchronous="OFF")
        try:
            self.engine = Engine(store, registry(), self.config, self.clock, {"matrix": self.adapter})
            await self.engine.boot()
            await self.adapter.start(self.engine.submit)
            await self.engine.seed_members()
            await self.engine.run_due()
            await self.engine.drain_outbox()
            self._script()
            await self._loop()
        finally:
            await store.close()
        return list(self.adapter.delivered)

    async def _loop(self) -> None:
        """Timers and members' steps in the order of their instants, each at its own time."""
        assert self.engine is not None
        while True:
            next_step = self._agenda[0].at if self._agenda else MONTH_END
            due = await self.engine.next_due()
            if due is not None and due <= next_step and due < MONTH_END:
                if due > self.clock.now():
                    self.clock.set(due)
                if not await self.engine.run_due():
                    raise RuntimeError(f"a timer due at {due} did not fire")
                await self.engine.drain_outbox()
                continue
            if next_step >= MONTH_END:
                break
            step = heapq.heappop(self._agenda)
            if step.at > self.clock.now():
                self.clock.set(step.at)
            await step.act()
            await self.engine.drain_outbox()

    def at(self, when: datetime, act: Callable[[], Awaitable[None]]) -> None:
        self._seq += 1
        heapq.heappush(self._agenda, _Step(max(when, self.clock.now()), self._seq, act))

    async def _submit(self, event: InboundEvent) -> None:
        assert self.engine is not None
        await self.engine.submit(event)

    def _id(self) -> str:
        self._events += 1
        return f"$in{self._events}"

    # --- what a member can do -----------------------------------------------------------

    def command(self, who: Person, text: str, thread_of: str | None = None) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            await self._submit(InboundCommand(platform="matrix", event_id=self._id(), channel=ROOM, sender=who.user,
                                              sender_name=who.name, text=text, thread_of=thread_of))
        return act

    def vote(self, who: Person, on: Delivered, choice: str) -> Callable[[], Awaitable[None]]:
        """An answer to a poll (Element draws the bot's choices as a poll)."""
        async def act() -> None:
            self.votes[(who.user, on.key)] += 1
            room = on.room or f"!dm-{who.user}"
            await self._submit(InboundChoice(platform="matrix", event_id=self._id(), channel=room, sender=who.user,
                                             sender_name=who.name, target=on.message_id, choices=[choice],
                                             is_direct=on.room is None))
        return act

    def react(self, who: Person, on: Delivered, emoji: str) -> Callable[[], Awaitable[None]]:
        """An answer by reaction under a message whose choices are reactions (a meeting's post)."""
        async def act() -> None:
            self.votes[(who.user, on.key)] += 1
            await self._submit(InboundReaction(platform="matrix", event_id=self._id(), channel=on.room or ROOM,
                                               sender=who.user, sender_name=who.name, target=on.message_id,
                                               key=emoji, reaction_id=self._id()))
        return act

    def write(self, who: Person, text: str, thread_of: str | None = None) -> Callable[[], Awaitable[None]]:
        """A thread reply in the room, or (without a thread) a message to the bot in private."""
        async def act() -> None:
            room = ROOM if thread_of else f"!dm-{who.user}"
            eid = self._id()
            await self._submit(InboundMessage(platform="matrix", event_id=eid, channel=room, sender=who.user,
                                              sender_name=who.name, text=text, message_id=eid, thread_of=thread_of,
                                              is_direct=thread_of is None))
        return act

    def join(self, who: Person) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            self.adapter.joined(ROOM, who.user, who.name)
            await self._submit(InboundMembership(platform="matrix", event_id=self._id(), channel=ROOM, sender=who.user,
                                                 sender_name=who.name, joined=True))
        return act

    def step(self, when: datetime, act: Callable[[], Awaitable[None]],
             then: Callable[[Sequence[Delivered]], None] | None = None) -> None:
        """A scripted step; `then` sees what the bot delivered in answer."""
        async def run() -> None:
            assert self.engine is not None
            before = len(self.adapter.delivered)
            await act()
            await self.engine.drain_outbox()
            if then is not None:
                then(self.adapter.delivered[before:])
        self.at(when, run)

    # --- people's habits ---------------------------------------------------------------

    def _pick(self, weights: Sequence[tuple[str, float]]) -> str:
        return self.rng.choices([c for c, _ in weights], [w for _, w in weights])[0]

    def _between(self, low: datetime, high: datetime) -> datetime:
        span = max((high - low).total_seconds(), 0.0)
        return low + timedelta(seconds=self.rng.uniform(0, span))

    def _present(self) -> list[Person]:
        here = self.adapter.present(ROOM)
        return [p for p in (*self.net.members, *self.net.newcomers) if p.user in here]

    def answer_round(self, post: Delivered, deadline: datetime, weights: Sequence[tuple[str, float]],
                     skip: Sequence[Person] = ()) -> None:
        """Everyone present answers a proposal's poll by their habit: at once (within a day or
        so), late (after the day-before reminder, some after the last one), or never."""
        for p in self._present():
            if p in skip or p.profile == "never" or (p.profile == "prompt" and self.rng.random() < 0.05):
                continue
            if p.profile == "prompt":
                when = self._between(post.at + timedelta(minutes=20),
                                     min(post.at + timedelta(hours=28), deadline - timedelta(hours=3)))
            elif self.rng.random() < 0.6:
                when = self._between(deadline - timedelta(hours=22), deadline - timedelta(hours=2, minutes=5))
            else:
                when = self._between(deadline - timedelta(hours=1, minutes=55), deadline - timedelta(minutes=10))
            self.at(when, self.vote(p, post, self._pick(weights)))

    # --- the month's script ------------------------------------------------------------

    def _script(self) -> None:
        lead, second = self.lead, self.second
        self.step(day(1, 10), self.command(lead, "decision « Adopter la charte des lieux partagés » jusqu'à jeudi 18h"),
                  lambda out: self.answer_round(_proposal(out), day(4, 18), CONSENT_CHOICES))
        self.step(day(2, 10), self.command(second, "tirage 3 territoire<=1 role « délégué·e régional·e »"),
                  self._contributions)
        self.step(day(8, 10), self.command(lead, "decision « Budget des ateliers 2027 : 3 000 € » jusqu'à jeudi 18h"),
                  self._budget_round)
        self.step(day(15, 10), self.command(lead, "election « trésorier·e »"))
        self.step(day(18, 11), self._propose, lambda out: self.answer_round(_proposal(out), day(20, 11),
                                                                           ELECTION_CHOICES))
        for who, when in zip(self.net.newcomers, (day(3, 14), day(10, 14), day(18, 14)), strict=True):
            self.step(when, self.join(who))

    def _contributions(self, out: Sequence[Delivered]) -> None:
        """A few people add to the draw's chance privately (the poll's one answer, then a
        phrase), one publicly with a commitment revealed after the commitments close."""
        announce = next(d for d in out if d.key == "sortition.announce.text")
        helpers = [p for p in self.net.members if p.profile == "prompt" and p is not self.public_seed]
        for p in self.rng.sample(helpers, max(2, len(helpers) // 20)):
            self.at(self._between(announce.at + timedelta(minutes=30), announce.at + timedelta(hours=20)),
                    self.vote(p, announce, "contribute"))
        secret = f"graine de {self.public_seed.key} {self.rng.randrange(10**6)}"
        self.secrets[self.public_seed.user] = secret
        self.at(announce.at + timedelta(hours=2),
                self.command(self.public_seed, f"tirage graine {commitment_of(secret)}"))

    def _budget_round(self, out: Sequence[Delivered]) -> None:
        post = _proposal(out)
        self.answer_round(post, day(11, 18), CONSENT_CHOICES, skip=[self.objector])
        self.at(day(8, 14), self.vote(self.objector, post, "objection"))
        amended = "amender « Budget des ateliers 2027 : 2 500 €, versés en deux fois » jusqu'à mardi 18h"
        self.step(day(12, 10), self.command(self.lead, amended, thread_of=post.message_id),
                  lambda again: self.answer_round(_proposal(again), day(16, 18), CONSENT_CHOICES))

    async def _propose(self) -> None:
        tally: dict[str, int] = {}
        for nominee in self.nominations.values():
            tally[nominee] = tally.get(nominee, 0) + 1
        leader = max(tally, key=lambda u: (tally[u], u)) if tally else self.candidates[0].user
        await self.command(self.lead, f"election proposer {leader}")()

    # --- answering what the bot sends ------------------------------------------------------

    def _react(self, d: Delivered) -> None:
        """Members answer what reaches them, by their habit."""
        who = self.net.person(d.recipient) if d.recipient else None
        handlers: dict[str, Callable[[Delivered, Person | None], None]] = {
            "consent.objection.ask": self._give_reason,
            "sortition.seed.ask_secret": self._give_secret,
            "sortition.seed.reveal_phase": self._reveal,
            "sortition.accept.ask": self._accept,
            "election.call": self._nominate,
            "election.reveal_body": self._change,
            "meeting.post.body": self._rsvp_in_channel,
            "meeting.reminder.personal": self._rsvp_in_private,
            "meeting.attendance.ask": self._came,
        }
        handler = handlers.get(d.key)
        if handler is not None:
            handler(d, who)

    def _give_reason(self, d: Delivered, who: Person | None) -> None:
        if self.objector.user in d.mentions and d.thread_of is not None:
            self.at(d.at + timedelta(hours=1), self.write(
                self.objector, "le montant dépasse ce que la trésorerie peut avancer avant la subvention",
                thread_of=d.thread_of))

    def _give_secret(self, d: Delivered, who: Person | None) -> None:
        if who is not None:
            phrase = f"{who.name} {self.rng.randrange(10**9)}"
            self.at(self._between(d.at + timedelta(minutes=2), d.at + timedelta(minutes=30)), self.write(who, phrase))

    def _reveal(self, d: Delivered, who: Person | None) -> None:
        for user, secret in self.secrets.items():
            person = self.net.person(user)
            if person is not None and user in d.mentions:
                self.at(self._between(d.at + timedelta(hours=1), d.at + timedelta(hours=4)),
                        self.command(person, f"tirage révéler {secret}"))

    def _accept(self, d: Delivered, who: Person | None) -> None:
        if who is None or who.profile == "never":
            return  # no answer: replaced from the reserve list when the time is up
        if not self.declined_once:
            self.declined_once = True
            self.at(d.at + timedelta(hours=2), self.vote(who, d, "decline"))
        elif who.profile == "prompt":
            self.at(self._between(d.at + timedelta(hours=1), d.at + timedelta(hours=8)), self.vote(who, d, "accept"))
        else:
            self.at(self._between(d.at + timedelta(hours=30), d.at + timedelta(hours=60)), self.vote(who, d, "accept"))

    def _nominate(self, d: Delivered, who: Person | None) -> None:
        """The call post invites everyone: members nominate by writing to the bot privately, a
        name and a reason without a command (nobody is written to)."""
        if d.kind != "post":
            return  # the call's edits at each step ring no one
        for p in self._present():
            if p.profile == "never" or self.rng.random() < (0.25 if p.profile == "prompt" else 0.5):
                continue
            others = [c for c in self.candidates if c is not p]
            nominee = self.rng.choices(others, CANDIDATE_WEIGHTS[:len(others)])[0]
            hours = (1, 20) if p.profile == "prompt" else (26, 46)
            when = self._between(d.at + timedelta(hours=hours[0]), d.at + timedelta(hours=hours[1]))
            self.at(when, self._nomination(p, nominee, "parce qu'elle ou il connaît bien nos comptes"))

    def _change(self, d: Delivered, who: Person | None) -> None:
        """At the reveal, a few nominators change, answering the acknowledgement of their
        nomination (it told them of the change round)."""
        tally: dict[str, int] = {}
        for nominee in self.nominations.values():
            tally[nominee] = tally.get(nominee, 0) + 1
        if not tally:
            return
        leader = self.net.person(max(tally, key=lambda u: (tally[u], u)))
        for user in sorted(self.nominations):
            nominator = self.net.person(user)
            if nominator is None or self.rng.random() >= 0.15:
                continue
            if leader is not None and leader is not nominator and self.nominations.get(user) != leader.user:
                self.at(self._between(d.at + timedelta(hours=2), d.at + timedelta(hours=20)),
                        self._nomination(nominator, leader, "pour nous rassembler sur une personne"))

    def _nomination(self, who: Person, nominee: Person, why: str) -> Callable[[], Awaitable[None]]:
        write = self.write(who, f"{nominee.user} {why}")

        async def act() -> None:
            self.nominations[who.user] = nominee.user
            await write()
        return act

    def _meeting(self, at: datetime) -> datetime | None:
        return next((m for m in MEETINGS if m >= at), None)

    def _rsvp_in_channel(self, d: Delivered, who: Person | None) -> None:
        meeting = self._meeting(d.at)
        if meeting is None or d.kind != "post":
            return  # the meeting's one post, a week ahead (its choices are reactions); its edits ring no one
        for p in self._present():
            if p.profile == "prompt" and self.rng.random() < 0.9:
                self.at(self._between(d.at + timedelta(hours=1), d.at + timedelta(hours=24)),
                        self._rsvp(p, d, meeting))
            elif p.profile == "late" and self.rng.random() < 0.7:
                # Late: on the post, once it says "demain" (between the day before and the hour before).
                self.at(self._between(meeting - timedelta(hours=23), meeting - timedelta(hours=2)),
                        self._rsvp(p, d, meeting))

    def _rsvp_in_private(self, d: Delivered, who: Person | None) -> None:
        meeting = self._meeting(d.at)
        if who is not None and meeting is not None and who.profile == "late" and d.poll:
            self.at(self._between(d.at + timedelta(minutes=30), d.at + timedelta(hours=4)), self._rsvp(who, d, meeting))

    def _rsvp(self, who: Person, on: Delivered, meeting: datetime) -> Callable[[], Awaitable[None]]:
        choice = self._pick(RSVP_CHOICES)

        async def act() -> None:
            if who.user in self.rsvp[meeting]:
                return
            self.rsvp[meeting][who.user] = choice
            if on.poll:
                await self.vote(who, on, choice)()
            else:
                await self.react(who, on, RSVP_EMOJI[choice])()
        return act

    def _came(self, d: Delivered, who: Person | None) -> None:
        meeting = max((m for m in MEETINGS if m <= d.at), default=None)
        if meeting is None:
            return
        for user, answer in self.rsvp[meeting].items():
            person = self.net.person(user)
            if person is not None and answer == "yes" and (person.animateur or self.rng.random() < 0.5):
                self.at(self._between(d.at + timedelta(minutes=10), d.at + timedelta(hours=3)),
                        self.vote(person, d, "came"))


def _proposal(out: Sequence[Delivered]) -> Delivered:
    """The round's proposal among what a command made the bot send."""
    # An election's round lives in its post's thread: its proposal is a thread reply.
    found = [d for d in out if d.key == "consent.proposal.body" and d.kind in ("post", "thread")]
    if len(found) != 1:
        raise RuntimeError(f"expected one proposal, the bot sent {[(d.kind, d.key) for d in out]}")
    return found[0]
