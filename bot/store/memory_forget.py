"""Forgetting a person in the memory store: their rows by id, then every value of every table
(walked generically, so a table added to `Data` later is covered too)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.kernel.refs import Ref
from bot.store.forget_rows import Scrub, forgotten_number, rewrite, rewrite_ref

TOMBSTONES = "forgotten"
_BY_ID = frozenset({"persons", "accounts", "seq"})


class Holder(Protocol):
    @property
    def data(self) -> Any: ...


def _walk(v: Any, scrub: Scrub) -> Any:
    if isinstance(v, str):
        return rewrite(v, scrub)
    if isinstance(v, Ref):
        text = v.encode()
        new = rewrite_ref(text, scrub)
        return v if new == text else Ref.decode(new)
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return rewrite(v, scrub) if _plain(v) else {_walk(k, scrub): _walk(x, scrub) for k, x in v.items()}
        return {_walk(k, scrub): _walk(x, scrub) for k, x in v.items()}
    if isinstance(v, list):
        return [_walk(x, scrub) for x in v]
    if isinstance(v, tuple):
        return tuple(_walk(x, scrub) for x in v)
    if isinstance(v, set | frozenset):
        return type(v)(_walk(x, scrub) for x in v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        changes = {f.name: _walk(getattr(v, f.name), scrub) for f in dataclasses.fields(v)}
        return dataclasses.replace(v, **{k: x for k, x in changes.items() if x is not getattr(v, k)})
    return v


def _plain(v: Any) -> bool:
    """JSON as the SQL store keeps it (a state, a summary): rewritten as JSON, seals included."""
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_plain(x) for x in v)
    return v is None or isinstance(v, str | int | float | bool)


class MemForgetting:
    def __init__(self, unit: Holder) -> None:
        self.unit = unit

    async def tombstones(self, network_id: int) -> set[str]:
        return {k for (ns, k) in self.unit.data.kv if ns == f"{TOMBSTONES}:{network_id}"}

    async def display_names(self, person_ids: Sequence[int]) -> list[str]:
        wanted = set(person_ids)
        return sorted({shown for _, a, shown in self.unit.data.accounts.values() if a.person_id in wanted and shown})

    async def last_pseudonym(self, network_id: int) -> int:
        return max((n for nid, p in self.unit.data.persons.values()
                    if nid == network_id and (n := forgotten_number(p.key)) is not None), default=0)

    async def forget(self, network_id: int, scrub: Scrub, at: datetime) -> None:
        d = self.unit.data
        ids = {scrub.person_id, *scrub.merged}
        d.accounts = {i: a for i, a in d.accounts.items() if a[1].person_id not in ids}
        d.sources = {k: s for k, s in d.sources.items() if s.person_id not in ids}
        d.members = {m for m in d.members if m[1] not in ids}
        d.roles = {r for r in d.roles if r[2] not in ids}
        d.replies = {k: v for k, v in d.replies.items() if k[1] not in ids}
        d.register.readers = {k: v for k, v in d.register.readers.items() if k[1] not in ids}
        d.reactions = {k: r for k, r in d.reactions.items() if r.sender not in scrub.users}
        d.outbox = {i: o for i, o in d.outbox.items() if (o.get("route") or {}).get("member") not in scrub.keys}
        d.inbound = {e for e in d.inbound if not scrub.names_an_account(e[1])}
        d.kv = {k: v for k, v in d.kv.items() if not scrub.names_an_account(f"{k[0]} {k[1]}")}
        n, p = d.persons[scrub.person_id]
        d.persons[scrub.person_id] = (n, dataclasses.replace(
            p, key=scrub.new_key, name=scrub.pseudonym, organisation=None, attributes={}, locale=None, opted_out=True))
        for i, pid in enumerate(scrub.merged, 1):
            n, p = d.persons[pid]
            d.persons[pid] = (n, dataclasses.replace(p, key=f"{scrub.new_key}/{i}", name=scrub.pseudonym,
                                                     organisation=None, attributes={}, locale=None))
        for i, (n, m) in list(d.mandates.rows.items()):
            if m.person_id in ids:
                d.mandates.rows[i] = (n, dataclasses.replace(m, organisation=None))
        for stone in scrub.tombstones:
            d.kv[(f"{TOMBSTONES}:{network_id}", stone)] = True
        for f in dataclasses.fields(d):
            if f.name not in _BY_ID:
                setattr(d, f.name, _walk(getattr(d, f.name), scrub))

