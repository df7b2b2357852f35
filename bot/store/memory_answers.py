"""Members' answers in memory: the same port as `bot.store.repositories.answers`, on a list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.store.answer_rows import AnswerNew, AnswerRow


@dataclass
class AnswerTable:
    """The `answers` table: (network id, row) in the order written."""

    rows: list[tuple[int, AnswerRow]] = field(default_factory=list)
    seq: int = 0

    def merge(self, absorbed: int, into: int) -> None:
        """As the SQL store does: `absorbed`'s answers become `into`'s, whose current answer
        stands where both have one (the other superseded as of its time)."""
        theirs = {(r.ritual_id, r.key): r.at for _, r in self.rows if r.person_id == into and r.superseded_at is None}
        out: list[tuple[int, AnswerRow]] = []
        for n, r in self.rows:
            if r.person_id == absorbed:
                clash = theirs.get((r.ritual_id, r.key)) if r.superseded_at is None else None
                r = replace(r, person_id=into, superseded_at=clash if clash is not None else r.superseded_at)
            if r.subject_id == absorbed:
                r = replace(r, subject_id=into)
            out.append((n, r))
        self.rows = out


class Holder(Protocol):
    @property
    def answer_table(self) -> AnswerTable: ...


class MemAnswers:
    def __init__(self, unit: Holder) -> None:
        self.unit = unit

    @property
    def t(self) -> AnswerTable:
        return self.unit.answer_table

    async def record(self, network_id: int, answers: Sequence[AnswerNew]) -> None:
        t = self.t
        for answer in answers:
            for i, (n, r) in enumerate(t.rows):
                if (r.ritual_id, r.key, r.person_id) == (answer.ritual_id, answer.key, answer.person_id) \
                        and r.superseded_at is None:
                    t.rows[i] = (n, replace(r, superseded_at=answer.at))
            t.seq += 1
            t.rows.append((network_id, AnswerRow(t.seq, answer.ritual_id, answer.key, answer.person_id, answer.value,
                                                 answer.reason, answer.subject_id, dict(answer.data), answer.at,
                                                 None)))

    async def current(self, ritual_id: int, person_id: int | None = None, part: int | None = None
                      ) -> list[AnswerRow]:
        return [r for _, r in self.t.rows if r.ritual_id == ritual_id and r.superseded_at is None
                and (person_id is None or r.person_id == person_id) and (part is None or r.key.part == part)]

    async def history(self, ritual_id: int, part: int | None = None) -> list[AnswerRow]:
        return [r for _, r in self.t.rows if r.ritual_id == ritual_id and (part is None or r.key.part == part)]

    async def of_person(self, network_id: int, person_id: int) -> list[AnswerRow]:
        return [r for n, r in self.t.rows if n == network_id and r.person_id == person_id]

    async def drop(self, ritual_id: int, topic: str | None = None) -> None:
        self.t.rows = [(n, r) for n, r in self.t.rows
                       if not (r.ritual_id == ritual_id and (topic is None or r.key.topic == topic))]

    async def anonymize(self, ritual_id: int, topic: str | None = None) -> None:
        self.t.rows = [(n, replace(r, person_id=None) if r.ritual_id == ritual_id and
                        (topic is None or r.key.topic == topic) else r) for n, r in self.t.rows]
