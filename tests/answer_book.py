"""Answers kept for scenario tests as the engine keeps them: `RecordAnswer` supersedes the
member's current answer, `AnonymizeAnswers` forgets who; the view handed to a ritual holds
only what its kind asked for the event (reading more raises, as it would miss in production)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.kernel.answers import Answer, Answers, Need
from bot.kernel.model import (
    Action,
    AnonymizeAnswers,
    Chose,
    Command,
    Event,
    Reacted,
    RecordAnswer,
    Replied,
)
from bot.kernel.scenario import RitualKind


@dataclass
class AnswerBook:
    rows: list[Answer] = field(default_factory=list)

    def keep(self, actions: Iterable[Action], at: datetime) -> None:
        for a in actions:
            if isinstance(a, RecordAnswer):
                self.rows = [r.model_copy(update={"superseded_at": at}) if r.current and
                             (r.topic, r.part, r.version, r.member) == (a.topic, a.part, a.version, a.member) else r
                             for r in self.rows]
                self.rows.append(Answer(topic=a.topic, part=a.part, version=a.version, member=a.member, value=a.value,
                                        reason=a.reason, subject=a.subject, data=dict(a.data), at=at))
            elif isinstance(a, AnonymizeAnswers) and a.drop:
                self.rows = [r for r in self.rows if a.topic not in (None, r.topic)]
            elif isinstance(a, AnonymizeAnswers):
                self.rows = [r.model_copy(update={"member": None}) if a.topic in (None, r.topic) else r
                             for r in self.rows]

    def view(self, kind: RitualKind[Any], state: Any, event: Event, now: datetime) -> Answers:
        if not kind.uses_answers:
            return Answers()
        need: Need = kind.answers_needed(state, event, now)
        part = kind.answers_part(state, event)
        member = event.member.key if isinstance(event, Chose | Command | Reacted | Replied) else None
        rows = [r for r in self.rows if part is None or r.part == part]
        if need == "none" or (need == "member" and member is None):
            return Answers()
        if need == "member":
            return Answers([r for r in rows if r.current and r.member == member], "member", member, part)
        return Answers(rows if need == "history" else [r for r in rows if r.current], need, part=part)

    def current(self, member: str, topic: str = "consent", version: int = 1, part: int = 0) -> Answer | None:
        """The member's current answer (a withdrawn one is None)."""
        return Answers(self.rows, "all").of(member, topic, version, part)

    def everyone(self, topic: str = "consent", version: int = 1, part: int = 0) -> list[Answer]:
        return Answers(self.rows, "all").current(topic, version, part)
