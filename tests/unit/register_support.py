"""The decision register for scenario tests: records projected as the engine projects them,
kept by the in-memory repository, read back as the view rituals get (no engine, no I/O)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.engine.register import named_in
from bot.kernel.model import Member
from bot.kernel.register import Answered, Entry, Objected, RegisterView, Version, page_link
from bot.store.memory import MemoryStore
from bot.store.register_projection import PeopleIndex, Someone, project

Recorded = tuple[str, str, int, datetime, dict[str, Any]]
"""(record kind, ritual kind, ritual number, when, summary)."""


def register_of(recorded: Sequence[Recorded], members: Sequence[Member], base_url: str | None = None) -> RegisterView:
    people = PeopleIndex([Someone(i, m.key, m.name, m.organisation) for i, m in enumerate(members, 1)])
    by_id = {i: m for i, m in enumerate(members, 1)}
    by_key = {m.key: m for m in members}

    async def run() -> RegisterView:
        store = MemoryStore()
        async with store.unit() as unit:
            for kind, ritual_kind, number, at, summary in recorded:
                write = project(kind, None, ritual_kind, number, at, summary, people)
                if write is not None:
                    await unit.register.write(1, write)
            rows = await unit.register.entries(1)
        entries: list[Entry] = []
        for r in rows:
            answers = tuple(Answered(
                choice=a.choice, name=by_id[a.person_id].name if a.person_id else a.name or "?",
                member=by_id[a.person_id].key if a.person_id else None, organisation=a.organisation,
                reason=a.reason, version=a.version)
                for a in r.answers)
            versions = tuple(Version(
                version=v.version, title=v.title, text=v.text, closed_at=v.closed_at, outcome=v.outcome,
                counts=dict(v.counts), objections=tuple(Objected(o.choice, o.reason, o.by) for o in v.objections))
                for v in r.versions)
            named = tuple(by_id[w].name if isinstance(w, int) else by_key[w].name if w in by_key else w
                          for w in named_in(r))
            entries.append(Entry(kind=r.kind, ritual_kind=r.ritual_kind, number=r.number, title=r.title,
                                 status=r.status, recorded_at=r.recorded_at, opened_at=r.opened_at,
                                 closed_at=r.closed_at, anonymous=r.anonymous, counts=dict(r.counts),
                                 data=dict(r.data), versions=versions, answers=answers, named=named,
                                 link=page_link(base_url, "election" if r.ritual_kind == "election" else r.kind,
                                                r.ritual_number if r.ritual_kind == "election" else r.number)))
        return RegisterView(entries=tuple(entries))

    return asyncio.run(run())
