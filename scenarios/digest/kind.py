"""The weekly digest: one message a week per channel with the network's news and participation."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.kernel.commands import CommandSpec
from bot.kernel.i18n import Lines, Link, Month, Msg, Param, Renderer, When
from bot.kernel.model import (
    Action,
    Command,
    DirectMessage,
    Event,
    Image,
    Post,
    PrivateNote,
    Ref,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, NetworkInfo, RitualKind
from scenarios.charter import digest_section as charter_section
from scenarios.digest.chart import (
    ChartLabels,
    ChartPoint,
    PulseChart,
    PulsePoint,
    participation_png,
)
from scenarios.digest.config import DigestConfig, load_config
from scenarios.digest.gather import Content, Figures, Gatherer
from scenarios.digest.pulse import PulseNews, score
from scenarios.digest.pulse import section as pulse_section
from scenarios.digest.trend import Week, weekly
from scenarios.mandates.who import lines as who_lines

KNOWN_OUTCOMES = {"adopted", "objections", "rejected", "withdrawn", "no_quorum", "blocked",
                  "expired", "elected", "not_elected", "cancelled", "drawn", "incomplete", "done"}
TIMER = Ref(role="weekly")
SUMMARY = CommandSpec(
    name="resume",
    aliases=("digest",),
    route="singleton",
    summary_key="digest.cmd.summary",
    example_key="digest.cmd.example",
    in_dm=True,
)
"""`resume`: this week's digest now, privately."""


class Skipped(BaseModel):
    due_at: datetime
    late_by_seconds: float


class DigestState(BaseModel):
    next_due: datetime | None = None
    last_posted: datetime | None = None
    posted: int = 0
    skipped: list[Skipped] = Field(default_factory=list)


def _linked(item: Msg, link: str | None) -> Msg:
    """An item with its page in the register, when the register is on the web."""
    return Msg("digest.page.linked", item=item, link=Link(url=link)) if link else item


def percent(part: int, whole: int) -> int:
    """Rounded half up, so the text and the chart say the same number."""
    return math.floor(part * 100 / whole + 0.5)


