"""The register follows the rituals: each `Record` of a decision, an election, a draw or a
meeting is projected into it in the transaction that appends it to the log; rituals and
queries read it back as a typed view, names as the directory says them now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.engine.directory import People, Person
from bot.engine.tx import Ritual, Tx
from bot.kernel.i18n import Msg, render_plain
from bot.kernel.model import Record
from bot.kernel.register import Answered, Entry, Objected, RegisterView, Version, page_link
from bot.store.forget_rows import forgotten_number
from bot.store.ports import Unit
from bot.store.register_projection import PeopleIndex, Someone, project
from bot.store.register_rows import Objection, RegisterAnswer, RegisterEntry, RegisterVersion


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


async def load_register(unit: Unit, people: People, locale: str, base_url: str | None, *,
                        kinds: Sequence[str] | None = None, since: datetime | None = None) -> RegisterView:
    """The register as rituals (and its web pages) read it: names as the directory says them
    now (a forgotten person's pseudonym), each entry's page when the register is on the web."""
    rows = await unit.register.entries(people.network_id, kinds=kinds, since=since)
    names = Names(people, locale)
    return RegisterView(entries=tuple([await names.entry(unit, r, base_url) for r in rows]))


class Names:
    """Who a register row names, as shown today."""

    def __init__(self, people: People, locale: str) -> None:
        self.people = people
        self.locale = locale
        self.merged: dict[int, int] | None = None

    async def _person(self, unit: Unit, pid: int | None) -> Person | None:
        if pid is None:
            return None
        if pid not in self.people.persons:
            if self.merged is None:
                rows = await unit.people.persons(self.people.network_id)
                self.merged = {r.id: r.merged_into for r in rows if r.merged_into is not None}
            for _ in range(32):
                if pid not in self.merged:
                    break
                pid = self.merged[pid]
        return self.people.persons.get(pid)

    def shown(self, person: Person | None, pid: int | None, fallback: str | None) -> str:
        if person is not None and person.opted_out:
            return pseudonym(forgotten_number(person.key) or person.id, self.locale)
        if person is not None:
            return person.name
        return fallback or (pseudonym(pid, self.locale) if pid is not None else "?")

    async def answer(self, unit: Unit, a: RegisterAnswer) -> Answered:
        person = await self._person(unit, a.person_id)
        subject = await self._person(unit, a.subject_id)
        return Answered(
            choice=a.choice, name=self.shown(person, a.person_id, a.name),
            member=person.key if person is not None and not person.opted_out else None,
            organisation=a.organisation if person is None or not person.opted_out else None,
            reason=a.reason, version=a.version,
            subject=self.shown(subject, a.subject_id, a.subject_name)
            if a.subject_id is not None or a.subject_name else None)

    async def entry(self, unit: Unit, r: RegisterEntry, base_url: str | None) -> Entry:
        answers = tuple([await self.answer(unit, a) for a in r.answers])
        page_kind, number = ("election", r.ritual_number) if r.ritual_kind == "election" else (r.kind, r.number)
        return Entry(
            kind=r.kind, ritual_kind=r.ritual_kind, number=r.number, title=r.title, status=r.status,
            recorded_at=r.recorded_at, opened_at=r.opened_at, closed_at=r.closed_at, anonymous=r.anonymous,
            counts=dict(r.counts), data=dict(r.data),
            versions=tuple(self.version(v, answers) for v in r.versions), answers=answers,
            named=tuple([await self.named_one(unit, who) for who in named_in(r)]),
            link=page_link(base_url, page_kind, number))

    async def named_one(self, unit: Unit, who: str | int) -> str:
        """A member key (a draw's panel) or a person id (the person elected), as shown today."""
        if isinstance(who, int):
            return self.shown(await self._person(unit, who), who, None)
        pid = self.people.person_by_key.get(who)
        return self.shown(await self._person(unit, pid), pid, who)

    def version(self, v: RegisterVersion, answers: Sequence[Answered]) -> Version:
        # Who objected is read from the answers (the directory's name today), the summary's
        # name only for a version whose answers the register does not hold.
        mine = [a for a in answers if a.version == v.version and a.choice in ("objection", "concern")]
        objections = tuple(
            Objected(choice=o.choice, reason=o.reason, by=_by(o, mine)) for o in v.objections)
        return Version(version=v.version, title=v.title, text=v.text, opened_at=v.opened_at, deadline=v.deadline,
                       closed_at=v.closed_at, outcome=v.outcome, counts=dict(v.counts), objections=objections)


def named_in(r: RegisterEntry) -> list[str | int]:
    """Whom an entry puts in a role: member keys of a draw's panel, the elected person's id
    (or the name the record gave)."""
    if r.kind == "draw":
        panel = r.data.get("final_panel") or r.data.get("panel") or []
        return [k for k in panel if isinstance(k, str)]
    if r.kind == "election":
        elected = r.data.get("elected_id")
        if isinstance(elected, int):
            return [elected]
        name = r.data.get("elected_name")
        return [name] if isinstance(name, str) and name else []
    return []


def _by(o: Objection, answers: Sequence[Answered]) -> str | None:
    if o.by is None:
        return None
    same = [a for a in answers if a.choice == o.choice and a.reason == o.reason]
    return same[0].name if len(same) == 1 else o.by


def pseudonym(n: int, locale: str) -> str:
    """How the register names someone who asked to be forgotten: a stable number, no name."""
    return render_plain(Msg("registre.pseudonym", n=n), locale)
