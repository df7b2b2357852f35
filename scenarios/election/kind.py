"""The election as a ritual kind: its settings, catch-up, commands, what answers each event
needs, and its summary (the steps themselves are in `scenarios.election.election`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.kernel.answers import Need
from bot.kernel.model import Chose, Command, Event, Replied, TimerFired
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario
from scenarios.consent.commands import ROUND_COMMANDS
from scenarios.consent.round import answers_needed as round_answers_needed
from scenarios.election.commands import COMMANDS, DECLINE, NEXT, PROPOSE
from scenarios.election.election import ElectionScenario, is_round_event
from scenarios.election.state import ElectionConfig, ElectionState


class Election(RitualKind[ElectionState]):
    """An election without candidates, ending in a consent round on the proposed person."""

    name = "election"
    state_type = ElectionState
    configurable = False
    config_model = ElectionConfig
    catch_up = CatchUp(
        timedelta(hours=1),
        "steps that fell due during downtime run on restart (the reveal, the end of the "
        "change round); the consent round's deadline closes with the answers received before "
        "it; reminders over an hour late are skipped",
    )
    commands = COMMANDS
    uses_answers = True
    takes_direct_text = True
    """A nomination written to the bot privately (« @Amina parce que … »), without a command."""

    def bind(self, ctx: Context) -> Scenario[ElectionState]:
        return ElectionScenario(ctx)

    def answers_needed(self, state: ElectionState, event: Event, now: datetime) -> Need:
        """The consent round's needs for its events; everyone's answers for the animateur's
        and the proposed person's moves (they close or cancel a round)."""
        rnd = state.round
        if rnd is not None and state.phase == "consent":
            # Whatever may close the round may record the election: its nominations' history too.
            if isinstance(event, Replied | Chose | TimerFired) and is_round_event(rnd, event):
                return _with_history(round_answers_needed(rnd, event, now))
            if isinstance(event, Command) and event.name in ROUND_COMMANDS:
                return _with_history(round_answers_needed(rnd, event, now))
        if isinstance(event, Command) and event.name in (NEXT.name, PROPOSE.name, DECLINE.name):
            return "history"
        if isinstance(event, Replied) and event.ref.role == "proposed":
            return "history"  # a decline by private message
        if isinstance(event, Command | Replied):
            return "member"  # a nomination, a change: the member's own
        # The steps' ends: the reveal, the changes, the record.
        return "history"

    def channels(self, state: ElectionState) -> Sequence[str] | None:
        return state.channels or None

    def summarize(self, state: ElectionState) -> Mapping[str, Any] | None:
        if state.phase in ("new",) or (state.phase == "cancelled" and not state.started_at):
            return None
        return {
            "number": state.number,
            "role": state.role,
            "title": state.role,
            "phase": state.phase,
            "status": state.phase,
            "nominations": state.nominators,
            "deadline": _next_deadline(state),
            "proposed": state.attempts[-1].nominee_name if state.attempts else None,
        }


def _with_history(need: Need) -> Need:
    return "history" if need == "all" else need


def _next_deadline(state: ElectionState) -> str | None:
    """When the current step ends, as ISO (None when the animateur's move is awaited)."""
    at: datetime | None = None
    if state.phase == "nominating":
        at = state.nominations_until
    elif state.phase == "changing":
        at = state.change_until
    elif state.phase == "consent" and state.round is not None and state.round.is_open:
        at = state.round.deadline
    return at.isoformat() if at is not None else None
