"""Members' answers between the store's rows (person ids) and what rituals see (member keys):
the view loaded for one event, and a ritual's `RecordAnswer` kept for its transaction."""

from __future__ import annotations

from bot.engine.directory import People
from bot.engine.tx import AnswersRead, Ritual, Tx
from bot.kernel.answers import Answer, Answers, Need
from bot.kernel.model import AnonymizeAnswers, Chose, Command, Event, Reacted, RecordAnswer, Replied
from bot.store.answer_rows import Anonymize, AnswerKey, AnswerNew, AnswerRow


def acting_member(event: Event) -> str | None:
    """The member whose event this is (None for a timer or a start)."""
    return event.member.key if isinstance(event, Chose | Command | Reacted | Replied) else None


async def load_answers(tx: Tx, people: People, ritual: Ritual, need: Need, member: str | None,
                       part: int | None = None) -> Answers:
    """The answers `need` says, as the transaction sees them: answers recorded by earlier
    events of the same batch included (a member's own are laid over what the store holds;
    everyone's are read after writing them)."""
    tx.answers_read = None
    if need == "none" or (need == "member" and member is None):
        return Answers()
    if need == "member":
        assert member is not None
        pid = people.person_by_key.get(member)
        if pid is None:
            return Answers((), "member", member)
        prefetched, tx.prefetched = tx.prefetched, None
        if prefetched is not None and prefetched[:2] == (ritual.id, pid):
            stored = [r for r in prefetched[2] if part is None or r.key.part == part]
        else:
            stored = await tx.unit.answers.current(ritual.id, pid, part)
        rows = _overlay(stored, tx, ritual.id, pid, part)
        tx.answers_read = AnswersRead(ritual.id, pid, part, frozenset((r.person_id, r.key) for r in rows))
        return Answers([_seen(people, r) for r in rows], "member", member, part)
    await tx.write_answers(people.network_id)
    rows = await (tx.unit.answers.history(ritual.id, part) if need == "history"
                  else tx.unit.answers.current(ritual.id, None, part))
    if need != "history":
        tx.answers_read = AnswersRead(ritual.id, None, part, frozenset((r.person_id, r.key) for r in rows))
    return Answers([_seen(people, r) for r in rows], need, part=part)


def _overlay(rows: list[AnswerRow], tx: Tx, ritual_id: int, pid: int, part: int | None) -> list[AnswerRow]:
    """A person's current answers in a ritual with this transaction's pending ones applied."""
    out = list(rows)
    for op in tx.answer_ops:
        if op.ritual_id != ritual_id or (part is not None and isinstance(op, AnswerNew) and op.key.part != part):
            continue
        if isinstance(op, Anonymize):
            out = [r for r in out if op.topic not in (None, r.key.topic)]
        elif op.person_id == pid:
            out = [r for r in out if r.key != op.key]
            out.append(AnswerRow(0, ritual_id, op.key, pid, op.value, op.reason, op.subject_id, dict(op.data), op.at,
                                 None))
    return out


def _key_of(people: People, pid: int | None) -> str | None:
    if pid is None:
        return None
    person = people.persons.get(pid)
    return person.key if person is not None else None


def _seen(people: People, r: AnswerRow) -> Answer:
    return Answer(topic=r.key.topic, part=r.key.part, version=r.key.version, member=_key_of(people, r.person_id),
                  value=r.value, reason=r.reason, subject=_key_of(people, r.subject_id), data=r.data, at=r.at,
                  superseded_at=r.superseded_at)


def keep_answer(tx: Tx, people: People, ritual: Ritual, action: RecordAnswer | AnonymizeAnswers) -> None:
    """Kept for the transaction's flush, in order with the others (`Tx.write_answers`)."""
    if isinstance(action, AnonymizeAnswers):
        tx.answer_ops.append(Anonymize(ritual.id, action.topic, action.drop))
        return
    pid = people.person_by_key.get(action.member)
    if pid is None:
        raise LookupError(f"an answer by {action.member}, whom the directory does not know")
    subject = people.person_by_key.get(action.subject) if action.subject is not None else None
    key = AnswerKey(action.topic, action.part, action.version)
    # Read in this very delivery (pending answers of the transaction laid over), the member's
    # answers say whether there is a stored one to supersede; without such a read, assume so.
    fresh = tx.answers_read is not None and tx.answers_read.covers(ritual.id, pid, key)
    tx.answer_ops.append(AnswerNew(ritual.id, key, pid, action.value, tx.when, action.reason, subject,
                                   dict(action.data), fresh))
