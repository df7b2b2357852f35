"""Mandates in memory: the same port as `bot.store.repositories.mandates`, on a dict."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from bot.kernel.mandates import Why
from bot.store.mandate_rows import MandateNew, MandateRow


@dataclass
class MandateTable:
    """The `mandates` table: id → (network id, row)."""

    rows: dict[int, tuple[int, MandateRow]] = field(default_factory=dict)
    seq: int = 0

    def merge(self, absorbed: int, into: int) -> None:
        for i, (n, r) in list(self.rows.items()):
            if absorbed in (r.person_id, r.appointed_by):
                self.rows[i] = (n, replace(r, person_id=into if r.person_id == absorbed else r.person_id,
                                           appointed_by=into if r.appointed_by == absorbed else r.appointed_by))


class Holder(Protocol):
    @property
    def mandate_table(self) -> MandateTable: ...


class MemMandates:
    def __init__(self, unit: Holder) -> None:
        self.unit = unit

    @property
    def t(self) -> MandateTable:
        return self.unit.mandate_table

    async def add(self, network_id: int, m: MandateNew) -> int:
        self.t.seq += 1
        self.t.rows[self.t.seq] = (network_id, MandateRow(
            self.t.seq, m.role, m.person_id, m.organisation, m.how, m.chosen_at, m.ends_at, m.status, m.started_at,
            m.ritual_number, m.appointed_by, m.reserve_rank, m.replaces, None, None))
        return self.t.seq

    async def of_network(self, network_id: int) -> list[MandateRow]:
        return [r for _, (n, r) in sorted(self.t.rows.items()) if n == network_id]

    async def start(self, mandate_id: int, at: datetime) -> None:
        n, r = self.t.rows[mandate_id]
        self.t.rows[mandate_id] = (n, replace(r, status="active", started_at=at))

    async def end(self, mandate_id: int, at: datetime, why: Why) -> None:
        n, r = self.t.rows[mandate_id]
        if r.status != "ended":
            self.t.rows[mandate_id] = (n, replace(r, status="ended", ended_at=at, ended_why=why))

    async def merge(self, absorbed: int, into: int) -> None:
        self.t.merge(absorbed, into)
