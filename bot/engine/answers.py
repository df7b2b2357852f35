"""Members' answers between the store's rows (person ids) and what rituals see (member keys):
the view loaded for one event, and a ritual's `RecordAnswer` written in its transaction."""

from __future__ import annotations

from bot.engine.directory import People
from bot.engine.tx import Ritual, Tx
from bot.kernel.answers import Answer, Answers, Need
from bot.kernel.model import AnonymizeAnswers, Chose, Command, Event, Reacted, RecordAnswer, Replied
from bot.store.answer_rows import AnswerKey, AnswerNew, AnswerRow


def acting_member(event: Event) -> str | None:
    """The member whose event this is (None for a timer or a start)."""
    return event.member.key if isinstance(event, Chose | Command | Reacted | Replied) else None


async def load_answers(tx: Tx, people: People, ritual: Ritual, need: Need, member: str | None) -> Answers:
    """The answers `need` says, as the transaction sees them (answers recorded by earlier
    events of the same batch included)."""
    if need == "none" or (need == "member" and member is None):
        return Answers()
    if need == "member":
        assert member is not None
        pid = people.person_by_key.get(member)
        rows = [] if pid is None else await tx.unit.answers.current(ritual.id, pid)
        return Answers([_seen(people, r) for r in rows], "member", member)
    rows = await (tx.unit.answers.history(ritual.id) if need == "history" else tx.unit.answers.current(ritual.id))
    return Answers([_seen(people, r) for r in rows], need)


def _key_of(people: People, pid: int | None) -> str | None:
    if pid is None:
        return None
    person = people.persons.get(pid)
    return person.key if person is not None else None


def _seen(people: People, r: AnswerRow) -> Answer:
    return Answer(topic=r.key.topic, part=r.key.part, version=r.key.version, member=_key_of(people, r.person_id),
                  value=r.value, reason=r.reason, subject=_key_of(people, r.subject_id), data=r.data, at=r.at,
                  superseded_at=r.superseded_at)


async def write_answer(tx: Tx, people: People, ritual: Ritual, action: RecordAnswer | AnonymizeAnswers) -> None:
    if isinstance(action, AnonymizeAnswers):
        await tx.unit.answers.anonymize(ritual.id, action.topic)
        return
    pid = people.person_by_key.get(action.member)
    if pid is None:
        raise LookupError(f"an answer by {action.member}, whom the directory does not know")
    subject = people.person_by_key.get(action.subject) if action.subject is not None else None
    await tx.unit.answers.record(people.network_id, AnswerNew(
        ritual.id, AnswerKey(action.topic, action.part, action.version), pid, action.value, tx.when,
        action.reason, subject, dict(action.data)))
