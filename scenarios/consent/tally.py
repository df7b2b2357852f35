"""What a round's answers say, read from the answers the engine loaded (`Context.answers`):
a member's current answer, counts, names, objections, who has not answered, the circle."""

from __future__ import annotations

from bot.kernel.answers import Answer
from bot.kernel.commands import fold
from bot.kernel.model import Member
from bot.kernel.scenario import Context
from scenarios.consent.state import CHOICE_IDS, LATE, TOPIC, RoundState, VersionRecord, no_counts


class Tally:
    """One round's answers. A member's own answer is there on their events; everything else
    needs everyone's answers, which the engine loads on the round's rare events."""

    def __init__(self, ctx: Context, st: RoundState) -> None:
        self.ctx = ctx
        self.st = st

    @property
    def complete(self) -> bool:
        return self.ctx.answers.complete

    def of(self, member: str, version: int | None = None) -> Answer | None:
        return self.ctx.answers.of(member, TOPIC, version or self.st.version, self.st.part)

    def current(self, version: int | None = None, topic: str = TOPIC) -> list[Answer]:
        return self.ctx.answers.current(topic, version or self.st.version, self.st.part)

    def counts(self, version: int | None = None) -> dict[str, int]:
        out = no_counts()
        for a in self.current(version):
            if a.value in out:
                out[a.value] += 1
        return out

    def late(self) -> list[Answer]:
        return self.current(topic=LATE)

    def name(self, key: str | None) -> str:
        if key is None:
            return ""
        m = self.ctx.directory.member(key)
        return m.name if m is not None else key

    def names(self) -> dict[str, list[str]]:
        """Who answered what in the current version, by name (not asked of an anonymous round)."""
        out: dict[str, list[str]] = {c: [] for c in CHOICE_IDS}
        for name, value in sorted(((self.name(a.member), a.value) for a in self.current()), key=lambda p: fold(p[0])):
            if value in out:
                out[value].append(name)
        return out

    def objections(self, version: int | None = None) -> list[dict[str, str | None]]:
        answers = sorted((a for a in self.current(version) if a.value == "objection"), key=lambda a: a.member or "")
        return [{"by": (self.name(a.member) or None) if not self.st.anonymous else None, "reason": a.reason}
                for a in answers]

    def past_objections(self, v: VersionRecord) -> list[dict[str, str | None]]:
        return v.objections if v.objections is not None else self.objections(v.version)

    def circle(self) -> list[Member]:
        return self.ctx.directory.circle(self.st.channels, self.st.group)

    def missing(self) -> list[Member]:
        """Members of the circle who have not answered the current version."""
        answered = {a.member for a in self.current()}
        return [m for m in self.circle() if m.key not in answered]

    def circle_size(self) -> int:
        """Who counts for the quorum: the circle, and whoever answered while in it. Without
        everyone's answers at hand (a member's event), the circle and the count."""
        keys = {m.key for m in self.circle()}
        if not self.complete:
            return max(len(keys), self.st.answered)
        answers = self.current()
        keys |= {a.member for a in answers if a.member is not None}
        return len(keys) + sum(1 for a in answers if a.member is None)
