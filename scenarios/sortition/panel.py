"""The draw's panel: the draw itself, asking each drawn member, replacements from the reserve
list, the settled panel, and the end of a draw (settled or cancelled) with its record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.kernel.i18n import Code, Lines, Msg, When
from bot.kernel.model import (
    SHOWN_WHERE_GIVEN,
    Action,
    CancelTimer,
    Choice,
    DirectMessage,
    Edit,
    Finish,
    Post,
    Record,
    Ref,
    SetTimer,
)
from scenarios.sortition.record import draw, replace
from scenarios.sortition.state import (
    ACCEPT,
    ANNOUNCE,
    COMMIT_END,
    DECLINE,
    RESULT,
    REVEAL_END,
    DrawState,
    acceptance,
)
from scenarios.sortition.texts import DrawTexts


class DrawPanel(DrawTexts):
    """From the seed to the settled panel."""

    def perform(self, state: DrawState, now: datetime) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        r = draw(state.record, state.contributions)
        state = state.model_copy(update={"record": r, "phase": "accept"})
        assert r.seed is not None and r.ticket is not None
        counted = [c.member for c in r.contributions if c.status == "revealed"]
        until = now + timedelta(hours=self.config.accept_hours)
        # In plain words in the channel; the seed and the ticket in the announcement's thread.
        result = Msg(
            "sortition.result",
            heading=self.heading(state),
            count=len(r.panel),
            panel=self.mentions(r.panel),
            until=When(at=until, style="short"),
        )
        details = Msg(
            "sortition.result_details",
            seed=Code(text=r.seed),
            contributors=self.names(counted),
            ticket=r.ticket + 1,
            size=r.lottery.size,
            number=self.ctx.number,
        )
        channel = state.channel or ""
        actions: list[Action]
        if self.ctx.capabilities(channel).edits:
            # The announcement becomes the result, its call to contribute over: an edit pings
            # nobody, and those drawn are asked privately; the seed is in its thread, the
            # result in the digest.
            state = state.model_copy(update={"result_on_announce": True})
            actions = [Edit(channel=channel, ref=ANNOUNCE, text=self.with_page(result), choices=[])]
        else:
            state = state.model_copy(update={"result_posted": True})
            actions = [Post(channel=channel, text=self.with_page(result), ref=RESULT)]
        actions.append(self.post(state, details))
        actions.append(Record(kind="draw", summary=self.summary(state, "drawn")))
        state, asks = self.ask(state, r.panel, now)
        return state, actions + asks

    def ask(self, state: DrawState, members: Sequence[str], now: datetime) -> tuple[DrawState, list[Action]]:
        until = now + timedelta(hours=self.config.accept_hours)
        actions: list[Action] = []
        for m in members:
            actions.append(
                DirectMessage(
                    member=m,
                    ref=Ref(role="ask", member=m),
                    text=Msg("sortition.accept.ask", heading=self.heading(state),
                             until=When(at=until, style="short")),
                    choices=[
                        Choice(id=ACCEPT, label=Msg("sortition.accept.yes"), emoji="✅"),
                        Choice(id=DECLINE, label=Msg("sortition.accept.no"), emoji="❌"),
                    ],
                    choice_style=self.ctx.capabilities(state.channel or "").choice_style(),
                )
            )
            actions.append(SetTimer(name=Ref(role="accept", member=m), due_at=until, payload={"member": m}))
        pending = sorted(set(state.pending) | set(members))
        return state.model_copy(update={"pending": pending}), actions

    def accepted(self, state: DrawState, member: str, by_default: bool = False, via: str | None = None
                 ) -> tuple[DrawState, list[Action]]:
        state = state.model_copy(
            update={
                "pending": [m for m in state.pending if m != member],
                "accepted": sorted({*state.accepted, member}),
            }
        )
        actions: list[Action] = [CancelTimer(name=Ref(role="accept", member=member))]
        if via not in SHOWN_WHERE_GIVEN:
            # A vote in the poll is its own confirmation; a click on a button is thanked.
            actions.append(DirectMessage(member=member, text=Msg("sortition.accept.thanks")))
        actions.append(self.post(state, Msg("sortition.accept.accepted", member=self.name(member))))
        state, actions = self.maybe_done(state, actions)
        return state, [*actions, acceptance(member, "accepted", by_default)]

    def declined(
        self, state: DrawState, member: str, reason: Literal["declined", "no_answer"], now: datetime,
        via: str | None = None,
    ) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        r, added = replace(state.record, member, reason)
        state = state.model_copy(
            update={"record": r, "pending": [m for m in state.pending if m != member]}
        )
        actions: list[Action] = [CancelTimer(name=Ref(role="accept", member=member))]
        if reason == "declined" and via not in SHOWN_WHERE_GIVEN:
            actions.append(DirectMessage(member=member, text=Msg("sortition.accept.noted")))
        key = "sortition.replace.declined" if reason == "declined" else "sortition.replace.no_answer"
        if added:
            # Named, not mentioned: those replaced are told nothing new, the replacements are
            # asked privately just below.
            actions.append(self.post(state, Msg(key, member=self.name(member),
                                                 replacement=Msg("sortition.replace.by", who=self.names(added)))))
            state, asks = self.ask(state, added, now)
            actions += asks
        else:
            actions.append(self.post(state, Msg(key, member=self.name(member),
                                                 replacement=Msg("sortition.replace.nobody"))))
        state, actions = self.maybe_done(state, actions)
        return state, [*actions, acceptance(member, reason)]

    def maybe_done(self, state: DrawState, actions: list[Action]) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        if state.pending:
            return state, actions
        r = state.record
        complete = len(r.final_panel) == r.k
        state = state.model_copy(update={"phase": "done"})
        final = self.with_page(Msg(
            "sortition.final" if complete else "sortition.final_incomplete",
            heading=self.heading(state),
            panel=Lines(items=[self.mention(m) for m in r.final_panel]),
            count=len(r.final_panel),
            k=r.k,
        ))
        # The result's post (the announcement, or the result posted by a channel that cannot
        # edit or by an earlier release) becomes the final panel: an edit notifies nobody; who
        # accepted or declined is already said in the announcement's thread.
        channel = state.channel or ""
        settled: Action = (Edit(channel=channel, ref=ANNOUNCE, text=final, choices=[]) if state.result_on_announce
                           else Edit(channel=channel, ref=RESULT, text=final) if state.result_posted
                           else Post(channel=channel, text=final))
        actions += [
            settled,
            Record(kind="draw", summary=self.summary(state, "done" if complete else "incomplete")),
            Finish(outcome="done" if complete else "incomplete"),
        ]
        return state, actions

    def cancel(self, state: DrawState, why: Msg, by: str | None = None) -> tuple[DrawState, list[Action]]:
        """The draw ends without a panel: its timers go (whatever the phase), the announcement
        says so (no more "contribute" button), whoever was asked to accept hears it, and the
        record keeps why and who cancelled it."""
        asked = list(state.pending)
        state = state.model_copy(update={"phase": "cancelled", "pending": []})
        timers: list[Action] = [CancelTimer(name=COMMIT_END), CancelTimer(name=REVEAL_END),
                                *[CancelTimer(name=Ref(role="accept", member=m)) for m in asked]]
        said = Msg("sortition.cancelled", heading=self.heading(state), why=why)
        actions: list[Action] = [*timers]
        if state.channel is not None:
            actions += [Edit(channel=state.channel, ref=ANNOUNCE, text=said, choices=[]), self.post(state, said)]
        actions += [DirectMessage(member=m, text=Msg("sortition.accept.cancelled", heading=self.heading(state)))
                    for m in asked]
        summary = self.summary(state, "cancelled")
        summary["why"] = why.key
        if by is not None:
            summary["cancelled_by"] = by
        actions += [Record(kind="draw", summary=summary), Finish(outcome="cancelled")]
        return state, actions

    def summary(self, state: DrawState, status: str) -> dict[str, Any]:
        r = state.record
        return {
            "role": state.title,
            "status": status,
            "k": r.k if r else 0,
            "panel": list(r.panel) if r else [],
            "final_panel": list(r.final_panel) if r and status != "cancelled" else [],
            "record": r.model_dump(mode="json") if r else None,
        }
