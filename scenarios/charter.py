"""The charter reminder: a recurring post of why the network exists and who does what."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.kernel.i18n import Lines, Msg
from bot.kernel.model import Action, Event, Post, Record, Ref, SetTimer, Started, TimerFired
from bot.kernel.recurrence import Recurrence, RRuleText, TimeOfDay
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario


class CharterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrule: RRuleText = "FREQ=MONTHLY;BYDAY=1MO"
    time: TimeOfDay = "09:00"


class CharterState(BaseModel):
    next_at: datetime | None = None
    posted: int = 0
    skipped: int = 0


POST = Ref(role="post")
"""The timer of the next reminder."""


class CharterReminder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        cfg = CharterConfig.model_validate(ctx.config)
        self.recurrence = Recurrence.parse(cfg.rrule, cfg.time, ctx.network.timezone)

    def _schedule(self, state: CharterState, after: datetime) -> tuple[CharterState, list[Action]]:
        nxt = self.recurrence.after(after)
        state = state.model_copy(update={"next_at": nxt})
        return state, ([SetTimer(name=POST, due_at=nxt)] if nxt else [])

    def _message(self) -> Msg:
        roles = self.ctx.network.roles
        lines: list[Msg] = []
        for role, keys in sorted(roles.items()):
            people = [self.ctx.directory.members[k] for k in keys if k in self.ctx.directory.members]
            if not people:
                continue
            label = Msg("core.charter.role_animateur") if role == "animateur" else role
            # Names, not mentions: a monthly reminder must not ping everyone who holds a role.
            lines.append(Msg("core.charter.role_line", role=label,
                             people=Lines(items=[p.name for p in people], sep=", ")))
        charter: Msg | str = self.ctx.network.charter or Msg("core.charter.no_charter")
        return Msg("core.charter.post", network=self.ctx.network.name, charter=charter,
                   roles=Lines(items=list(lines)) if lines else Msg("core.charter.no_roles"))

    def handle(self, state: CharterState, event: Event, now: datetime) -> tuple[CharterState, list[Action]]:
        if isinstance(event, Started):
            return self._schedule(state, now)
        if isinstance(event, TimerFired) and event.name == POST:
            actions: list[Action] = []
            if KIND.catch_up.is_stale(event.late_by):
                # Missed during downtime: say so in the log, do not post a stale reminder.
                state = state.model_copy(update={"skipped": state.skipped + 1})
                actions.append(Record(kind="skipped", summary={"ritual": "charter", "due_at": event.due_at.isoformat()}))
            else:
                state = state.model_copy(update={"posted": state.posted + 1})
                for ch in self.ctx.ritual_channels:
                    actions.append(Post(channel=ch, text=self._message(), ref=Ref(role="charter", n=state.posted),
                                        valid_until=event.due_at + timedelta(hours=6)))
            state, timers = self._schedule(state, max(now, event.due_at))
            return state, actions + timers
        return state, []


class CharterKind(RitualKind[CharterState]):
    name = "charter"
    state_type = CharterState
    config_model = CharterConfig
    catch_up = CatchUp(timedelta(hours=6), "a reminder more than 6 hours late is skipped and logged")

    def bind(self, ctx: Context) -> Scenario[CharterState]:
        return CharterReminder(ctx)

    def upcoming(self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
                 ) -> list[tuple[datetime, str]]:
        cfg = CharterConfig.model_validate(config)
        rec = Recurrence.parse(cfg.rrule, cfg.time, tz.key)
        return [(at, "core.schedule.what_post") for at in rec.occurrences(start, count)]


KIND = CharterKind()
