"""`oublie-moi confirmer` (a person replaced everywhere by a stable pseudonym) and `mes-donnees`
(the person's own data, as a JSON file)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from bot.engine.directory import People
from bot.engine.register import pseudonym
from bot.engine.tx import Tx
from bot.kernel.i18n import Code, Lines, Msg
from bot.kernel.model import Action, Attachment, Member, PrivateNote, ReplyHandle
from bot.store.forget_rows import FORGOTTEN_PREFIX, Scrub, rewrite, tombstone
from bot.store.ports import Unit
from bot.store.rows import OutboxNew

MEDIA_TYPE = "application/json"


async def forget(member: Member, channel: str, reply_to: ReplyHandle | None, people: People, tx: Tx,
                 locale: str) -> list[Action]:
    """Forget the member: every value of the store that names them (their key, names, account
    ids) names their pseudonym instead; what they answered stays, under that pseudonym."""
    nid = people.network_id
    pid = people.person_by_key[member.key]
    # The directory's row lock orders two forgettings of one network (their numbers differ);
    # what earlier events of this batch decided is written first, so it is rewritten too.
    await people.bump(tx.unit)
    await tx.write_pending(nid)
    number = await tx.unit.forgetting.last_pseudonym(nid) + 1
    rows = await tx.unit.people.persons(nid)
    merged = _merged_into(pid, {r.id: r.merged_into for r in rows})
    ids = {pid, *merged}
    accounts = [a for a in await tx.unit.people.accounts(nid) if a.person_id in ids]
    keys = {r.key for r in rows if r.id in ids}
    names = {r.name for r in rows if r.id in ids} | set(await tx.unit.forgetting.display_names(sorted(ids)))
    scrub = Scrub(
        person_id=pid, new_key=f"{FORGOTTEN_PREFIX}{number}", pseudonym=pseudonym(number, locale),
        keys=frozenset(keys), names=frozenset(n for n in names if n), merged=tuple(sorted(merged)),
        accounts=frozenset((a.platform, a.scope, a.user_id) for a in accounts),
        tombstones=frozenset({tombstone(nid, k) for k in keys}
                             | {tombstone(nid, f"{a.platform}:{a.user_id}") for a in accounts}))
    await tx.unit.forgetting.forget(nid, scrub, tx.now)
    # The rituals this transaction already holds are saved at its end: rewritten the same way.
    for r in tx.rituals.values():
        before = r.state.model_dump(mode="json")
        after = rewrite(before, scrub)
        if after != before:
            r.state = type(r.state).model_validate(after)
            r.dirty = True
    await people.load(tx.unit)
    # The last word goes to the account that asked, which the directory no longer knows: its id
    # travels in this one outbox entry, deleted once sent.
    platform, _, user = member.account.partition(":")
    scope = next((a.scope for a in accounts if a.platform == platform and a.user_id == user), "")
    note = PrivateNote(member=scrub.new_key, channel=channel, reply_to=reply_to,
                       text=Msg("core.profile.forgotten", pseudonym=scrub.pseudonym))
    route = {"member": scrub.new_key, "channel": channel, "recipient": user, "scope": scope}
    tx.outbox_rows.append(OutboxNew(None, f"mlg:{nid}:{scrub.new_key}:forgotten", platform,
                                    note.model_dump(mode="json"), route, tx.now))
    tx.outbox += 1
    return []


def _merged_into(pid: int, merged: dict[int, int | None]) -> set[int]:
    """Everyone merged into the person, directly or through someone merged into them."""
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {i for i, into in merged.items() if into in frontier and i not in out}
        out |= frontier
    return out


async def my_data(member: Member, channel: str, reply_to: ReplyHandle | None, people: People, tx: Tx,
                  summary: Msg) -> list[Action]:
    """A private note with the counts, and the person's own data as a JSON file."""
    pid = people.person_by_key[member.key]
    data = await personal_data(tx.unit, people, pid, tx.now)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    name = f"mes-donnees-{tx.now:%Y-%m-%d}.json"
    return [PrivateNote(member=member.key, channel=channel, reply_to=reply_to,
                        text=Msg("core.profile.my_data_file", summary=summary, file=Code(text=name)),
                        attachment=Attachment(data_b64=base64.b64encode(body).decode("ascii"),
                                              media_type=MEDIA_TYPE, filename=name))]


def _iso(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat()


async def personal_data(unit: Unit, people: People, pid: int, now: datetime) -> dict[str, Any]:
    """Exactly the person's data: their row, accounts, profile values and their sources, every
    answer (superseded ones too), mandates and their own lines in the register. Whom they
    named is said only when it is themselves: nothing about anyone else."""
    nid = people.network_id
    person = people.persons[pid]
    row = next(r for r in await unit.people.persons(nid) if r.id == pid)
    sources = [s for s in await unit.people.sources(nid) if s.person_id == pid]
    answers = await unit.answers.of_person(nid, pid)
    rituals = {r.id: r for r in [await unit.rituals.get(i, lock=False) for i in {a.ritual_id for a in answers}]
               if r is not None}
    mandates = [m for m in await unit.mandates.of_network(nid) if m.person_id == pid]
    register = []
    for e in await unit.register.entries(nid):
        mine = [a for a in e.answers if a.person_id == pid or a.subject_id == pid]
        if mine:
            register.append({
                "kind": e.kind, "number": e.number, "title": e.title, "status": e.status,
                "answers": [{"version": a.version, "choice": a.choice, "reason": a.reason if a.person_id == pid else None,
                             "about_you": a.subject_id == pid, "yours": a.person_id == pid} for a in mine]})
    return {
        "generated_at": now.isoformat(),
        "person": {"key": person.key, "name": person.name, "organisation": person.organisation,
                   "attributes": dict(person.attributes), "locale": person.locale, "opted_out": person.opted_out,
                   "invited": row.invited},
        "accounts": [{"platform": p, "workspace": s, "user_id": u} for p, s, u in person.accounts],
        "profile_sources": [{"field": s.field, "attribute": s.attribute, "source": s.source,
                             "config_value": s.config_value, "changed_at": _iso(s.changed_at),
                             "changed_by_you": s.changed_by == pid if s.changed_by is not None else None}
                            for s in sources],
        "answers": [{"ritual": f"{rituals[a.ritual_id].kind} #{rituals[a.ritual_id].number}"
                     if a.ritual_id in rituals else None,
                     "topic": a.key.topic, "part": a.key.part, "version": a.key.version, "value": a.value,
                     "reason": a.reason, "about_you": a.subject_id == pid if a.subject_id is not None else None,
                     "at": _iso(a.at), "superseded_at": _iso(a.superseded_at)} for a in answers],
        "mandates": [{"role": m.role, "organisation": m.organisation, "how": m.how, "ritual_number": m.ritual_number,
                      "chosen_at": _iso(m.chosen_at), "started_at": _iso(m.started_at), "ends_at": _iso(m.ends_at),
                      "status": m.status, "ended_at": _iso(m.ended_at), "ended_why": m.ended_why}
                     for m in mandates],
        "register": register,
    }


def accounts_line(people: People, pid: int) -> Lines:
    return Lines(items=[Code(text=f"{p}:{u}") for p, _, u in people.persons[pid].accounts], sep=", ")
