"""The mandates ritual: present in every network that declares roles. It closes terms as they
end, tells the animateurs `notice` before a term ends and proposes the renewal (or starts it,
`auto`), offers a freed seat to the next on the reserve list, and never lets a role stay empty
without the animateurs being told — privately, once per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.kernel.i18n import Code, Lines, Msg, Param, When
from bot.kernel.mandates import (
    TERM_GRACE,
    WAKE,
    Mandate,
    MandateChange,
    MandatesView,
    RoleSpec,
    Why,
    same_role,
)
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Event,
    PrivateNote,
    Ref,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario
from scenarios.mandates.commands import COMMANDS, RENEW, RESIGN
from scenarios.mandates.renewal import Plan, command, ending_line, no_candidate, plan, proposal
from scenarios.mandates.seats import ACCEPT, DECLINE, OFFER, ended, fill, record, team
from scenarios.mandates.state import MandatesState, Renewal

LOOK = Ref(scope="mandates", role="look")
"""The ritual's own timer: the next notice or end of term (at the latest a week ahead)."""
LONGEST_WAIT = timedelta(days=7)
PATIENCE = timedelta(days=30)
"""A renewal that has chosen no one after this long is said to have failed."""
FAILED_DRAW = frozenset({"cancelled", "incomplete"})
FAILED_ELECTION = frozenset({"lapsed", "cancelled", "closed"})


