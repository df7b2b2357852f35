"""The charter reminder: once a month, why the network exists and who does what, said in the
weekly digest (or, with `where = "post"`, in a post of its own)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from bot.kernel.i18n import Lines, Msg, Param
from bot.kernel.model import Action, Event, Post, Record, Ref, SetTimer, Started, TimerFired
from bot.kernel.recurrence import Recurrence, RRuleText, TimeOfDay
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario


class CharterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrule: RRuleText = "FREQ=MONTHLY;BYDAY=1MO"
    time: TimeOfDay = "09:00"
    where: Literal["digest", "post"] = "digest"
    """"digest": a section of the next weekly digest (issue 15: a reminder is not worth a
    post of its own for everyone each month); "post": a post in the ritual's channels, for a
    network without a weekly digest. Left unset, "digest" when the config declares a digest,
    else "post": a reminder said in a digest nobody sends would be said nowhere."""

    @model_validator(mode="before")
    @classmethod
    def _where_by_default(cls, data: Any, info: ValidationInfo) -> Any:
        # The config loader passes the kinds its rituals declare (`kinds` in the context).
        kinds = (info.context or {}).get("kinds")
        if isinstance(data, dict) and "where" not in data and kinds is not None and "digest" not in kinds:
            return {**data, "where": "post"}
        return data


class CharterState(BaseModel):
    next_at: datetime | None = None
    posted: int = 0
    skipped: int = 0


POST = Ref(role="post")
"""The timer of the next reminder."""
RECORD = "charter"
"""The log's record of a reminder due, which the weekly digest reads (`digest_section`)."""


def role_lines(ctx: Context) -> Msg:
    """Who holds each declared role, by name."""
    lines: list[Msg] = []
    for role, keys in sorted(ctx.network.roles.items()):
        people = [ctx.directory.members[k] for k in keys if k in ctx.directory.members]
        if not people:
            continue
        label = Msg("core.charter.role_animateur") if role == "animateur" else role
        # Names, not mentions: a monthly reminder must not ping everyone who holds a role.
        lines.append(Msg("core.charter.role_line", role=label,
                         people=Lines(items=[p.name for p in people], sep=", ")))
    return Msg("core.charter.roles", lines=Lines(items=list(lines))) if lines else Msg("core.charter.no_roles")


def _charter(ctx: Context) -> Msg | str:
    return ctx.network.charter or Msg("core.charter.no_charter")


def digest_section(ctx: Context, start: datetime, end: datetime, who: Msg | None,
                   channel: str | None = None) -> Msg | None:
    """The digest's "qui fait quoi" section, preceded by the charter when a reminder fell due
    in the digest's period (for its channel, when the digest is per channel); `who` alone
    otherwise. The charter's own list of roles is left out when `who` lists them already."""
    due = any(le.kind == RECORD and start < le.at <= end
              and (channel is None or channel in (le.summary.get("channels") or [channel]))
              for le in ctx.log)
    if not due:
        return who
    if who is None:
        return Msg("core.charter.digest", charter=_charter(ctx), roles=role_lines(ctx))
    parts: list[Param] = [Msg("core.charter.digest_short", charter=_charter(ctx)), who]
    return Msg("core.charter.digest_with", sections=Lines(items=parts, sep=""))


class CharterReminder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        cfg = CharterConfig.model_validate(ctx.config)
        self.where = cfg.where
        self.recurrence = Recurrence.parse(cfg.rrule, cfg.time, ctx.network.timezone)

    def _schedule(self, state: CharterState, after: datetime) -> tuple[CharterState, list[Action]]:
        nxt = self.recurrence.after(after)
        state = state.model_copy(update={"next_at": nxt})
        return state, ([SetTimer(name=POST, due_at=nxt)] if nxt else [])

    def _message(self) -> Msg:
        return Msg("core.charter.post", network=self.ctx.network.name, charter=_charter(self.ctx),
                   roles=role_lines(self.ctx))

    def handle(self, state: CharterState, event: Event, now: datetime) -> tuple[CharterState, list[Action]]:
        if isinstance(event, Started):
            return self._schedule(state, now)
        if isinstance(event, TimerFired) and event.name == POST:
            actions: list[Action] = []
            if KIND.catch_up.is_stale(event.late_by):
                # Missed during downtime: say so in the log, do not post a stale reminder.
                state = state.model_copy(update={"skipped": state.skipped + 1})
                actions.append(Record(kind="skipped", summary={"ritual": "charter", "due_at": event.due_at.isoformat()}))
            elif self.where == "digest":
                # Said by the next weekly digest, which reads this record (`digest_section`).
                state = state.model_copy(update={"posted": state.posted + 1})
                actions.append(Record(kind=RECORD, summary={"channels": list(self.ctx.ritual_channels),
                                                            "due_at": event.due_at.isoformat()}))
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
