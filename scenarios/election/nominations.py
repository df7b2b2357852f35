"""An election's nominations as rows (`RecordAnswer`): who nominates whom and why during the
nominations step, what changed in the change round, a name given before its reason; read
back from the answers the engine loaded, tallied, and written in the election's record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.kernel.answers import Answer
from bot.kernel.commands import fold
from bot.kernel.model import Record, RecordAnswer
from bot.kernel.scenario import Context
from scenarios.election.state import ElectionState

NOMINATION, CHANGE, PENDING = "nomination", "change", "pending"
"""Topics: a nomination (the nominations step), a change (the change round), a nominee named
whose reason is awaited (version 1 in the nominations step, 2 in the change round)."""
NOMINATED, CHANGED = "nominated", "changed"
"""The answers' values (the nominee is the answer's subject, the reason its reason)."""


@dataclass(frozen=True)
class Change:
    """A nomination changed during the change round, with its reason."""

    by: str
    previous: str | None
    nominee: str
    reason: str
    answer: Answer


def nominate(member: str, nominee: str, reason: str, changing: bool) -> RecordAnswer:
    return RecordAnswer(member=member, topic=CHANGE if changing else NOMINATION,
                        value=CHANGED if changing else NOMINATED, subject=nominee, reason=reason)


def await_reason(member: str, nominee: str | None, changing: bool) -> RecordAnswer:
    """The nominee named first (`None`: the reason came, nothing is awaited any more)."""
    return RecordAnswer(member=member, topic=PENDING, version=2 if changing else 1,
                        value=None if nominee is None else PENDING, subject=nominee)


class Nominations:
    """The election's nominations as the engine loaded them: a member's own on their events,
    everyone's (and the changes' history) on the steps' ends and the animateur's moves."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.answers = ctx.answers

    def name(self, key: str | None) -> str:
        if key is None:
            return ""
        m = self.ctx.directory.member(key)
        return m.name if m is not None else key

    def current_of(self, member: str) -> Answer | None:
        """The member's nomination as it stands: changed in the change round, or as given."""
        return self.answers.of(member, CHANGE) or self.answers.of(member, NOMINATION)

    def pending_of(self, member: str, changing: bool) -> Answer | None:
        return self.answers.of(member, PENDING, version=2 if changing else 1)

    def revealed(self) -> dict[str, Answer]:
        """The nominations given during the nominations step (what the reveal shows)."""
        return {a.member: a for a in self.answers.current(NOMINATION) if a.member is not None}

    def standing(self) -> dict[str, Answer]:
        """Each nominator's nomination as it stands after the changes."""
        out = self.revealed()
        out.update({a.member: a for a in self.answers.current(CHANGE) if a.member is not None})
        return out

    def changes(self) -> list[Change]:
        """Every change of the change round, in order, with the nomination it replaced."""
        last: dict[str, str | None] = {}
        out: list[Change] = []
        for a in self.answers.history():
            if a.member is None or a.value is None or a.topic not in (NOMINATION, CHANGE):
                continue
            if a.topic == CHANGE:
                out.append(Change(a.member, last.get(a.member), a.subject or "", a.reason or "", a))
            last[a.member] = a.subject
        return out

    def tally(self, nominations: Mapping[str, Answer]) -> list[tuple[str, str, list[tuple[str, Answer]]]]:
        """(nominee key, name, [(nominator key, nomination)]) by decreasing count, then name."""
        groups: dict[str, list[tuple[str, Answer]]] = {}
        for by, a in sorted(nominations.items()):
            groups.setdefault(a.subject or "", []).append((by, a))
        rows = [(k, self.name(k), v) for k, v in groups.items()]
        return sorted(rows, key=lambda r: (-len(r[2]), fold(r[1])))


def election_record(noms: Nominations, st: ElectionState, outcome: str, now: datetime) -> Record:
    """The election's log entry: its steps, nominations with their reasons, changes, the
    final tally and each person proposed."""
    elected = st.attempts[-1] if outcome == "elected" and st.attempts else None
    return Record(kind="election", summary={
        "number": st.number,
        "role": st.role,
        "title": st.role,
        "outcome": outcome,
        "elected": elected.nominee_name if elected else None,
        "elected_key": elected.nominee if elected else None,
        "author": st.author_name,
        "channels": list(st.channels),
        "started_at": st.started_at.isoformat() if st.started_at else None,
        "nominations_until": st.nominations_until.isoformat() if st.nominations_until else None,
        "closed_at": now.isoformat(),
        "nominations": [
            {"by": noms.name(by), "nominee": noms.name(n.subject), "reason": n.reason, "at": n.at.isoformat()}
            for by, n in sorted(noms.revealed().items())
        ],
        "changes": [
            {"by": noms.name(c.by), "from": noms.name(c.previous) or None, "to": noms.name(c.nominee),
             "reason": c.reason, "at": c.answer.at.isoformat()}
            for c in noms.changes()
        ],
        "final_tally": {name: len(given) for _, name, given in noms.tally(noms.standing())},
        "attempts": [
            {"nominee": a.nominee_name, "at": a.at.isoformat(), "outcome": a.outcome} for a in st.attempts
        ],
    })
