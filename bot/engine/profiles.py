"""Editing the directory from the chat: profile values, people added by hand, two persons merged,
roles given and removed, the invitation to complete a profile. Each edit is checked against the
`[directory]` section, recorded with where it came from (`person_sources`), and moves the
directory's version on, so every process sharing the store follows at its next event."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.config.directory import FIELD_WORDS, FieldName
from bot.engine.directory import ANIMATEUR, People, Person
from bot.engine.seeding import config_value
from bot.engine.tx import Tx
from bot.kernel.commands import CommandError, fold
from bot.kernel.i18n import Code, Lines, Msg, Param, ProperName
from bot.kernel.inputs import NAME, TITLE, check_length, shown
from bot.kernel.model import DirectMessage
from bot.store.rows import ProfileField, RitualSave, SourceRow

CLEAR = frozenset({"-", "—", "–"})
"""The value that removes an organisation, an attribute or a chosen language."""

ANIMATEUR_WORDS = frozenset(fold(w) for w in (
    "animateur", "animateurs", "animatrice", "animatrices", "animation", "animator", "facilitator", "facilitation"))

_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>\Z")
_MATRIX_ID = re.compile(r"@[^:\s]+:\S+\Z")
_ACCOUNT = re.compile(r"([a-z][a-z0-9_-]*):(\S+)\Z")


@dataclass(frozen=True)
class FieldWord:
    """A profile field as typed: one of the person's own fields (`field`), or else the name of
    an attribute, checked against the declared ones when it is used."""

    word: str
    field: FieldName | None


def read_field(word: str) -> FieldWord:
    check_length(word, NAME)
    return FieldWord(word, FIELD_WORDS.get(fold(word)))


@dataclass(frozen=True)
class Who:
    """Someone named in a command: a platform account (a Slack mention, a Matrix id,
    `platform:user`) or words to match a person's key, account or name."""

    typed: str
    account: tuple[str, str] | None
    """(platform, user id); the platform is "" when any will do."""

    @property
    def words(self) -> str:
        return self.typed.strip().removeprefix("@")


def read_who(word: str) -> Who:
    check_length(word, NAME)
    text = word.strip()
    if m := _SLACK_MENTION.match(text):
        return Who(text, ("slack", m.group(1)))
    if _MATRIX_ID.match(text):
        return Who(text, ("matrix", text))
    if m := _ACCOUNT.match(text):
        return Who(text, (m.group(1), m.group(2)))
    return Who(text, None)


def rename_key(value: Any, old: str, new: str, keys: frozenset[str]) -> tuple[Any, bool]:
    """`value` (a ritual's state as JSON) with every map keyed by people (all its keys are
    person keys) holding `old`'s entry under `new` instead; where `new` has one already, `new`'s
    is kept. Values are left alone: a draw's published pool and hashes stay as they were."""
    if isinstance(value, list):
        items = [rename_key(v, old, new, keys) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if not isinstance(value, dict):
        return value, False
    out: dict[str, Any] = {}
    changed = False
    for k, v in value.items():
        out[k], c = rename_key(v, old, new, keys)
        changed = changed or c
    if old in out and all(k in keys for k in out):
        entry = out.pop(old)
        out.setdefault(new, entry)
        changed = True
    return out, changed


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:60] or "membre"


