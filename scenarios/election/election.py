"""The election without candidates: private nominations, reveal, change round, then a
consent round on the proposed person, run by the consent machinery (`RoundMachine`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.kernel.answers import Answer
from bot.kernel.commands import CommandError
from bot.kernel.i18n import Code, Lines, Mention, Msg, When
from bot.kernel.inputs import TEXT, shown, too_long
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    Member,
    Post,
    PrivateNote,
    Ref,
    Replied,
    ReplyHandle,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import DIRECT_TEXT, Context
from scenarios.consent.commands import ROUND_COMMANDS
from scenarios.consent.config import ConsentConfig, load_config
from scenarios.consent.deadline import DeadlineError
from scenarios.consent.kind import resolve_channels, round_command, typed_deadline
from scenarios.consent.round import RoundMachine, RoundState
from scenarios.election.commands import (
    DECLINE,
    ELECTION,
    NEXT,
    NOMINATE,
    PROPOSE,
    RENOMINATE,
    typed_duration,
)
from scenarios.election.members import find_member, reason_of
from scenarios.election.nominations import Nominations, await_reason, election_record, nominate
from scenarios.election.state import Attempt, ElectionState, load_election_config

_DECLINE = re.compile(r"^\s*(je\s+d[ée]cline|d[ée]cliner?|je\s+refuse|non\s+merci|i\s+decline|decline|no\s+thanks?)\b", re.IGNORECASE)
NOMINATIONS, CHANGE = Ref(scope="election", role="nominations"), Ref(scope="election", role="change")  # steps' ends
CALL = Ref(scope="election", role="call")
"""The election's one channel post, edited at each step; each step's detail is in its thread."""
_KEEP = re.compile(r"^\s*(garder|je\s+garde|inchang[ée]|keep|no\s+change)\b", re.IGNORECASE)


# --- the scenario ---------------------------------------------------------------


class ElectionScenario:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.cfg = load_election_config(ctx)
        self.consent_cfg: ConsentConfig = load_config({}, ctx.network.settings)
        self.machine = RoundMachine(ctx, self.consent_cfg.model_copy(update={"duration": self.cfg.consent, "questions": None}))

    def handle(self, state: ElectionState, event: Event, now: datetime) -> tuple[ElectionState, list[Action]]:
        if state.round is not None and (synced := self.machine.synced(state.round)) is not state.round:
            state = state.model_copy(update={"round": synced})
        if state.round is not None and not state.round.spared and state.attempts:
            # A round opened before it knew whom not to remind: never the person proposed.
            spared = state.round.model_copy(update={"spared": [state.attempts[-1].nominee]})
            state = state.model_copy(update={"round": spared})
        new, acts = self._dispatch(state, event, now)
        if new.is_over and not state.is_over:
            acts.append(Finish(outcome=new.phase))
        return new, acts

    # dispatch -----------------------------------------------------------------

    def _dispatch(self, st: ElectionState, event: Event, now: datetime) -> tuple[ElectionState, list[Action]]:
        if st.is_over:
            return st, []
        match event:
            case Started(by=by, channel=channel, params=params):
                return self.start(st, by, channel, params, now) if st.phase == "new" else (st, [])
            case Command(name=ELECTION.name, member=member, channel=channel, args=args, reply_to=reply_to):
                return self.start(st, member, channel, args, now, reply_to) if st.phase == "new" else (st, [])
            case Command() if st.phase == "new":
                return st, []
            case Command(name=NOMINATE.name | RENOMINATE.name, member=member, channel=channel, args=args, reply_to=reply_to):
                return self.nominate(st, member, str(args.get("who", "")), channel, now, reply_to)
            case Command(name=NEXT.name, member=member, channel=channel, reply_to=reply_to):
                return self.next_step(st, member, channel, now, reply_to)
            case Command(name=PROPOSE.name, member=member, channel=channel, args=args, reply_to=reply_to):
                return self.propose(st, member, str(args.get("who", "")), channel, now, reply_to)
            case Command(name=DECLINE.name, member=member, channel=channel, reply_to=reply_to):
                return self.decline(st, member, channel, now, reply_to)
            case Command(name=name) if name in ROUND_COMMANDS:
                return self._delegate(st, event, now)
            case Replied(ref=Ref(scope="election", role="call")) if st.phase == "consent" and st.round is not None:
                # A reply in the election post's thread, where the round lives: an objection's
                # or a réserve's reason, as on a decision's proposal.
                return self._delegate(st, event.model_copy(update={"ref": st.round.proposal_ref(event.channel)}), now)
            case Replied(ref=Ref(scope="election")):
                return self.on_dm(st, event, now)
            case Replied(ref=ref) if ref == DIRECT_TEXT:
                # Written to the bot privately without a command: a nomination or a change
                # while they are open; otherwise not ours to answer (as any such message).
                return self.nominate(st, event.member, event.text, event.channel, now) if st.phase in ("nominating", "changing") else (st, [])
            case Replied() | Chose() | TimerFired() if self._is_round_event(st, event):
                return self._delegate(st, event, now)
            case TimerFired(name=Ref(scope="election", role="nominations")):
                return self.reveal(st, now, late=event.late_by > timedelta(0)) if st.phase == "nominating" else (st, [])
            case TimerFired(name=Ref(scope="election", role="change")):
                return self.end_change(st, now) if st.phase == "changing" else (st, [])
        return st, []

    def _is_round_event(self, st: ElectionState, event: Event) -> bool:
        return st.round is not None and is_round_event(st.round, event)

    # steps ----------------------------------------------------------------------

    def start(
        self, st: ElectionState, by: Member | None, channel: str | None, params: Mapping[str, Any],
        now: datetime, reply_to: ReplyHandle | None = None,
    ) -> tuple[ElectionState, list[Action]]:
        if by is None:
            raise ValueError("an election is started by a member")
        role = str(params.get("role") or params.get("title") or "").strip()
        where = channel or "dm"
        fail = st.model_copy(update={"phase": "cancelled"})
        if not role:
            return fail, [PrivateNote(member=by.key, channel=where, text=Msg("election.cmd.missing_role"), reply_to=reply_to)]
        tz = self.ctx.network.tz
        try:
            text = params.get("deadline")
            until = typed_deadline(str(text), now, tz, self.consent_cfg.default_time, self.consent_cfg.max_ahead) if text else now + self.cfg.nominations
        except DeadlineError as exc:
            return fail, [PrivateNote(member=by.key, channel=where, text=exc.msg, reply_to=reply_to)]
        change = self.cfg.change
        if isinstance(params.get("change"), timedelta):
            change = params["change"]
        elif params.get("change"):
            try:
                change = typed_duration(str(params["change"]))
            except CommandError as exc:
                return fail, [PrivateNote(member=by.key, channel=where, text=exc.msg, reply_to=reply_to)]
        wanted = ([channel] if channel and channel != "dm" else []) + list(params.get("channels") or []) + list(self.cfg.channels)
        channels, unknown = resolve_channels(self.ctx, wanted) if self.ctx.channels else (wanted, None)
        if unknown is not None:
            return fail, [PrivateNote(member=by.key, channel=where, text=Msg("core.cmd.unknown_channel", channel=unknown), reply_to=reply_to)]
        channels = list(dict.fromkeys(channels))
        if not channels:
            return fail, [PrivateNote(member=by.key, channel=where, text=Msg("consent.cmd.no_channel"), reply_to=reply_to)]
        group = params.get("group") or self.cfg.group
        if group is not None and group not in self.ctx.directory.groups:
            return fail, [PrivateNote(member=by.key, channel=where, text=Msg("consent.cmd.unknown_group", group=str(group)), reply_to=reply_to)]
        new = ElectionState(
            number=self.ctx.number, role=role, author=by.key, author_name=by.name, channels=channels,
            group=group, phase="nominating", started_at=now, nominations_until=until, change=change,
        )
        acts: list[Action] = []
        for ch in channels:
            acts.append(Post(channel=ch, ref=CALL.model_copy(update={"channel": ch}), notice=False, text=self._call_msg(new)))
        if self.cfg.invite_by_dm:
            for m in self._circle(new):
                acts.append(DirectMessage(member=m.key, ref=Ref(scope="election", role="invite", member=m.key), expects_reply=True, text=Msg(
                    "election.invite", number=new.number, role=role, until=When(at=until))))
        acts.append(SetTimer(name=NOMINATIONS, due_at=until))
        return new, acts

    def nominate(
        self, state: ElectionState, member: Member, text: str, channel: str, now: datetime,
        reply_to: ReplyHandle | None = None,
    ) -> tuple[ElectionState, list[Action]]:
        """A nomination (nominations step) or a change (change round), with its reason."""
        st = state.model_copy(deep=True)
        note = self._reply(member, channel, reply_to)
        if st.phase not in ("nominating", "changing"):
            return st, [note(Msg("election.nominations_closed", number=st.number))]
        if not self.ctx.directory.in_circle(member.key, st.channels, st.group):
            return st, [note(Msg("election.not_in_circle", number=st.number))]
        long = too_long(text.strip(), TEXT)
        if long is not None:
            # A nomination's reason is revealed to the circle: it keeps the stated size.
            return state, [note(long)]
        noms = Nominations(self.ctx)
        changing = st.phase == "changing"
        previous = noms.current_of(member.key)
        if changing and _KEEP.match(text):
            if previous is None:
                return st, [note(Msg("election.nothing_to_keep", number=st.number))]
            return st, [note(Msg("election.kept", number=st.number, nominee=noms.name(previous.subject)))]
        nominee, reason = find_member(self.ctx.directory, text, me=member)
        pending = noms.pending_of(member.key, changing)
        if nominee is None and pending is not None and pending.subject is not None:
            # The reason of a nomination whose name came first.
            nominee = self.ctx.directory.member(pending.subject)
            reason = reason_of(text)
        if nominee is None or nominee.is_bot:
            return st, [note(Msg("election.who_unknown", text=shown(text), example=self._example()))]
        if nominee.opted_out:
            return st, [note(Msg("election.not_available", nominee=nominee.name))]
        if not reason:
            return st, [note(Msg("election.why", nominee=nominee.name)), await_reason(member.key, nominee.key, changing)]
        rows = [nominate(member.key, nominee.key, reason, changing)]
        if pending is not None:
            rows.append(await_reason(member.key, None, changing))
        if previous is None:
            st.nominators += 1
        if changing:
            return st, [note(Msg("election.changed", number=st.number, nominee=nominee.name, reason=reason, until=When(at=st.change_until or now))), *rows]
        until = st.nominations_until or now
        if previous:
            return st, [note(Msg("election.renominated", number=st.number, nominee=nominee.name, reason=reason, until=When(at=until))), *rows]
        # The acknowledgement says when the change round comes: nobody is written to then
        # (unless `invite_by_dm`), and an answer here is understood (it awaits a reply).
        then = (Msg("election.nominated_then_change", until=When(at=until), change_until=When(at=until + st.change))
                if st.change > timedelta(0) else Msg("election.nominated_then", until=When(at=until)))
        return st, [note(Msg("election.nominated", number=st.number, nominee=nominee.name, reason=reason, next=then)), *rows]

    def on_dm(self, st: ElectionState, ev: Replied, now: datetime) -> tuple[ElectionState, list[Action]]:
        """A private reply to one of the bot's messages: a nomination, a change, a decline."""
        if ev.ref.role == "proposed":
            if _DECLINE.match(ev.text):
                return self.decline(st, ev.member, ev.channel, now)
            return st, [self._dm(ev.member, Msg("election.decline_how", number=st.number))]
        return self.nominate(st, ev.member, ev.text, ev.channel, now)

    def next_step(self, st: ElectionState, member: Member, channel: str, now: datetime, reply_to: ReplyHandle | None) -> tuple[ElectionState, list[Action]]:
        if st.phase == "nominating":
            st2, acts = self.reveal(st, now)
            return st2, [CancelTimer(name=NOMINATIONS), *acts]
        if st.phase == "changing":
            st2, acts = self.end_change(st, now)
            return st2, [CancelTimer(name=CHANGE), *acts]
        return st, [self._reply(member, channel, reply_to)(Msg("election.no_next", number=st.number))]

    def reveal(self, state: ElectionState, now: datetime, late: bool = False) -> tuple[ElectionState, list[Action]]:
        """Step 2: every nomination with its reason, then the change round."""
        st = state.model_copy(deep=True)
        noms = Nominations(self.ctx)
        revealed = noms.revealed()
        if not revealed:
            st.phase = "closed"
            st.closed_at = now
            acts: list[Action] = self._status(st, Msg("election.status_none"))
            acts += [Post(channel=ch, thread=self._thread(ch), text=Msg("election.none", number=st.number, role=st.role)) for ch in st.channels]
            acts.append(election_record(Nominations(self.ctx), st, "no_nominations", now))
            return st, acts
        reveal = Msg("election.reveal", number=st.number, role=st.role, lines=self._tally_lines(noms, revealed))
        if st.change > timedelta(0):
            st.phase = "changing"
            st.change_until = now + st.change
            follow = Msg("election.change_round", until=When(at=st.change_until), example=Code(text="election changer @… parce que …"))
        else:
            st.phase = "proposing"
            follow = Msg("election.propose_now", author=Mention(member=st.author, name=st.author_name), example=Code(text="election proposer @…"))
        acts = self._status(st, Msg("election.status_changing", until=When(at=st.change_until)) if st.change_until and st.phase == "changing"
                            else Msg("election.status_proposing", author=st.author_name))
        acts += [Post(channel=ch, ref=Ref(scope="election", role="reveal", channel=ch), thread=self._thread(ch),
                      text=Msg("election.reveal_body", reveal=reveal, follow=follow)) for ch in st.channels]
        if st.phase == "changing":
            acts.append(SetTimer(name=CHANGE, due_at=st.change_until or now))
            if self.cfg.invite_by_dm:
                for key in sorted(revealed):
                    acts.append(DirectMessage(member=key, ref=Ref(scope="election", role="change", member=key), expects_reply=True, text=Msg(
                        "election.change_invite", number=st.number, nominee=noms.name(revealed[key].subject), until=When(at=st.change_until or now))))
        return st, acts

    def end_change(self, state: ElectionState, now: datetime) -> tuple[ElectionState, list[Action]]:
        """Step 3 ends: the tally after changes, and the animateur's turn to propose."""
        st = state.model_copy(deep=True)
        st.phase = "proposing"
        noms = Nominations(self.ctx)
        changes: list[Msg] = []
        for c in noms.changes():
            if c.previous:
                changes.append(Msg("election.change_line", who=noms.name(c.by), previous=noms.name(c.previous), nominee=noms.name(c.nominee), reason=c.reason))
            else:
                changes.append(Msg("election.change_line_new", who=noms.name(c.by), nominee=noms.name(c.nominee), reason=c.reason))
        text = Msg(
            "election.after_change", number=st.number, role=st.role,
            tally=Lines(items=[Msg("election.tally_line", nominee=name, count=len(given)) for _, name, given in noms.tally(noms.standing())], sep="\n"),
            changes=Lines(items=list(changes)) if changes else Msg("election.no_changes"),
            author=Mention(member=st.author, name=st.author_name), example=Code(text="election proposer @…"),
        )
        # In the election post's thread: the nominations' story stays in one place.
        return st, [*self._status(st, Msg("election.status_proposing", author=st.author_name)),
                    *[Post(channel=ch, thread=self._thread(ch), text=text) for ch in st.channels]]

    def propose(
        self, state: ElectionState, member: Member, text: str, channel: str, now: datetime, reply_to: ReplyHandle | None,
    ) -> tuple[ElectionState, list[Action]]:
        """Step 4: a consent round on the person the animateur proposes."""
        note = self._reply(member, channel, reply_to)
        if state.phase not in ("changing", "proposing", "consent"):
            return state, [note(Msg("election.not_yet", number=state.number))]
        nominee, rest = find_member(self.ctx.directory, text)
        if nominee is None or nominee.is_bot:
            return state, [note(Msg("election.who_unknown", text=shown(text), example=Code(text="election proposer @…")))]
        if nominee.opted_out:
            return state, [note(Msg("election.not_available", nominee=nominee.name))]
        if state.round is not None and state.round.status == "adopted":
            return state, []
        deadline = None
        if rest:
            try:
                deadline = typed_deadline(rest, now, self.ctx.network.tz, self.consent_cfg.default_time, self.consent_cfg.max_ahead)
            except DeadlineError as exc:
                return state, [note(exc.msg)]
        st = state.model_copy(deep=True)
        acts: list[Action] = []
        if st.phase == "changing":
            st, acts = self.end_change(st, now)
            acts.insert(0, CancelTimer(name=CHANGE))
        if st.round is not None and not st.round.is_over:
            st.round, cancel = self.machine.cancel(st.round, now, Msg("election.phase_other", nominee=nominee.name))
            acts += cancel
            if st.attempts and st.attempts[-1].outcome is None:
                st.attempts[-1].outcome = "replaced"
        st.attempts.append(Attempt(nominee=nominee.key, nominee_name=nominee.name, proposed_by=member.key, at=now))
        n = len(st.attempts)
        rnd = self.machine.new_state(
            title=f"{nominee.name} — {st.role}",
            author=member,
            channels=st.channels,
            group=st.group,
            deadline=deadline or now + self.cfg.consent,
            now=now,
            ref_scope="candidate", ref_n=n,
            timer_prefix="election-consent",
            subject="election",
            # The person proposed is told privately (`election.proposed_dm`): named here, not
            # mentioned; only the result mentions them.
            headline=Msg("election.headline", nominee=nominee.name, role=st.role),
            subject_data={"role": st.role, "nominee": nominee.name, "election": str(st.number)},
            # The nominee is not reminded to consent to themselves; the result is said once,
            # by the round's outcome.
            spared=(nominee.key,),
            adopted=Msg("election.elected", number=st.number, nominee=Mention(member=nominee.key, name=nominee.name), role=st.role),
        )
        # The round lives in the election post's thread: its proposal (reactions, poll or
        # buttons on that reply) and its outcome; the post itself says the step at its top.
        rnd = rnd.model_copy(update={"thread": CALL})
        st.round, opened = self.machine.open(rnd, now)
        acts += self._status(st, Msg("election.status_consent", nominee=nominee.name, deadline=When(at=st.round.deadline or now)))
        acts += opened
        st.phase = "consent"
        noms = Nominations(self.ctx)
        reasons = [Msg("election.reason_line", who=noms.name(by), reason=a.reason or "") for by, a in sorted(noms.standing().items()) if a.subject == nominee.key]
        for ch in st.channels:
            acts.append(Post(channel=ch, thread=st.round.thread_ref(ch), text=Msg(
                "election.proposal_context",
                nominee=nominee.name,
                reasons=Lines(items=list(reasons)) if reasons else Msg("election.no_reasons"),
                decline=Code(text="election decliner"),
            )))
        acts.append(DirectMessage(member=nominee.key, ref=Ref(scope="election", role="proposed", n=n), expects_reply=True, text=Msg(
            "election.proposed_dm", number=st.number, role=st.role, deadline=When(at=st.round.deadline or now))))
        return st, acts

    def decline(self, state: ElectionState, member: Member, channel: str, now: datetime, reply_to: ReplyHandle | None = None) -> tuple[ElectionState, list[Action]]:
        note = self._reply(member, channel, reply_to)
        rnd = state.round
        if state.phase != "consent" or rnd is None or rnd.is_over or not state.attempts:
            return state, [note(Msg("election.nothing_to_decline", number=state.number))]
        attempt = state.attempts[-1]
        if attempt.nominee != member.key:
            return state, [note(Msg("election.not_nominee", nominee=attempt.nominee_name))]
        st = state.model_copy(deep=True)
        st.round, acts = self.machine.cancel(rnd, now, Msg("election.phase_declined", nominee=attempt.nominee_name))
        st.attempts[-1].outcome = "declined"
        st.phase = "proposing"
        acts += self._status(st, Msg("election.status_declined", nominee=attempt.nominee_name))
        for ch in st.channels:
            acts.append(Post(channel=ch, thread=self._thread(ch), text=Msg("election.declined", number=st.number, nominee=attempt.nominee_name, role=st.role, author=Mention(member=st.author, name=st.author_name), example=Code(text="election proposer @…"))))
        return st, acts

    def _delegate(self, state: ElectionState, event: Event, now: datetime) -> tuple[ElectionState, list[Action]]:
        """Events of the consent round on the proposed person go to the consent machine."""
        rnd = state.round
        if rnd is None or rnd.is_over or state.phase != "consent":
            if isinstance(event, Command):
                return state, [PrivateNote(member=event.member.key, channel=event.channel, text=Msg("election.no_round", number=state.number), reply_to=event.reply_to)]
            return state, []
        match event:
            case Chose():
                new, acts = self.machine.on_chose(rnd, event, now)
            case Replied():
                new, acts = self.machine.on_reply(rnd, event, now)
            case TimerFired():
                new, acts = self.machine.on_timer(rnd, event, now)
            case Command() as cmd if cmd.name in ROUND_COMMANDS:
                new, acts = round_command(self.machine, rnd, cmd, now)
            case _:
                return state, []
        st = state.model_copy(deep=True)
        st.round = new
        attempt = st.attempts[-1]
        if new.status == "adopted" and rnd.status != "adopted":
            attempt.outcome = "adopted"
            st.phase = "elected"
            st.closed_at = now
            # The round's outcome, just posted, says who is elected (`adopted`): not twice. A
            # round opened before its outcome could say so has it said here.
            acts += self._status(st, Msg("election.status_elected", nominee=attempt.nominee_name, role=st.role,
                                         when=When(at=new.closed_at or now, style="date")))
            if rnd.adopted is None:
                for ch in st.channels:
                    acts.append(Post(channel=ch, thread=self._thread(ch), text=Msg("election.elected", number=st.number, nominee=Mention(member=attempt.nominee, name=attempt.nominee_name), role=st.role)))
            acts.append(election_record(Nominations(self.ctx), st, "elected", now))
        elif new.status == "integrating" and rnd.status != "integrating":
            attempt.outcome = new.outcome
            for ch in st.channels:
                acts.append(Post(channel=ch, thread=self._thread(ch), text=Msg("election.after_objections", number=st.number, author=Mention(member=new.author, name=new.author_name), example=Code(text="election proposer @…"))))
        elif new.status == "withdrawn" and rnd.status != "withdrawn":
            attempt.outcome = "withdrawn"
            st.phase = "proposing"
        elif new.status == "lapsed" and rnd.status != "lapsed":
            attempt.outcome = "lapsed"
            st.phase = "closed"
            st.closed_at = now
            acts += self._status(st, Msg("election.status_closed"))
            acts.append(election_record(Nominations(self.ctx), st, "lapsed", now))
        return st, acts

    # helpers --------------------------------------------------------------------

    def _call_msg(self, st: ElectionState) -> Msg:
        # The animateur who started it is named, not mentioned: they just did.
        return Msg("election.call", number=st.number, role=st.role, until=When(at=st.nominations_until or st.started_at or datetime.min),
                   author=st.author_name,
                   how=Msg("election.how_dm" if self.cfg.invite_by_dm else "election.how_command"))

    def _thread(self, channel: str) -> Ref:
        return CALL.model_copy(update={"channel": channel})

    def _status(self, st: ElectionState, status: Msg) -> list[Action]:
        """The election's one post, edited to say where it stands at its top (an edit pings
        nobody); a channel that cannot edit reads the steps in the post's thread."""
        return [Edit(channel=ch, ref=self._thread(ch), text=Msg("election.post", status=status, call=self._call_msg(st)))
                for ch in st.channels if self.ctx.capabilities(ch).edits]

    def _circle(self, st: ElectionState) -> list[Member]:
        return self.ctx.directory.circle(st.channels, st.group)

    def _reply(self, member: Member, channel: str, reply_to: ReplyHandle | None) -> Any:
        def note(text: Msg) -> PrivateNote | DirectMessage:
            if channel == "dm" or channel not in self.ctx.channels:
                return DirectMessage(member=member.key, ref=Ref(scope="election", role="dm", member=member.key), text=text, expects_reply=True)
            return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)

        return note

    def _dm(self, member: Member, text: Msg) -> DirectMessage:
        return DirectMessage(member=member.key, ref=Ref(scope="election", role="dm", member=member.key), text=text, expects_reply=True)

    def _example(self) -> Code:
        return Code(text="@Amina parce qu'elle connaît le comité")

    def _tally_lines(self, noms: Nominations, given: dict[str, Answer]) -> Lines:
        items: list[Msg] = []
        for _, name, rows in noms.tally(given):
            items.append(Msg("election.tally_line", nominee=name, count=len(rows)))
            items.extend(Msg("election.reason_line", who=noms.name(by), reason=a.reason or "") for by, a in rows)
        return Lines(items=list(items))


def is_round_event(rnd: RoundState, event: Event) -> bool:
    if isinstance(event, TimerFired):
        return rnd.owns_timer(event.name)
    if isinstance(event, Replied | Chose):
        return rnd.version_of(event.ref) is not None
    return False