class Mandates:
    """The ritual bound to one network's context; `handle` is pure."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def handle(self, state: MandatesState, event: Event, now: datetime) -> tuple[MandatesState, list[Action]]:
        match event:
            case Started():
                # A look right after the start, not in it: at boot the channels' members are
                # read from the platforms after the configured rituals start.
                return state.model_copy(update={"next_look": now}), [SetTimer(name=LOOK, due_at=now)]
            case TimerFired(name=name) if name in (LOOK, WAKE):
                return self.look(state, now)
            case TimerFired(name=Ref(role=role, member=member)) if role == OFFER and member is not None:
                return self.answered(state, member, "no_answer", now)
            case Chose(ref=Ref(role=role, member=member), choice=choice) if role == OFFER and \
                    member == event.member.key and choice in (ACCEPT, DECLINE):
                return self.answered(state, member, "accept" if choice == ACCEPT else "decline", now)
            case Command(name=RESIGN.name):
                return self.resign(state, event, now)
            case Command(name=RENEW.name):
                return self.renew(state, event, now)
        return state, []

    # -- looking at the roles -------------------------------------------------------------

    def look(self, state: MandatesState, now: datetime) -> tuple[MandatesState, list[Action]]:
        st = state.model_copy(deep=True)
        view = self.ctx.mandates
        out: list[Action] = []
        news: list[Param] = []
        for name, spec in sorted(view.roles.items()):
            view = self.close_terms(view, spec, now, out)
            self.follow_renewal(st, view, spec, now, news)
            view = self.over_limit(st, view, spec, now, out)
            p = plan(self.ctx, view, spec, now)
            vacant = max(0, spec.seats - len(view.holding(name, now)) - len(view.offered(name)))
            busy = name in st.renewals or any(o.role == name for o in st.offers)
            notices = [f"notice:{m.id}" for m in p.ending]
            new = [k for k in notices if k not in st.told] or vacant > st.vacant_told.get(name, 0)
            if p.seats and not busy and new:
                for key in notices:
                    st.tell_once(key)
                started, said = self.announce(st, p, now)
                out += started
                news.append(said)
                st.vacant_told[name] = vacant
            else:
                # Seats filled since: a seat that frees again later is news again.
                st.vacant_told[name] = min(st.vacant_told.get(name, 0), vacant)
        if news:
            # One message for all the roles that need the animateurs at this look.
            out += team(self.ctx, Msg("mandates.team.message", lines=Lines(items=news, sep="\n\n")))
        if not view.roles:
            # No role declared (an instance a command made): nothing to look at later.
            st.next_look = None
            return st, out
        st.next_look = self.next_look(view, st, now)
        out.append(SetTimer(name=LOOK, due_at=st.next_look))
        return st, out

    def close_terms(self, view: MandatesView, spec: RoleSpec, now: datetime, out: list[Action]) -> MandatesView:
        """Terms whose end has come: "replaced" when someone chosen for the next term takes the
        seat, "term" otherwise (the role then has a vacant seat, said below)."""
        for m in [m for m in view.of_role(spec.name) if m.status == "active" and m.ends_at <= now]:
            successor = any(x.id != m.id and x.status == "active" and x.started_at is not None
                            and abs(x.started_at - m.ends_at) <= TERM_GRACE for x in view.of_role(spec.name))
            why: Why = "replaced" if successor else "term"
            out.append(record(MandateChange(op="end", role=spec.name, member=m.member or "", mandate=m.id, why=why,
                                            at=m.ends_at)))
            view = ended(view, m, m.ends_at, why)
        return view

    def follow_renewal(self, st: MandatesState, view: MandatesView, spec: RoleSpec, now: datetime,
                       news: list[Param]) -> None:
        """A renewal is over once it chose as many as it was for; one that failed (a draw
        cancelled, an election without anyone elected, nothing after `PATIENCE`) is said."""
        ren = st.renewals.get(spec.name)
        if ren is None:
            return
        chosen = [m for m in view.of_role(spec.name) if m.chosen_at >= ren.started_at and m.how != "appointed"
                  and m.reserve_rank is None]
        if len(chosen) >= ren.seats:
            del st.renewals[spec.name]
            return
        if self.failed(spec, ren) or now - ren.started_at > PATIENCE:
            del st.renewals[spec.name]
            st.vacant_told[spec.name] = 0  # the seats still missing are said again now
            if st.tell_once(f"failed:{spec.name}:{ren.started_at.isoformat()}"):
                news.append(Msg("mandates.team.failed", role=spec.name, on=When(at=ren.started_at, style="date")))

    def failed(self, spec: RoleSpec, ren: Renewal) -> bool:
        for e in self.ctx.log:
            if e.at < ren.started_at or not same_role(str(e.summary.get("role") or ""), spec.name):
                continue
            if e.kind == "draw" and e.summary.get("status") in FAILED_DRAW:
                return True
            if e.kind == "election" and e.summary.get("outcome") in FAILED_ELECTION:
                return True
        return False

    def over_limit(self, st: MandatesState, view: MandatesView, spec: RoleSpec, now: datetime,
                   out: list[Action]) -> MandatesView:
        """Someone chosen beyond `max_consecutive` by a draw that did not leave them out: the
        seat goes to the next on the draw's reserve list, as if they had declined it (an
        election's choice stands: the animateurs are told). Once per mandate."""
        limit = spec.max_consecutive
        if limit is None:
            return view
        for m in [*view.holding(spec.name, now), *view.upcoming(spec.name, now)]:
            if m.how == "appointed" or m.member is None or m.started_at is None:
                continue
            if view.consecutive(spec.name, m.member, m.started_at) <= limit or not st.tell_once(f"over:{m.id}"):
                continue
            head = Msg("mandates.team.over_limit", name=m.name, role=spec.name, max=limit)
            if m.how != "draw":
                out += team(self.ctx, head)
                continue
            out.append(record(MandateChange(op="end", role=spec.name, member=m.member, mandate=m.id,
                                            why="over_limit")))
            out.append(DirectMessage(member=m.member, text=Msg("mandates.offer.over_limit", role=spec.name, max=limit)))
            view = ended(view, m, now, "over_limit")
            out += self.refill(st, view, spec, m, m.member, now, head, "decline")
        return view

    def next_look(self, view: MandatesView, st: MandatesState, now: datetime) -> datetime:
        times = [now + LONGEST_WAIT]
        for spec in view.roles.values():
            for m in view.of_role(spec.name):
                if m.status != "active":
                    continue
                if m.ends_at - spec.notice > now and f"notice:{m.id}" not in st.told:
                    times.append(m.ends_at - spec.notice)
                times.append(m.ends_at)
        for ren in st.renewals.values():
            times.append(ren.started_at + PATIENCE + timedelta(minutes=1))
        return max(min(t for t in times if t > now) if any(t > now for t in times) else now + LONGEST_WAIT,
                   now + timedelta(minutes=1))

    # -- telling the animateurs ---------------------------------------------------------------

    def announce(self, st: MandatesState, p: Plan, now: datetime, head: Msg | None = None) -> tuple[list[Action], Msg]:
        """What the animateurs are to hear of a role that needs someone: what happened, the
        seats, the renewal as the role says it — started when the role is `auto`, else the
        command that starts it. Returns the renewal started (if any) and the words."""
        spec = p.spec
        parts: list[Param] = [head] if head is not None else []
        vacant = p.seats - len(p.ending)
        if vacant > 0:
            parts.append(Msg("mandates.team.vacant", role=spec.name, count=vacant, seats=spec.seats))
        if p.ending:
            parts.append(Msg("mandates.team.ending_role", role=spec.name, ending=ending_line(self.ctx, p)))
        if not p.has_candidates:
            parts.append(no_candidate(self.ctx, p))
            return [], Msg("mandates.team.lines", lines=Lines(items=parts))
        parts.append(proposal(self.ctx, p))
        # Started in the name of an animateur (the draw and the election say who launched them).
        starter = self.first_animateur() if spec.auto else None
        actions: list[Action] = []
        if starter is not None:
            actions.append(p.start(starter))
            st.renewals[spec.name] = Renewal(role=spec.name, how=spec.renew_by, seats=p.seats, started_at=now)
            parts.append(Msg("mandates.team.started_auto"))
        else:
            parts.append(Msg("mandates.team.renew_hint", command=command(spec)))
        return actions, Msg("mandates.team.lines", lines=Lines(items=parts))

    def first_animateur(self) -> str | None:
        keys = sorted(self.ctx.network.roles.get("animateur", ()))
        return keys[0] if keys else None

    # -- resignations and seats offered -------------------------------------------------------

    def resign(self, state: MandatesState, cmd: Command, now: datetime) -> tuple[MandatesState, list[Action]]:
        view, member = self.ctx.mandates, cmd.member

        def note(text: Msg) -> list[Action]:
            return [PrivateNote(member=member.key, channel=cmd.channel, text=text, reply_to=cmd.reply_to)]

        mine = view.current_of(member.key, now)
        typed = str(cmd.args.get("role") or "").strip()
        if typed:
            spec = view.role(typed)
            mine = [m for m in mine if spec is not None and m.role == spec.name]
            if not mine:
                return state, note(Msg("mandates.resign.not_yours", role=typed))
        if not mine:
            return state, note(Msg("mandates.resign.nothing"))
        roles = sorted({m.role for m in mine})
        if len(roles) > 1:
            return state, note(Msg("mandates.resign.which", roles=Lines(items=list(roles), sep=", "),
                                   example=Code(text=f"mandat quitter {roles[0]}")))
        spec = view.roles[roles[0]]
        st = state.model_copy(deep=True)
        out: list[Action] = []
        for m in mine:
            out.append(record(MandateChange(op="end", role=spec.name, member=member.key, mandate=m.id,
                                            why="resignation")))
            view = ended(view, m, now, "resignation")
        out += note(Msg("mandates.resign.done", role=spec.name))
        seat = next((m for m in mine if m.holds(now)), mine[0])
        head = Msg("mandates.team.resigned", name=member.name, role=spec.name)
        out += self.refill(st, view, spec, seat, member.key, now, head, "resignation")
        return st, out

    def refill(self, st: MandatesState, view: MandatesView, spec: RoleSpec, seat: Mandate, leaving: str,
               now: datetime, head: Msg, why: str) -> list[Action]:
        """A seat freed: offered to the next on the reserve list, or said to the animateurs."""
        ctx = replace(self.ctx, mandates=view)
        new, acts, who = fill(ctx, st, spec, seat, leaving, now, "no_answer" if why == "no_answer" else "decline")
        st.offers, st.reserves = new.offers, new.reserves
        if who is not None:
            offered = ctx.directory.member(who)
            return acts + team(self.ctx, Msg("mandates.team.message", lines=Lines(items=[
                head, Msg("mandates.team.offered", next=offered.name if offered else who, role=spec.name,
                          number=seat.ritual_number or 0)])))
        if spec.name in st.renewals:
            return team(self.ctx, Msg("mandates.team.message", lines=Lines(items=[
                head, Msg("mandates.team.renewal_running", role=spec.name)])))
        p = plan(ctx, view, spec, now)
        st.vacant_told[spec.name] = max(0, spec.seats - len(view.holding(spec.name, now)) - len(view.offered(spec.name)))
        if not p.seats:
            return team(self.ctx, Msg("mandates.team.message", lines=head))
        started, said = self.announce(st, p, now, head=Msg("mandates.team.lines", lines=Lines(items=[
            head, Msg("mandates.team.no_reserve" if seat.how == "draw" else "mandates.team.new_choice")])))
        return started + team(self.ctx, Msg("mandates.team.message", lines=said))

    def answered(self, state: MandatesState, member: str, answer: str,
                 now: datetime) -> tuple[MandatesState, list[Action]]:
        offer = next((o for o in state.offers if o.member == member), None)
        if offer is None:
            return state, []
        st = state.model_copy(deep=True)
        st.offers = [o for o in st.offers if o.member != member]
        ref = Ref(role=OFFER, member=member)
        who = self.ctx.directory.member(member)
        name = who.name if who else member
        spec = self.ctx.mandates.roles.get(offer.role)
        if answer == "accept":
            return st, [
                CancelTimer(name=ref),
                record(MandateChange(op="accept", role=offer.role, member=member)),
                DirectMessage(member=member, text=Msg("mandates.offer.thanks", role=offer.role,
                                                      until=When(at=offer.ends_at, style="date"))),
                *team(self.ctx, Msg("mandates.team.accepted", name=name, role=offer.role,
                                    until=When(at=offer.ends_at, style="date"))),
            ]
        out: list[Action] = [CancelTimer(name=ref),
                             record(MandateChange(op="decline", role=offer.role, member=member,
                                                  why="no_answer" if answer == "no_answer" else "decline"))]
        if answer == "decline":
            out.append(DirectMessage(member=member, text=Msg("mandates.offer.noted")))
        if spec is None:
            return st, out
        view = self.ctx.mandates
        view = replace(view, mandates=tuple(
            replace(m, status="ended", ended_at=now, why="decline") if m.status == "offered" and m.member == member
            and m.role == offer.role else m for m in view.mandates))
        seat = Mandate(id=offer.replaces, role=offer.role, member=member, name=name, organisation=None, how="draw",
                       chosen_at=now, ends_at=offer.ends_at, ritual_number=offer.draw, started_at=offer.starts_at)
        head = Msg("mandates.team.declined" if answer == "decline" else "mandates.team.no_answer", name=name,
                   role=offer.role)
        out += self.refill(st, view, spec, seat, member, now, head, answer)
        return st, out

    # -- an animateur starts a renewal ------------------------------------------------------------

    def renew(self, state: MandatesState, cmd: Command, now: datetime) -> tuple[MandatesState, list[Action]]:
        view = self.ctx.mandates

        def note(text: Msg) -> list[Action]:
            return [PrivateNote(member=cmd.member.key, channel=cmd.channel, text=text, reply_to=cmd.reply_to)]

        typed = str(cmd.args.get("role") or "").strip()
        spec = view.role(typed)
        if spec is None:
            declared: Sequence[str] = sorted(view.roles)
            return state, note(Msg("mandates.renew.unknown", role=typed, roles=Lines(items=list(declared), sep=", "))
                               if declared else Msg("mandates.renew.none_declared"))
        running = state.renewals.get(spec.name)
        if running is not None:
            return state, note(Msg("mandates.renew.running", role=spec.name,
                                   on=When(at=running.started_at, style="date")))
        p = plan(self.ctx, view, spec, now, asked=True)
        if not p.seats:
            return state, note(Msg("mandates.renew.nothing", role=spec.name))
        if not p.has_candidates:
            return state, note(no_candidate(self.ctx, p))
        st = state.model_copy(deep=True)
        for m in p.ending:
            st.tell_once(f"notice:{m.id}")
        st.renewals[spec.name] = Renewal(role=spec.name, how=spec.renew_by, seats=p.seats, started_at=now)
        return st, [p.start(cmd.member.key),
                    *note(Msg("mandates.renew.started", role=spec.name, what=proposal(self.ctx, p)))]


class MandatesKind(RitualKind[MandatesState]):
    """Present in every network whose config declares roles (`[roles."…"]` tables): the config
    adds it to the configured rituals, so the boot starts it and tells it when roles change."""

    name = "mandates"
    state_type = MandatesState
    configurable = False
    implicit = True
    catch_up = CatchUp(None, "a look that comes late acts as on time: terms end, notices are told, "
                             "an offer whose answer did not come in time goes to the next person")
    commands = COMMANDS
    reads_log = True
    reads_mandates = True

    def bind(self, ctx: Context) -> Scenario[MandatesState]:
        return Mandates(ctx)