class Editor:
    """The directory's edits within one transaction, by the person `by`."""

    def __init__(self, people: People, tx: Tx, by: int) -> None:
        self.people = people
        self.tx = tx
        self.by = by

    @property
    def config(self) -> Config:
        return self.people.config

    # -- finding people ----------------------------------------------------------------

    def resolve(self, who: Who) -> int:
        """The living person `who` names, or CommandError saying none or several do."""
        people = self.people
        if who.account is not None:
            platform, user = who.account
            for (p, _, u), owner in people.account_index.items():
                if u == user and (p == platform or not platform) and owner in people.persons:
                    return owner
        keyed = people.person_by_key.get(who.typed) or people.person_by_key.get(who.words)
        if keyed is not None and keyed in people.persons:
            return keyed
        wanted = fold(who.words)
        found = {pid for (_, _, user), pid in people.account_index.items() if fold(user) == wanted}
        if not found:
            found = {p.id for p in people.persons.values() if fold(p.name) == wanted and not p.is_bot}
        if not found:
            found = {p.id for p in people.persons.values() if fold(p.name).split(" ")[0] == wanted and not p.is_bot}
        found &= set(people.persons)
        if len(found) == 1:
            return found.pop()
        if found:
            names = ", ".join(sorted(f"{people.persons[p].name} ({people.persons[p].key})" for p in found))
            raise CommandError(Msg("core.directory.ambiguous", who=shown(who.typed), names=names))
        raise CommandError(Msg("core.cmd.unknown_member", who=shown(who.typed)))

    # -- values ------------------------------------------------------------------------

    def attribute_of(self, word: FieldWord) -> tuple[ProfileField, str]:
        """The field a typed word names, or CommandError listing those there are."""
        if word.field is not None:
            return word.field, ""
        attribute = self.config.attributes.find(word.word)
        if attribute is None:
            fields: list[Param] = [Msg(f"core.directory.field_{f}") for f in ("name", "organisation", "locale")]
            fields += list(self.config.attributes.names)
            raise CommandError(Msg("core.directory.unknown_field", word=shown(word.word),
                                   fields=Lines(items=fields, sep=", ")))
        return "attribute", attribute

    def _value(self, kind: ProfileField, attribute: str, raw: str) -> str | None:
        """The value to store (None: removed), or CommandError saying what is allowed."""
        text = raw.strip()
        if kind == "name":
            if not text or text in CLEAR:
                raise CommandError(Msg("core.directory.empty_name"))
            return check_length(text, TITLE)
        if text in CLEAR:
            return None
        if kind == "locale":
            if fold(text) not in ("fr", "en"):
                raise CommandError(Msg("core.profile.unknown_language", value=shown(text)))
            return fold(text)
        if kind == "organisation":
            check_length(text, TITLE)
            known = (p.organisation for p in self.people.persons.values() if p.organisation)
            # The spelling the network already uses: quotas count "La Ruche" and "la ruche" once.
            return next((o for o in known if fold(o) == fold(text)), text)
        check_length(text, NAME)
        allowed = self.config.attributes.allowed.get(attribute)
        value: str | None = self.config.attributes.value(attribute, text)
        if value is None:
            raise CommandError(Msg("core.directory.not_allowed", value=shown(text), attribute=attribute,
                                   allowed=Code(text=", ".join(allowed or ()))))
        if not allowed:
            known = (p.attributes.get(attribute, "") for p in self.people.persons.values())
            value = next((v for v in known if v and fold(v) == fold(text)), text)
        return value

    def _source(self, person: Person, kind: ProfileField, attribute: str) -> SourceRow:
        said = config_value(self.config, person.key, person.accounts, kind, attribute)
        return SourceRow(person.id, kind, attribute, "chat", said, self.tx.now, self.by)

    async def set_value(self, pid: int, word: FieldWord, raw: str) -> tuple[ProfileField, str, str | None]:
        """Set one value of a person's profile; (field, attribute, the value stored)."""
        kind, attribute = self.attribute_of(word)
        value = self._value(kind, attribute, raw)
        person = self.people.persons[pid]
        unit = self.tx.unit
        if kind == "attribute":
            attributes = dict(person.attributes)
            if value is None:
                attributes.pop(attribute, None)
            else:
                attributes[attribute] = value
            await self.people.update(unit, pid, attributes=attributes)
        else:
            await self.people.update(unit, pid, **{kind: value})
        await unit.people.put_sources([self._source(person, kind, attribute)])
        return kind, attribute, value

    # -- people ------------------------------------------------------------------------

    async def add_person(self, name: str, organisation: str | None, account: str | None) -> Person:
        people, unit = self.people, self.tx.unit
        name = self._value("name", "", name) or ""
        org = self._value("organisation", "", organisation) if organisation else None
        where: tuple[str, str] | None = None
        if account is not None:
            where = self._account(account)
        taken = set(people.person_by_key) | set(people.declared)
        base = key = _slug(name)
        n = 1
        while key in taken or await unit.people.person_id(people.network_id, key) is not None:
            n += 1
            key = f"{base}-{n}"
        pid = await unit.people.add_person(people.network_id, key, name, organisation=org, now=self.tx.now)
        person = Person(pid, key, name, org, {}, None, False, False)
        if where is not None:
            await unit.people.add_account(people.network_id, where[0], "", where[1], pid)
            person.accounts.append((where[0], "", where[1]))
            people.account_index[(where[0], "", where[1])] = pid
        people.persons[pid] = person
        people.person_by_key[key] = pid
        await unit.people.put_sources([self._source(person, "name", "")] +
                                      ([self._source(person, "organisation", "")] if org else []))
        await people.bump(unit)
        return person

    def _account(self, typed: str) -> tuple[str, str]:
        platforms = sorted(p.name for p in self.config.platforms)
        platform, _, user = typed.strip().partition(":")
        if platform not in platforms or not user:
            raise CommandError(Msg("core.directory.bad_account", value=shown(typed),
                                   example=Code(text="matrix:@emma:example.org")))
        owner = self.people.person_of(platform, "", user)
        if owner is None:
            owner = next((pid for (p, _, u), pid in self.people.account_index.items() if p == platform and u == user),
                         None)
        if owner is not None:
            raise CommandError(Msg("core.directory.account_taken", account=Code(text=typed),
                                   name=self.people.persons[owner].name,
                                   command=Code(text=f"membre fusionner @… {typed}")))
        return platform, user

    async def merge(self, into: int, absorbed: int) -> None:
        """`absorbed` becomes `into`: accounts, channels, roles, and their answers in open
        rituals where `into` has none (where both answered, `into`'s answer is kept)."""
        people, unit = self.people, self.tx.unit
        keep, gone = people.persons[into], people.persons[absorbed]
        filled: dict[str, object] = {}
        sources: list[SourceRow] = []
        if keep.organisation is None and gone.organisation:
            filled["organisation"] = gone.organisation
            sources.append(self._source(keep, "organisation", ""))
        if keep.locale is None and gone.locale:
            filled["locale"] = gone.locale
            sources.append(self._source(keep, "locale", ""))
        missing = {a: v for a, v in gone.attributes.items() if a not in keep.attributes}
        if missing:
            filled["attributes"] = {**keep.attributes, **missing}
            sources += [self._source(keep, "attribute", a) for a in missing]
        if gone.opted_out and not keep.opted_out:
            filled["opted_out"] = True  # one person: their wish not to be asked holds for both accounts
        if gone.invited and not keep.invited:
            await unit.people.mark_invited(into, self.tx.now)  # invited once means once per person
        await self._move_answers(gone.key, keep.key)
        if filled:
            await unit.people.update_person(into, **filled)
        await unit.people.merge(people.network_id, absorbed, into)
        if sources:
            await unit.people.put_sources(sources)
        await people.load(unit)
        await people.bump(unit)

    async def _move_answers(self, old: str, new: str) -> None:
        keys = frozenset(self.people.person_by_key)
        tx = self.tx
        wanted: list[int] = []
        for row in await tx.unit.rituals.open(self.people.network_id):
            cached = tx.rituals.get(row.id)
            if cached is not None:
                # Loaded earlier in this transaction: its state here is the newest.
                state, changed = rename_key(cached.state.model_dump(mode="json"), old, new, keys)
                if changed:
                    cached.state = type(cached.state).model_validate(state)
                    cached.dirty = True
            elif rename_key(row.state, old, new, keys)[1]:
                wanted.append(row.id)
        saves: list[RitualSave] = []
        for row in await tx.unit.rituals.get_many(wanted):  # locked, and read again under the lock
            state, changed = rename_key(row.state, old, new, keys)
            if changed:
                saves.append(RitualSave(row.id, state, row.version, row.status, list(row.channels)))
        if saves:
            await tx.unit.rituals.save(saves, tx.now)

    # -- roles -------------------------------------------------------------------------

    def role_of(self, typed: str) -> str:
        text = check_length(typed.strip(), NAME)
        if fold(text) in ANIMATEUR_WORDS:
            return ANIMATEUR
        return next((r for r in self.people.roles if fold(r) == fold(text)), text)

    async def set_role(self, pid: int, role: str, held: bool) -> bool:
        """Give or remove a role; False when the person already had it (or had not)."""
        people, unit = self.people, self.tx.unit
        holders = people.roles.setdefault(role, set())
        if (pid in holders) == held:
            return False
        if not held and role == ANIMATEUR and holders == {pid}:
            raise CommandError(Msg("core.directory.last_animateur", name=people.persons[pid].name))
        await unit.people.set_role(people.network_id, role, pid, held)
        if held:
            holders.add(pid)
        else:
            holders.discard(pid)
        await unit.people.put_sources([self._source(people.persons[pid], "role", role)])
        await people.bump(unit)
        return True


