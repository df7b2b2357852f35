"""The register's repositories, SQL (SQLite and PostgreSQL) and memory, give the same answers:
an entry written by several records (merged, numbered, versions and answers replaced per
version), what a person appears in, the generations of register links."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import open_store
from bot.store.memory import MemoryStore
from bot.store.ports import StorePort
from bot.store.register_rows import Objection, RegisterAnswer, RegisterVersion, RegisterWrite

T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def _writes(alice: int, bob: int) -> list[RegisterWrite]:
    v1 = RegisterVersion(1, "Budget", "Le texte v1", T0, T0 + timedelta(days=1), T0 + timedelta(days=1), "objections",
                         {"consent": 1, "objection": 1}, (Objection("objection", "pas chiffré", "Bob"),))
    v2 = RegisterVersion(2, "Budget chiffré", "Le texte", T0 + timedelta(days=2), T0 + timedelta(days=4),
                         T0 + timedelta(days=4), "adopted", {"consent": 2})
    return [
        RegisterWrite("decision", None, "consent", 2, T0 + timedelta(days=1), title="Budget", status="objections",
                      opened_at=T0, closed_at=T0 + timedelta(days=1), anonymous=False, counts={"objection": 1},
                      data={"author": "Alice", "version": 1}, versions=(v1,),
                      answers={1: (RegisterAnswer(1, "consent", alice), RegisterAnswer(1, "objection", bob,
                                                                                       reason="pas chiffré"))}),
        # The same decision again: v1 kept, v2 added, its answers; data merged, not replaced.
        RegisterWrite("decision", None, "consent", 2, T0 + timedelta(days=4), title="Budget chiffré", status="adopted",
                      data={"version": 2}, versions=(replace(v1, text=None, outcome="amended"), v2),
                      answers={2: (RegisterAnswer(2, "consent", alice), RegisterAnswer(2, "consent", None, "Zoé"))}),
        # Meetings are numbered by the register, in the order it learns of them.
        RegisterWrite("meeting", None, "meeting", 1, T0, key="comite.20270202", title="Comité", status="held",
                      answers={1: (RegisterAnswer(1, "present", bob, organisation="Le Jardin"),)}),
        RegisterWrite("meeting", None, "meeting", 1, T0, key="once-1", title="AG", status="held"),
        RegisterWrite("meeting", None, "meeting", 1, T0 + timedelta(days=1), key="comite.20270202",
                      data={"minutes": "https://pad.example.org/x"}),
    ]


async def _exercise(store: StorePort) -> dict[str, Any]:
    async with store.unit() as unit:
        nid = await unit.networks.ensure("Réseau", T0)
        alice = await unit.people.add_person(nid, "alice", "Alice", now=T0)
        bob = await unit.people.add_person(nid, "bob", "Bob", now=T0)
        for w in _writes(alice, bob):
            await unit.register.write(nid, w)
        gens = [await unit.register.bump_reader(nid, bob, T0) for _ in range(2)]
    async with store.reading() as unit:
        entries = await unit.register.entries(nid)
        light = await unit.register.entries(nid, kinds=["meeting"], details=False)
        decision = await unit.register.entry(nid, "decision", 2, "consent")
        return {
            "entries": [(e.kind, e.number, e.key, e.title, e.status, dict(e.data), dict(e.counts),
                         [(v.version, v.title, v.text, v.outcome, dict(v.counts), v.objections) for v in e.versions],
                         [(a.version, a.choice, a.person_id == alice, a.person_id == bob, a.name, a.reason)
                          for a in e.answers]) for e in entries],
            "light": [(e.number, e.versions, e.answers) for e in light],
            "decision": decision is not None and decision.title,
            "missing": await unit.register.entry(nid, "decision", 9),
            "bob": await unit.register.person_answers(nid, bob),
            "alice": await unit.register.person_answers(nid, alice),
            "generations": (gens, await unit.register.reader_generation(nid, bob),
                            await unit.register.reader_generation(nid, alice)),
        }


async def test_sql_and_memory_registers_agree(store_url: str) -> None:
    sql = await open_store(store_url)
    try:
        got = await _exercise(sql)
    finally:
        await sql.close()
    assert got == await _exercise(MemoryStore())
    (decision, comite, ag) = got["entries"]
    assert decision[:5] == ("decision", 2, "", "Budget chiffré", "adopted")
    assert decision[5] == {"author": "Alice", "version": 2}
    assert [v[0] for v in decision[7]] == [1, 2] and decision[7][0][5] == (Objection("objection", "pas chiffré", "Bob"),)
    assert [(v[2], v[3]) for v in decision[7]] == [("Le texte v1", "amended"), ("Le texte", "adopted")], \
        "a later record that lists a version without its text keeps the text recorded"
    assert [(a[0], a[1], a[4]) for a in decision[8]] == [(1, "consent", None), (1, "objection", None),
                                                         (2, "consent", None), (2, "consent", "Zoé")]
    assert (comite[1], comite[4], comite[5]) == (1, "held", {"minutes": "https://pad.example.org/x"})
    assert (ag[1], ag[3]) == (2, "AG")
    assert got["light"] == [(1, (), ()), (2, (), ())]
    assert got["decision"] == "Budget chiffré" and got["missing"] is None
    assert (got["bob"].answers, got["bob"].entries) == (2, 2) and (got["alice"].answers, got["alice"].entries) == (2, 1)
    assert got["generations"] == ([1, 2], 2, 0)
