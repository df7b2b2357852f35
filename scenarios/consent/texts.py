"""What a round says: its proposal's text, its outcome, how it names itself; the messages the
round machine (`scenarios.consent.round`) posts and edits."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.kernel.i18n import Code, Lines, Link, Mention, Msg, When
from bot.kernel.model import Member, PrivateNote, ReplyHandle
from bot.kernel.register import page_link
from bot.kernel.scenario import Context
from scenarios.consent.config import ConsentConfig
from scenarios.consent.state import CHOICE_IDS, RoundState
from scenarios.consent.tally import Tally


def percent(share: float) -> int:
    return round(share * 100)


def deadline_of(st: RoundState) -> datetime:
    if st.deadline is None:
        raise ValueError("a round without a deadline was not opened")
    return st.deadline


@lru_cache(maxsize=256)
def _naming(election: bool, number: int) -> tuple[Msg, Msg]:
    # Frozen messages, the same for every message of a round: made once, not for each answer.
    what = "election" if election else "decision"
    return Msg(f"consent.what.{what}", number=number), Msg(f"consent.what.{what}_cap", number=number)


class RoundTexts:
    """The round's words, bound to a context and its settings."""

    def __init__(self, ctx: Context, cfg: ConsentConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg

    def tally(self, st: RoundState) -> Tally:
        return Tally(self.ctx, st)

    def _n(self, st: RoundState) -> dict[str, Any]:
        """The round's number, and how messages name it ("la décision #3", "l'élection #2")."""
        what, what_cap = _naming(st.subject == "election", st.number)
        return {"number": st.number, "what": what, "what_cap": what_cap}

    def _note(self, member: Member, channel: str, text: Msg, reply_to: ReplyHandle | None = None) -> PrivateNote:
        return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)

    def _not_in_circle(self, st: RoundState, member: Member, channel: str) -> PrivateNote:
        if st.group:
            return self._note(member, channel, Msg("consent.answer.not_in_group", **self._n(st), group=st.group))
        return self._note(member, channel, Msg("consent.answer.not_in_circle", **self._n(st)))

    def _edits(self, channel: str) -> bool:
        return self.ctx.capabilities(channel).edits

    def _mention_author(self, st: RoundState) -> Mention:
        return Mention(member=st.author, name=st.author_name)

    def _title_line(self, st: RoundState, version: int) -> Msg:
        if st.headline is not None:
            key = "consent.proposal.headline_election" if st.subject == "election" else "consent.proposal.headline"
            return Msg(key, headline=st.headline, **self._n(st), version=version)
        return Msg("consent.proposal.title", title=st.title, **self._n(st), version=version)

    def _phase(self, st: RoundState) -> Msg:
        if st.status == "questions" and st.questions_until is not None:
            return Msg("consent.proposal.phase_questions", questions_until=When(at=st.questions_until),
                       deadline=When(at=deadline_of(st)))
        return Msg("consent.proposal.phase_answers", deadline=When(at=deadline_of(st)))

    def _proposal_text(self, st: RoundState, version: int | None = None, phase: Msg | None = None,
                       channel: str | None = None, top: Msg | None = None) -> Msg:
        """The proposal's post; `top`: what a closed round says first (« Adoptée le … »), since
        the edited post is where the outcome is read, its detail being in the thread."""
        v = version or st.version
        # The author is named, not mentioned: they just proposed it, and every edit of the live
        # counts would carry the mention again (issue 15).
        lines: list[Msg] = [self._title_line(st, v), Msg("consent.proposal.by", author=st.author_name)]
        if top is not None:
            lines.insert(0, top)
        if st.description:
            lines.append(Msg("consent.proposal.description", text=st.description))
        if v > 1:
            lines.append(Msg("consent.proposal.amended", previous=v - 1))
        lines.append(phase or self._phase(st))
        if phase is None:
            if channel is not None and channel in self._ballot_channels(st):
                lines.append(Msg("consent.proposal.how_ballot"))
            else:
                lines.append(Msg("consent.proposal.how"))
            if st.group:
                lines.append(Msg("consent.proposal.circle_group", group=st.group))
            if st.quorum is not None:
                lines.append(Msg("consent.proposal.quorum", percent=percent(st.quorum)))
            if st.anonymous:
                lines.append(Msg("consent.proposal.anonymous"))
        if v == st.version and st.answered:
            c = st.counts
            lines.append(Msg("consent.proposal.counts", consent=c["consent"], concern=c["concern"],
                             objection=c["objection"], stand_aside=c["stand_aside"], answered=st.answered,
                             circle=self.tally(st).circle_size()))
        return Msg("consent.proposal.body", lines=Lines(items=list(lines)))

    def _top(self, st: RoundState, outcome: str, at: datetime) -> Msg:
        """The closed round's first line on its post: the outcome and its day."""
        if outcome == "adopted" and st.adopted is not None:
            return Msg("consent.proposal.top_adopted_as", adopted=st.adopted)
        return Msg(f"consent.proposal.top_{outcome}", when=When(at=at, style="date"))

    def _ballot_channels(self, st: RoundState) -> set[str]:
        """In an anonymous round, channels whose answers others would see (reactions, polls)."""
        if not st.anonymous:
            return set()
        return {ch for ch in st.channels if not self.ctx.capabilities(ch).buttons}

    def _dm_style(self, platform: str) -> str:
        for info in self.ctx.channels.values():
            if info.platform == platform:
                return info.capabilities.choice_style()
        return "reactions"

    def where(self, st: RoundState) -> Lines:
        names = [self.ctx.channels[ch].name if ch in self.ctx.channels else ch for ch in st.channels]
        return Lines(items=[Code(text=n) for n in names], sep=", ")

    def _outcome_msg(self, st: RoundState, outcome: str, counts: dict[str, int], answered: int, circle: int) -> Msg:
        count_line = Msg("consent.outcome.counts", consent=counts["consent"], concern=counts["concern"],
                         objection=counts["objection"], stand_aside=counts["stand_aside"], answered=answered,
                         circle=circle)
        title_line = self._title_line(st, st.version)
        parts: list[Msg] = []
        if outcome == "adopted":
            parts.append(st.adopted or Msg("consent.outcome.adopted", title_line=title_line))
        elif outcome == "objections":
            parts.append(Msg("consent.outcome.objections", title_line=title_line, objections=self._objection_lines(st),
                             author=self._mention_author(st)))
        else:
            parts.append(Msg("consent.outcome.no_quorum", title_line=title_line, answered=answered, circle=circle,
                             percent=percent(st.quorum or 0), author=self._mention_author(st)))
        parts.append(count_line)
        if not st.anonymous:
            names = self.tally(st).names()
            for choice in CHOICE_IDS:
                if names[choice]:
                    parts.append(Msg(f"consent.outcome.names_{choice}", names=Lines(items=list(names[choice]), sep=", ")))
        concerns = self._concern_lines(st)
        if concerns.items:
            parts.append(Msg("consent.outcome.concerns", concerns=concerns))
        if st.late:
            parts.append(Msg("consent.outcome.late", count=st.late))
        if st.closed_late_by:
            parts.append(Msg("consent.outcome.closed_late", deadline=When(at=st.closed_at or deadline_of(st))))
        page = page_link(self.ctx.network.register_url, "election" if st.subject == "election" else "decision", st.number)
        if page:
            parts.append(Msg("consent.page.outcome", link=Link(url=page)))
        return Msg("consent.outcome.body", lines=Lines(items=list(parts)))

    def _objection_lines(self, st: RoundState) -> Lines:
        items: list[Msg] = []
        for o in self.tally(st).objections():
            reason: Msg | str = o["reason"] if o["reason"] else Msg("consent.objection.no_reason")
            if o["by"]:
                items.append(Msg("consent.outcome.objection_line", who=o["by"], reason=reason))
            else:
                items.append(Msg("consent.outcome.objection_line_anonymous", reason=reason))
        return Lines(items=list(items))

    def _concern_lines(self, st: RoundState) -> Lines:
        """The réserves given with their reason (who gave them, unless the round is anonymous)."""
        items: list[Msg] = []
        given = sorted((a for a in self.tally(st).current() if a.value == "concern" and a.reason),
                       key=lambda a: a.member or "")
        for a in given:
            if st.anonymous or a.member is None:
                items.append(Msg("consent.outcome.concern_line_anonymous", reason=a.reason or ""))
            else:
                items.append(Msg("consent.outcome.concern_line", who=self.tally(st).name(a.member), reason=a.reason or ""))
        return Lines(items=list(items))