def invitation(people: People, pid: int, network: ProperName) -> DirectMessage | None:
    """What to say, once and privately, to someone who joins with an incomplete profile."""
    lines = invitation_lines(people, pid)
    if lines is None:
        return None
    return DirectMessage(member=people.persons[pid].key, text=Msg("core.directory.invite", network=network,
                                                                  lines=lines))


def invitation_lines(people: People, pid: int) -> Lines | None:
    """What the person may still complete in their profile, one line each (None: nothing, or
    they were already invited, or they are not to be asked)."""
    person = people.persons[pid]
    if person.invited or person.is_bot or person.opted_out:
        return None
    attrs = people.config.attributes
    lines: list[Param] = []
    if not person.organisation:
        lines.append(Msg("core.directory.invite_organisation"))
    for name in attrs.names:
        if name in person.attributes:
            continue
        allowed: Mapping[str, tuple[str, ...]] = attrs.allowed
        if allowed.get(name):
            lines.append(Msg("core.directory.invite_choice", attribute=name,
                             values=Code(text=" | ".join(allowed[name]))))
        else:
            lines.append(Msg("core.directory.invite_free", attribute=name))
    if not lines:
        return None
    return Lines(items=lines)


async def invite(people: People, tx: Tx, pid: int, network: ProperName) -> DirectMessage | None:
    """The invitation, if it is still due: recorded in the store in the same transaction, so a
    rejoin or another process does not send it again."""
    message = invitation(people, pid, network)
    if message is None or not await _mark(people, tx, pid):
        return None
    return message


async def invite_within(people: People, tx: Tx, pid: int) -> Lines | None:
    """The invitation's lines, if it is still due, for a ritual that `greets` to say in its own
    private message (the newcomer gets one message); recorded as `invite` does."""
    lines = invitation_lines(people, pid)
    if lines is None or not await _mark(people, tx, pid):
        return None
    return lines


async def _mark(people: People, tx: Tx, pid: int) -> bool:
    people.persons[pid].invited = True
    people.changed()
    return await tx.unit.people.mark_invited(pid, tx.now)
