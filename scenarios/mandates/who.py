"""Who does what: each role's holders, for which organisation, until when — the `qui` query and
the lines the welcome and the digest show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.kernel.commands import fold
from bot.kernel.i18n import Lines, Msg, Param, When, has_key
from bot.kernel.mandates import Mandate, MandatesView, RoleSpec, same_role
from bot.kernel.model import Action, Member, PrivateNote
from bot.kernel.scenario import Context, Directory

ANIMATEUR = "animateur"


def how(m: Mandate) -> Msg:
    """How they were chosen: elected (election #3), drawn (draw #2), appointed by whom, when."""
    if m.how == "election" and m.ritual_number is not None:
        return Msg("mandates.how.election", number=m.ritual_number)
    if m.how == "draw" and m.ritual_number is not None:
        return Msg("mandates.how.reserve" if m.reserve_rank else "mandates.how.draw", number=m.ritual_number)
    if m.how == "appointed" and m.appointed_by:
        return Msg("mandates.how.appointed_by", by=m.appointed_by, on=When(at=m.chosen_at, style="date"))
    return Msg("mandates.how.appointed", on=When(at=m.chosen_at, style="date"))


def holder(m: Mandate, now: datetime) -> Msg:
    """One holder: name (organisation), how chosen, until when (from when, for a term ahead)."""
    until = When(at=m.ends_at, style="date")
    org: Param = Msg("mandates.who.org", organisation=m.organisation) if m.organisation else ""
    if m.started_at is not None and m.started_at > now:
        return Msg("mandates.who.upcoming", name=m.name, org=org, how=how(m),
                   start=When(at=m.started_at, style="date"), until=until)
    return Msg("mandates.who.holder", name=m.name, org=org, how=how(m), until=until)


def role_line(spec: RoleSpec, view: MandatesView, now: datetime) -> Msg:
    """A declared role: its holders now, those chosen for the next term, its vacant seats."""
    held = view.holding(spec.name, now)
    items: list[Param] = [holder(m, now) for m in held]
    items += [holder(m, now) for m in view.upcoming(spec.name, now)]
    items += [Msg("mandates.who.offered", name=m.name, number=m.ritual_number or 0)
              for m in view.offered(spec.name)]
    vacant = spec.seats - len(held) - len(view.offered(spec.name))
    if vacant > 0:
        items.append(Msg("mandates.who.vacant", count=vacant))
    if len(items) == 1:
        return Msg("mandates.who.line", role=spec.name, people=items[0])
    # Several seats: one holder a line, under the role.
    return Msg("mandates.who.lines", role=spec.name,
               people=Lines(items=[Msg("mandates.who.seat", item=i) for i in items]))


def listed_line(role: str, keys: Sequence[str], directory: Directory) -> Msg | None:
    """A role the config lists (`animateurs`, `"délégué" = [...]`): its holders, no term."""
    names = sorted((_name(directory, k) for k in keys), key=str.casefold)
    if not names:
        return None
    # The engine's catalog names the roles it knows; other roles are the config's words.
    label: Param = Msg(f"core.charter.role_{role}") if has_key(f"core.charter.role_{role}") else role
    return Msg("mandates.who.line", role=label, people=Lines(items=list(names), sep=", "))


def _name(directory: Directory, key: str) -> str:
    member = directory.member(key)
    return member.name if member else key


def lines(view: MandatesView, listed: Mapping[str, Sequence[str]], directory: Directory,
          now: datetime) -> list[Msg]:
    """Every role, declared ones first (alphabetical), then the listed ones."""
    out = [role_line(spec, view, now) for _, spec in sorted(view.roles.items(), key=lambda i: fold(i[0]))]
    for role in sorted(listed, key=fold):
        if any(same_role(role, declared) for declared in view.roles):
            continue
        line = listed_line(role, listed[role], directory)
        if line is not None:
            out.append(line)
    return out


def organisations_without_role(view: MandatesView, listed: Mapping[str, Sequence[str]], directory: Directory,
                               now: datetime) -> list[str]:
    """The network's organisations of which no one holds a role now (declared or listed)."""
    everyone = [m for m in directory.members.values() if not m.is_bot and not m.opted_out and m.organisation]
    known: dict[str, str] = {}
    for m in everyone:
        known.setdefault(fold(m.organisation or ""), m.organisation or "")
    held = {fold(m.organisation) for spec in view.roles for m in view.holding(spec, now) if m.organisation}
    for keys in listed.values():
        for key in keys:
            member = directory.member(key)
            if member is not None and member.organisation:
                held.add(fold(member.organisation))
    return sorted((name for folded, name in known.items() if folded not in held), key=str.casefold)


def answer_who(ctx: Context, member: Member, args: Mapping[str, Any], now: datetime) -> list[Action]:
    """`qui [rôle|@personne|organisation]`: privately, to whoever asked. Organisations without
    anyone in a role are for animateurs only (they are the ones to do something about it)."""
    what = str(args.get("what") or "").strip()
    view, listed, directory = ctx.mandates, ctx.network.roles, ctx.directory

    def note(text: Msg) -> list[Action]:
        # Privately where the command was typed: the engine gives the note its reply handle.
        return [PrivateNote(member=member.key, channel="dm", text=text)]

    if not what:
        found = lines(view, listed, directory, now)
        body: list[Param] = list(found) if found else [Msg("mandates.who.none")]
        if member.is_animateur:
            orgs = organisations_without_role(view, listed, directory, now)
            if orgs:
                body.append(Msg("mandates.who.orgs_without", orgs=Lines(items=list(orgs), sep=", ")))
        return note(Msg("mandates.who.all", lines=Lines(items=body)))
    return note(_filtered(what, ctx, member, now))


def _filtered(what: str, ctx: Context, asker: Member, now: datetime) -> Msg:
    view, listed, directory = ctx.mandates, ctx.network.roles, ctx.directory
    spec = view.role(what)
    if spec is not None:
        return Msg("mandates.who.one", lines=role_line(spec, view, now))
    role = next((r for r in sorted(listed) if same_role(r, what)), None)
    if role is not None:
        line = listed_line(role, listed[role], directory)
        return Msg("mandates.who.one", lines=line if line is not None else Msg("mandates.who.nobody", role=role))
    person = _person(directory, what)
    if person is not None:
        return _of_person(person, ctx, now)
    organisation = _organisation(directory, view, what)
    if organisation is not None:
        return _of_organisation(organisation, ctx, asker, now)
    roles = [*sorted(view.roles, key=fold), *(r for r in sorted(listed, key=fold)
                                             if not any(same_role(r, d) for d in view.roles))]
    shown: list[Param] = [Msg(f"core.charter.role_{r}") if has_key(f"core.charter.role_{r}") else r for r in roles]
    return Msg("mandates.who.no_match", what=what,
               roles=Lines(items=shown, sep=", ") if shown else Msg("mandates.who.no_roles"))


def _person(directory: Directory, what: str) -> Member | None:
    wanted = fold(what.lstrip("@").strip())
    for m in sorted(directory.members.values(), key=lambda m: m.key):
        if m.is_bot or m.opted_out:
            continue
        if wanted in (fold(m.key), fold(m.name)) or fold(m.account) == wanted:
            return m
    return None


def _organisation(directory: Directory, view: MandatesView, what: str) -> str | None:
    wanted = fold(what.strip())
    names = [m.organisation for m in directory.members.values() if m.organisation]
    names += [m.organisation for m in view.mandates if m.organisation]
    return next((n for n in sorted(names) if fold(n) == wanted), None)


def _of_person(person: Member, ctx: Context, now: datetime) -> Msg:
    view, listed = ctx.mandates, ctx.network.roles
    items: list[Param] = [Msg("mandates.who.role_of", role=m.role, detail=holder(m, now))
                          for m in view.current_of(person.key, now)]
    for role in sorted(listed, key=fold):
        if person.key in listed[role] and not any(same_role(role, d) for d in view.roles):
            items.append(Msg(f"core.charter.role_{role}") if has_key(f"core.charter.role_{role}") else role)
    if not items:
        return Msg("mandates.who.person_none", name=person.name)
    return Msg("mandates.who.person", name=person.name, lines=Lines(items=items))


def _of_organisation(organisation: str, ctx: Context, asker: Member, now: datetime) -> Msg:
    view, listed, directory = ctx.mandates, ctx.network.roles, ctx.directory
    wanted = fold(organisation)
    items: list[Param] = []
    for spec in sorted(view.roles, key=fold):
        for m in [*view.holding(spec, now), *view.upcoming(spec, now)]:
            if m.organisation and fold(m.organisation) == wanted:
                items.append(Msg("mandates.who.role_of", role=spec, detail=holder(m, now)))
    for role in sorted(listed, key=fold):
        if any(same_role(role, d) for d in view.roles):
            continue
        for key in listed[role]:
            member = directory.member(key)
            if member is not None and member.organisation and fold(member.organisation) == wanted:
                label: Param = Msg(f"core.charter.role_{role}") if has_key(f"core.charter.role_{role}") else role
                items.append(Msg("mandates.who.role_of", role=label, detail=member.name))
    if not items:
        return Msg("mandates.who.organisation_none", organisation=organisation)
    return Msg("mandates.who.organisation", organisation=organisation, lines=Lines(items=items))
