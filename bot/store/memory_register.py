"""The decision register in memory (`bot.store.ports.Register`), on the tables of
`bot.store.memory.Data`, for engine tests without a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from bot.store.register_rows import (
    FALLBACK_STATUS,
    PersonAnswers,
    RegisterAnswer,
    RegisterEntry,
    RegisterWrite,
)


@dataclass
class RegisterTables:
    entries: dict[int, tuple[int, RegisterEntry]] = field(default_factory=dict)
    """Entry id → (network id, the entry with its versions and answers)."""
    readers: dict[tuple[int, int], int] = field(default_factory=dict)
    """(network id, person id) → generation of the person's register links."""


class Tables(Protocol):
    register: RegisterTables

    def next_id(self) -> int: ...


class Holder(Protocol):
    @property
    def data(self) -> Tables: ...


class MemRegister:
    def __init__(self, unit: Holder) -> None:
        self.unit = unit

    @property
    def t(self) -> RegisterTables:
        return self.unit.data.register

    async def write(self, network_id: int, w: RegisterWrite) -> int:
        found = next((e for n, e in self.t.entries.values() if n == network_id and
                      (e.kind, e.ritual_kind, e.ritual_number, e.key) == (w.kind, w.ritual_kind, w.ritual_number, w.key)),
                     None)
        changes: dict[str, Any] = {"recorded_at": w.recorded_at}
        for name in ("title", "status", "opened_at", "closed_at", "anonymous"):
            if getattr(w, name) is not None:
                changes[name] = getattr(w, name)
        if w.counts is not None:
            changes["counts"] = dict(w.counts)
        if found is None:
            if w.kind == "meeting":
                number = 1 + max((e.number for n, e in self.t.entries.values()
                                  if n == network_id and e.kind == "meeting"), default=0)
            else:
                number = w.ritual_number
            entry = RegisterEntry(
                id=self.unit.data.next_id(), kind=w.kind, ritual_id=w.ritual_id, ritual_kind=w.ritual_kind,
                ritual_number=w.ritual_number, key=w.key, number=number, title="", status=FALLBACK_STATUS,
                opened_at=None, closed_at=None, anonymous=False, counts={}, data=dict(w.data),
                recorded_at=w.recorded_at)
        else:
            entry = replace(found, data={**found.data, **w.data})
        versions = {v.version: v for v in entry.versions}
        for v in w.versions:
            # A later record lists past versions without their text: the one recorded stays.
            kept = versions.get(v.version)
            versions[v.version] = v if v.text is not None or kept is None else replace(v, text=kept.text)
        answers: list[RegisterAnswer] = [a for a in entry.answers if a.version not in w.answers]
        for given in w.answers.values():
            answers.extend(given)
        entry = replace(entry, **changes, versions=tuple(versions[n] for n in sorted(versions)),
                        answers=tuple(sorted(answers, key=lambda a: a.version)))
        self.t.entries[entry.id] = (network_id, entry)
        return entry.id

    def _of(self, network_id: int) -> list[RegisterEntry]:
        return [e for _, (n, e) in sorted(self.t.entries.items()) if n == network_id]

    async def entries(self, network_id: int, kinds: Sequence[str] | None = None, since: datetime | None = None,
                      details: bool = True) -> list[RegisterEntry]:
        out = [e for e in self._of(network_id) if (kinds is None or e.kind in kinds)
               and (since is None or e.recorded_at >= since)]
        return out if details else [replace(e, versions=(), answers=()) for e in out]

    async def entry(self, network_id: int, kind: str, number: int, ritual_kind: str | None = None
                    ) -> RegisterEntry | None:
        return next((e for e in self._of(network_id) if e.kind == kind and e.number == number
                     and (ritual_kind is None or e.ritual_kind == ritual_kind)), None)

    async def person_answers(self, network_id: int, person_id: int) -> PersonAnswers:
        mine = [(e.id, a) for e in self._of(network_id) for a in e.answers
                if person_id in (a.person_id, a.subject_id)]
        return PersonAnswers(answers=len(mine), entries=len({i for i, _ in mine}))

    async def reader_generation(self, network_id: int, person_id: int) -> int:
        return self.t.readers.get((network_id, person_id), 0)

    async def bump_reader(self, network_id: int, person_id: int, now: datetime) -> int:
        generation = self.t.readers.get((network_id, person_id), 0) + 1
        self.t.readers[(network_id, person_id)] = generation
        return generation

