"""The register follows the rituals: each `Record` of a decision, an election, a draw or a
meeting is projected into it in the transaction that appends it to the log."""

from __future__ import annotations

from bot.engine.directory import People
from bot.engine.tx import Ritual, Tx
from bot.kernel.model import Record
from bot.store.register_projection import PeopleIndex, Someone, project


def people_index(people: People) -> PeopleIndex:
    """Who the register can name: the directory as this transaction sees it."""
    own = {p.key for p in people.persons.values()}
    return PeopleIndex((Someone(p.id, p.key, p.name, p.organisation) for p in people.persons.values()),
                       {k: pid for k, pid in people.person_by_key.items() if k not in own})


async def record_in_register(tx: Tx, people: People, ritual: Ritual | None, action: Record) -> None:
    write = project(action.kind, ritual.id if ritual else None, ritual.kind if ritual else "core",
                    ritual.number if ritual else 0, tx.now, action.summary, people_index(people))
    if write is not None:
        await tx.unit.register.write(people.network_id, write)