class Digest:
    """The digest bound to one network's context; `handle` is pure."""

    def __init__(self, ctx: Context, kind: DigestKind) -> None:
        self.ctx = ctx
        self.kind = kind
        self.tz: ZoneInfo = ctx.network.tz
        self.config, channels = load_config(ctx.config)
        self.channels = list(ctx.ritual_channels) or channels or sorted(ctx.channels)

    def handle(self, state: DigestState, event: Event, now: datetime) -> tuple[DigestState, list[Action]]:
        st = state.model_copy(deep=True)
        out: list[Action] = []
        match event:
            case Started():
                self._schedule(st, now, out)
            case TimerFired(name=name) if name == TIMER:
                if self.kind.catch_up.is_stale(event.late_by):
                    # Catch-up: a digest that is too late is skipped, the next one comes on
                    # schedule; never two digests in a row.
                    st.skipped.append(Skipped(due_at=event.due_at,
                                              late_by_seconds=event.late_by.total_seconds()))
                    st.skipped = st.skipped[-10:]
                else:
                    out.extend(self.digests(now, valid_until=now + timedelta(hours=12), shown_until=st.last_posted))
                    st.last_posted = now
                    st.posted += 1
                self._schedule(st, now, out)
            case Command(name=SUMMARY.name):
                # Asked by a member, the digest answers them alone; only an animateur posts it
                # in a channel, where everyone would see it once more.
                public = event.member.is_animateur and event.channel != "dm"
                # Per-organisation figures go to animateurs only, privately: in public they
                # would rank organisations, and with groups of one or two, name who did not answer.
                out.extend(self.digest_for(event.channel, now, always=True, member=event.member.key,
                                           private=not public, detailed=event.member.is_animateur and not public))
            case _:
                pass
        return st, out

    def _schedule(self, st: DigestState, now: datetime, out: list[Action]) -> None:
        nxt = self.config.recurrence(self.tz.key).after(now)
        st.next_due = nxt
        if nxt is not None:
            out.append(SetTimer(name=TIMER, due_at=nxt))

    # --- building ------------------------------------------------------------------------

    def digests(self, now: datetime, valid_until: datetime | None = None,
                shown_until: datetime | None = None) -> list[Action]:
        """The scheduled digests; `shown_until`: the last one's time, so that a pulse's results
        appear once even when the period is longer than the schedule's interval."""
        out: list[Action] = []
        for channel in self.channels:
            out.extend(self.digest_for(channel, now, always=False, valid_until=valid_until, shown_until=shown_until))
        return out

    def digest_for(self, channel: str, now: datetime, *, always: bool, member: str | None = None,
                   valid_until: datetime | None = None, private: bool = False,
                   detailed: bool = False, shown_until: datetime | None = None) -> list[Action]:
        start = now - timedelta(days=self.config.days)
        ahead = now + timedelta(days=self.config.ahead_days)
        scope = channel if self.config.scope == "channel" and channel != "dm" else None
        content = Gatherer(self.ctx).gather(start, now, ahead, scope)
        if content.pulse is not None and shown_until is not None and content.pulse.at <= shown_until:
            content.pulse = None
        who = self.who_does_what(start, now)
        # The month's charter reminder (scenarios.charter) is said here, not in a post of its own.
        who = charter_section(self.ctx, start, now, who, scope)
        if content.is_empty() and who is None:
            if self.config.when_empty == "silent" and not always:
                return []
            text = Msg("digest.empty", network=self.ctx.network.name)
            return [self._send(channel, text, None, member, valid_until, private)]
        rows = self.rows(content, detailed)
        text = self.message(content, rows, who)
        image: Image | None = None
        if self.config.chart and (rows or content.pulse) and not private and self.ctx.capabilities(channel).images:
            weeks = weekly(Gatherer(self.ctx), now, self.config.days, scope) if rows else []
            image = self.image(weeks, content.pulse)
        return [self._send(channel, text, image, member, valid_until, private)]

    def _send(self, channel: str, text: Msg, image: Image | None, member: str | None,
              valid_until: datetime | None, private: bool) -> Action:
        if member is not None and (private or channel == "dm"):
            # Privately, the figures are in the text: no chart.
            if channel == "dm":
                return DirectMessage(member=member, text=text)
            return PrivateNote(member=member, channel=channel, text=text)
        return Post(channel=channel, text=text, image=image, valid_until=valid_until)

    def rows(self, c: Content, detailed: bool = False) -> list[tuple[Param, Figures]]:
        """Participation rows: the whole network; with `detailed` (an animateur, privately),
        each organisation too (alphabetical, "no organisation" last), capped like every section."""
        if not (c.total.asked or c.total.expected or c.counting):
            return []
        out: list[tuple[Param, Figures]] = [(Msg("digest.participation.network"), c.total)]
        if not detailed:
            return out
        orgs = sorted((o for o in c.by_org if o), key=str.casefold)
        if "" in c.by_org:
            orgs.append("")
        for org in orgs[: self.config.max_items + 3]:
            out.append((org or Msg("digest.participation.no_org"), c.by_org[org]))
        return out

    def presence(self, c: Content, f: Figures) -> Msg:
        if f.expected:
            return Msg("digest.participation.presence", present=f.present, expected=f.expected,
                       rate=percent(f.present, f.expected))
        if c.counting:
            return Msg("digest.participation.counting", titles=Lines(items=list(c.counting), sep=", "))
        return Msg("digest.participation.no_presence")

    def _figures_line(self, c: Content, label: Param, f: Figures) -> Msg:
        answers = (Msg("digest.participation.answers", answered=f.answered, asked=f.asked,
                       rate=percent(f.answered, f.asked))
                   if f.asked else Msg("digest.participation.no_answers"))
        return Msg("digest.participation.line", org=label, answers=answers, presence=self.presence(c, f))

    def who_does_what(self, start: datetime, now: datetime) -> Msg | None:
        """Who holds the declared roles, when someone was chosen, took a seat or left one during
        the period (a week without change says nothing of it)."""
        view = self.ctx.mandates
        moved = any(start < at <= now for m in view.mandates for at in (m.chosen_at, m.started_at, m.ended_at)
                    if at is not None)
        if not view.roles or not moved:
            return None
        return Msg("mandates.digest.section", lines=Lines(items=list(who_lines(view, {}, self.ctx.directory, now))))

    def message(self, c: Content, rows: Sequence[tuple[Param, Figures]], who: Msg | None = None) -> Msg:
        sections: list[Param] = []
        n = self.config.max_items
        if c.decided:
            items: list[Param] = [
                _linked(Msg("digest.decided.item", title=d.title, outcome=self._outcome(d.outcome),
                            at=When(at=d.at, style="day")), d.link)
                for d in c.decided[:n]
            ]
            sections.append(Msg("digest.section.decided", items=self._capped(items, len(c.decided))))
        if c.pending:
            items = []
            for p in c.pending[:n]:
                parts: list[Param] = [p.title]
                if p.deadline is not None:
                    parts.append(Msg("digest.pending.deadline", when=When(at=p.deadline, style="short")))
                if p.answered is not None and p.circle:
                    parts.append(Msg("digest.pending.answers", answered=p.answered, circle=p.circle))
                elif p.answered is not None:
                    parts.append(Msg("digest.pending.answered", answered=p.answered))
                items.append(Msg("digest.pending.item", line=Lines(items=parts, sep=" — ")))
            sections.append(Msg("digest.section.pending", items=self._capped(items, len(c.pending))))
        if c.selections:
            items = []
            for s in c.selections[:n]:
                people: Param = (Lines(items=list(s.people), sep=", ") if s.people
                                 else self._outcome(s.outcome or ""))
                if s.people and s.outcome == "incomplete":
                    people = Msg("digest.selection.incomplete", people=people)
                items.append(_linked(Msg(f"digest.selection.{s.kind}",
                                         title=s.title or Msg("digest.selection.untitled"), people=people), s.link))
            sections.append(Msg("digest.section.selections", items=self._capped(items, len(c.selections))))
        if who is not None:
            sections.append(who)
        if c.meetings:
            items = [
                Msg("digest.meeting.item_place" if u.place else "digest.meeting.item",
                    when=When(at=u.start, style="short"), title=u.title, place=u.place or "")
                for u in c.meetings[:n]
            ]
            sections.append(Msg("digest.section.meetings", days=self.config.ahead_days,
                                items=self._capped(items, len(c.meetings))))
        if c.newcomers:
            names: list[Param] = list(c.newcomers[: n * 2])
            sections.append(Msg("digest.section.newcomers",
                                names=self._capped(names, len(c.newcomers), sep=", ")))
        if c.cafes:
            sections.append(Msg("digest.section.cafes", count=c.cafes))
        if c.pulse is not None:
            sections.append(pulse_section(c.pulse, n))
        if rows:
            lines: list[Param] = [self._figures_line(c, label, f) for label, f in rows]
            sections.append(Msg("digest.section.participation", items=Lines(items=lines)))
        return Msg(
            "digest.body",
            network=self.ctx.network.name,
            start=When(at=c.start, style="day"),
            end=When(at=c.end, style="day"),
            sections=Lines(items=sections),
        )

    def _capped(self, items: list[Param], total: int, sep: str = "\n") -> Lines:
        if total > len(items):
            items = [*items, Msg("digest.more", count=total - len(items))]
        return Lines(items=items, sep=sep)

    def _outcome(self, outcome: str) -> Msg:
        if outcome in KNOWN_OUTCOMES:
            return Msg(f"digest.outcome.{outcome}")
        return Msg("digest.outcome.other", outcome=outcome or "—")

    def image(self, weeks: Sequence[Week], pulse: PulseNews | None = None) -> Image:
        """The network's participation over the last weeks, dated, and the pulse's months below
        when the digest carries one; the alt text says the same."""
        render = Renderer(self.ctx.network.locale, self.tz)

        def rate(part: int, whole: int) -> int | None:
            return percent(part, whole) if whole else None

        points = [ChartPoint(label=render(Msg("digest.chart.week", day=w.end.astimezone(self.tz).day,
                                                   month=w.end.astimezone(self.tz).month)),
                             answer_rate=rate(w.figures.answered, w.figures.asked),
                             presence_rate=rate(w.figures.present, w.figures.expected))
                  for w in weeks]
        labels = ChartLabels(
            title=render(Msg("digest.chart.title", weeks=len(points))),
            answers=render(Msg("digest.chart.answers")),
            presence=render(Msg("digest.chart.presence")),
            axis=render(Msg("digest.chart.axis")),
            weeks=render(Msg("digest.chart.weeks")),
        )
        panel = self._pulse_chart(render, pulse) if pulse is not None else None
        png = participation_png(points, labels, panel)

        def said(value: int | None) -> Msg:
            return Msg("digest.chart.percent", value=value) if value is not None else Msg("digest.chart.none")

        parts: list[Param] = []
        if points:
            parts.append(Msg("digest.chart.alt", lines=Lines(items=[
                Msg("digest.chart.alt_line", week=When(at=w.end, style="day"), answers=said(p.answer_rate),
                    presence=said(p.presence_rate)) for w, p in zip(weeks, points, strict=True)])))
        if pulse is not None:
            parts.append(Msg("digest.chart.pulse_alt", lines=Lines(items=[
                Msg("digest.chart.pulse_alt_line", month=Month(year=m.year, month=m.month),
                    score=score(m.tenths) if m.tenths is not None else Msg("digest.chart.none"))
                for m in pulse.trend])))
        alt = parts[0] if len(parts) == 1 else Msg("digest.chart.alt_both", parts=Lines(items=parts))
        return Image(png_b64=base64.b64encode(png).decode("ascii"), alt=alt, filename="participation.png")

    def _pulse_chart(self, render: Renderer, pulse: PulseNews) -> PulseChart:
        """The pulse's months, dated « janv. 27 », each mean written as the text writes it."""
        points = [PulsePoint(label=render(Msg("digest.chart.month", month=m.month, year=f"{m.year % 100:02d}")),
                             value=m.tenths / 10 if m.tenths is not None else None,
                             said=render(score(m.tenths)) if m.tenths is not None else "")
                  for m in pulse.trend]
        return PulseChart(points=points, title=render(Msg("digest.chart.pulse_title", months=len(points))),
                          axis=render(Msg("digest.chart.pulse_axis")), months=render(Msg("digest.chart.months")))


class DigestKind(RitualKind[DigestState]):
    """`[[rituals]] kind = "digest"`, configured once: posts on its schedule; `resume` posts
    one now (route "singleton")."""

    name = "digest"
    state_type = DigestState
    config_model = DigestConfig
    catch_up = CatchUp(
        grace=timedelta(hours=12),
        description="a digest more than 12 hours late is skipped; the next one comes on schedule",
    )
    commands = (SUMMARY,)
    reads_log = True
    reads_mandates = True

    def bind(self, ctx: Context) -> Digest:
        return Digest(ctx, self)

    def summarize(self, state: DigestState) -> Mapping[str, Any] | None:
        return None

    def export_calendar(
        self, config: Mapping[str, Any], state: DigestState | None, network: NetworkInfo, now: datetime
    ) -> bytes | None:
        from scenarios.digest.ics import build_calendar

        return build_calendar(config, network=network.name, timezone=network.timezone,
                              locale=network.locale, now=now)

    def upcoming(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, str]]:
        cfg, _ = load_config(config)
        return [(at, "digest.schedule.post") for at in cfg.recurrence(tz.key).occurrences(start, count)]
