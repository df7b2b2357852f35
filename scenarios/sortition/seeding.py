"""The draw's seed: members commit to secrets (published commitments, or secrets given to the
bot privately), reveal them once commitments close, and the draw happens with what was revealed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.kernel.i18n import Code, Msg, When
from bot.kernel.inputs import SECRET, too_long
from bot.kernel.model import Action, CancelTimer, DirectMessage, Ref, SetTimer
from scenarios.sortition.panel import DrawPanel
from scenarios.sortition.seed import Contribution, commitment_of, matches, normalise_commitment
from scenarios.sortition.state import COMMIT_END, REVEAL_END, DrawState, contribution

Note = Callable[[Msg], list[Action]]


class DrawSeeding(DrawPanel):
    """Commitments, reveals and the closing of each phase."""

    def commit(self, state: DrawState, member: str, text: str, note: Note) -> tuple[DrawState, list[Action]]:
        if state.phase != "commit":
            return state, note(Msg("sortition.seed.commit_closed"))
        digest = normalise_commitment(text)
        if digest is None:
            return state, note(Msg("sortition.seed.not_a_commitment", example=Code(text=commitment_of("exemple"))))
        if any(c.commitment == digest and c.member != member for c in state.contributions):
            return state, note(Msg("sortition.seed.duplicate"))
        c = Contribution(member=member, commitment=digest)
        state, actions = self.add_commitment(state, c)
        return state, [*actions, contribution(c)]

    def add_commitment(self, state: DrawState, c: Contribution) -> tuple[DrawState, list[Action]]:
        others = [x for x in state.contributions if x.member != c.member]
        contributions = sorted([*others, c], key=lambda x: x.member)
        state = state.model_copy(update={"contributions": contributions})
        assert c.commitment is not None
        msg = Msg(
            "sortition.seed.committed",
            member=self.name(c.member),
            commitment=Code(text=c.commitment),
            count=len(contributions),
            needed=self.config.min_contributors,
        )
        return state, [self.post(state, msg)]

    def secret(self, state: DrawState, member: str, text: str, ref: Ref) -> tuple[DrawState, list[Action]]:
        """A secret sent privately after the "contribute" button: the bot commits for them."""
        secret = text.strip()
        if state.phase != "commit":
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.commit_closed"))]
        if not secret:
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.empty_secret"),
                                         ref=ref, expects_reply=True)]
        long = too_long(secret, SECRET)
        if long is not None:
            # The secret is published in the record at the reveal: it keeps the stated size.
            return state, [DirectMessage(member=member, text=long, ref=ref, expects_reply=True)]
        c = Contribution(member=member, commitment=commitment_of(secret), secret=secret, assisted=True)
        if any(x.commitment == c.commitment and x.member != member for x in state.contributions):
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.duplicate"))]
        state, actions = self.add_commitment(state, c)
        actions.append(
            DirectMessage(member=member, text=Msg("sortition.seed.thanks", commitment=Code(text=c.commitment or "")))
        )
        return state, [*actions, contribution(c)]

    def reveal(
        self, state: DrawState, member: str, secret: str, note: Note, now: datetime
    ) -> tuple[DrawState, list[Action]]:
        if state.phase == "commit":
            return state, note(Msg("sortition.seed.reveal_too_early"))
        if state.phase != "reveal":
            return state, note(Msg("sortition.seed.reveal_closed"))
        mine = next((c for c in state.contributions if c.member == member), None)
        if mine is None:
            return state, note(Msg("sortition.seed.no_commitment"))
        if mine.status == "revealed":
            return state, note(Msg("sortition.seed.already_revealed"))
        secret = secret.strip()
        if not matches(mine, secret):
            return state, note(
                Msg("sortition.seed.mismatch", got=Code(text=commitment_of(secret)),
                    expected=Code(text=mine.commitment or ""))
            )
        updated = [
            c.model_copy(update={"secret": secret, "status": "revealed"}) if c.member == member else c
            for c in state.contributions
        ]
        state = state.model_copy(update={"contributions": updated})
        actions: list[Action] = [self.post(state, Msg("sortition.seed.revealed", member=self.name(member)))]
        if all(c.status == "revealed" for c in updated):
            state, more = self.perform(state, now)
            actions += more
        return state, [*actions, contribution(next(c for c in updated if c.member == member))]

    def close_commit(
        self, state: DrawState, now: datetime, early: bool = False, note: Note | None = None
    ) -> tuple[DrawState, list[Action]]:
        count = len(state.contributions)
        needed = self.config.min_contributors
        if count < needed:
            if early and note is not None:
                return state, note(Msg("sortition.seed.not_enough_yet", count=count, needed=needed))
            if not state.extended:
                until = now + timedelta(hours=self.config.commit_hours)
                state = state.model_copy(update={"extended": True, "commit_until": until})
                return state, [
                    self.post(state, Msg("sortition.seed.extended", count=count, needed=needed,
                                         until=When(at=until, style="short"))),
                    SetTimer(name=COMMIT_END, due_at=until),
                ]
            return self.cancel(state, Msg("sortition.seed.cancelled", count=count, needed=needed))
        # Secrets given privately to the bot are revealed by the bot at once.
        updated = [
            c.model_copy(update={"status": "revealed"}) if c.assisted else c for c in state.contributions
        ]
        until = now + timedelta(hours=self.config.reveal_hours)
        state = state.model_copy(update={"contributions": updated, "phase": "reveal", "reveal_until": until})
        actions: list[Action] = [CancelTimer(name=COMMIT_END)]
        waiting = [c.member for c in updated if c.status != "revealed"]
        if not waiting:
            more_state, more = self.perform(state, now)
            return more_state, actions + more
        actions += [
            self.post(state, Msg("sortition.seed.reveal_phase", who=self.mentions(waiting),
                                 until=When(at=until, style="short"))),
            SetTimer(name=REVEAL_END, due_at=until),
        ]
        return state, actions

    def close_reveal(self, state: DrawState, now: datetime) -> tuple[DrawState, list[Action]]:
        missing = [c.member for c in state.contributions if c.status != "revealed"]
        updated = [
            c if c.status == "revealed" else c.model_copy(update={"status": "missing"})
            for c in state.contributions
        ]
        state = state.model_copy(update={"contributions": updated})
        actions: list[Action] = [CancelTimer(name=REVEAL_END)]
        if not any(c.status == "revealed" for c in updated):
            state, more = self.cancel(state, Msg("sortition.seed.nobody_revealed"))
            return state, actions + more
        if missing:
            actions.append(self.post(state, Msg("sortition.seed.missing", who=self.names(missing))))
        state, more = self.perform(state, now)
        return state, actions + more
