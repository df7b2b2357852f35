"""A meeting's roles in the calendar: given at the last reminder, a holder who says they are absent
replaced, a swap asked by the holder and accepted by the other person, the turns remembered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.kernel.i18n import Msg, When
from bot.kernel.model import Action, Choice, Chose, Command, DirectMessage, RecordAnswer
from scenarios.meeting.base import as_style, meeting_ref
from scenarios.meeting.people import find_member
from scenarios.meeting.posts import MeetingPosts
from scenarios.meeting.roles import assign, record, replace_holder
from scenarios.meeting.state import RSVP, MeetingsState, Occurrence, Swap

SWAP = "swap"
"""The role of the private question asking someone to take a role."""


def swap_choices() -> list[Choice]:
    return [Choice(id="accept", label=Msg("meeting.choice.accept"), emoji="✅"),
            Choice(id="refuse", label=Msg("meeting.choice.refuse"), emoji="❌")]


class MeetingRoles(MeetingPosts):
    """Who facilitates, takes notes, keeps time: by rotation or draw among those who come."""

    def _present(self, occ: Occurrence) -> list[str]:
        return sorted(k for k, a in self._rsvps(occ).items() if a == "yes")

    def _give_roles(self, st: MeetingsState, occ: Occurrence) -> None:
        cfg = self._cfg(occ)
        if cfg is None or not cfg.roles or occ.roles_given:
            return
        history = st.role_history.get(occ.series, {})
        occ.roles = assign(cfg.roles, self._present(occ), history, occ.key, cfg.roles_by)
        occ.roles_given = True

    def _holder_left(self, st: MeetingsState, occ: Occurrence, who: str, now: datetime,
                     out: list[Action]) -> None:
        """`who` no longer says they come: their role goes to the next in rotation among those who
        do (the answers are all at hand: `answers_needed` asked for them), said by editing the post."""
        cfg = self._cfg(occ)
        held = [r for r, k in occ.roles.items() if k == who]
        if cfg is None or not held:
            return
        present = [k for k in self._present(occ) if k != who]
        history = st.role_history.get(occ.series, {})
        for role in held:
            occ.roles = replace_holder(occ.roles, role, present, history, occ.key, cfg.roles_by)
        occ.swaps = [s for s in occ.swaps if who not in (s.holder, s.to)]
        if occ.posted and now < occ.start:
            self._show(st, occ, now, out, names=True)

    def _held(self, st: MeetingsState, occ: Occurrence) -> None:
        """The meeting was held: each holder's turn is remembered for the next rotation."""
        if occ.roles:
            record(st.role_history.setdefault(occ.series, {}), occ.roles, occ.n)

    def _roles_summary(self, st: MeetingsState, occ: Occurrence) -> list[dict[str, Any]]:
        names = self._names(st)
        return [{"role": role, "member": k, "name": names.get(k, k)} for role, k in occ.roles.items()]

    # --- swaps ---------------------------------------------------------------------------

    def _cmd_swap(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        """`reunion role echanger @x`: the holder hands their role to @x, who is asked once,
        privately; the post says the change when @x accepts."""
        me = cmd.member.key
        mine = [o for o in st.occurrences if o.status == "scheduled" and o.start > now and me in o.roles.values()]
        if not mine:
            out.append(self._note(cmd.member, cmd.channel, Msg("meeting.roles.no_role"), cmd.reply_to))
            return
        occ = mine[0]
        other, _ = find_member(self.ctx.directory, str(cmd.args.get("who", "")))
        if other is None or other.is_bot:
            out.append(self._note(cmd.member, cmd.channel, Msg("meeting.roles.who_unknown",
                                                             text=str(cmd.args.get("who", ""))), cmd.reply_to))
            return
        if other.key == me:
            out.append(self._note(cmd.member, cmd.channel, Msg("meeting.roles.not_yourself"), cmd.reply_to))
            return
        role = next(r for r, k in occ.roles.items() if k == me)
        self._remember(st, cmd.member)
        self._remember(st, other)
        occ.swaps = [s for s in occ.swaps if s.holder != me] + [Swap(role=role, holder=me, to=other.key)]
        theirs = next((r for r, k in occ.roles.items() if k == other.key), None)
        when = When(at=occ.start, style="datetime")
        ask = Msg("meeting.roles.swap_ask_trade" if theirs else "meeting.roles.swap_ask", holder=cmd.member.name,
                  role=role, theirs=theirs or "", title=occ.title, when=when)
        out.append(DirectMessage(member=other.key, text=ask, ref=meeting_ref(occ, SWAP, member=other.key),
                                 choices=swap_choices(), choice_style=as_style(self._dm_style(other)),
                                 valid_until=occ.start))
        out.append(self._note(cmd.member, cmd.channel, Msg("meeting.roles.swap_asked", name=other.name, role=role),
                              cmd.reply_to))

    def _swap_answer(self, st: MeetingsState, occ: Occurrence, ev: Chose, now: datetime,
                     out: list[Action]) -> None:
        me = ev.member.key
        pending = next((s for s in occ.swaps if s.to == me), None)
        if pending is None or ev.choice not in ("accept", "refuse") or occ.status != "scheduled" or now >= occ.start:
            return
        occ.swaps = [s for s in occ.swaps if s is not pending]
        holder = self.ctx.directory.member(pending.holder)
        names = self._names(st)
        if ev.choice == "refuse" or occ.roles.get(pending.role) != pending.holder:
            if holder is not None:
                out.append(self._note(holder, "dm", Msg("meeting.roles.swap_refused", name=ev.member.name,
                                                        role=pending.role)))
            return
        theirs = next((r for r, k in occ.roles.items() if k == me), None)
        occ.roles[pending.role] = me
        if theirs is not None:
            occ.roles[theirs] = pending.holder
        said = self.ctx.answers.of(me, RSVP, part=occ.n)
        if said is None or said.value != "yes":
            # Taking a role at the meeting is saying one comes (the question says so).
            self._count(occ, said.value if said else None, "yes")
            out.append(RecordAnswer(member=me, topic=RSVP, part=occ.n, value="yes"))
        if holder is not None:
            out.append(self._note(holder, "dm", Msg("meeting.roles.swap_done", name=names.get(me, me),
                                                    role=pending.role)))
        # The post says it at its next edit, a minute later, with the answers as they now are.
        self._touch(occ, now, out)

    def _fill(self, occ: Occurrence, who: str) -> bool:
        """Someone who now says they come takes a role no one was left for, if any."""
        cfg = self._cfg(occ)
        if cfg is None or not occ.roles_given or who in occ.roles.values():
            return False
        missing = [r for r in cfg.roles if r not in occ.roles]
        if not missing:
            return False
        given = {**occ.roles, missing[0]: who}
        occ.roles = {r: given[r] for r in cfg.roles if r in given}
        return True
