"""What a draw says: its announcement, each member's chance, the pool it draws from and the
advice when rotation leaves too few people; shared by the draw's steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from bot.kernel.commands import fold
from bot.kernel.i18n import Code, Lines, Link, Mention, Msg, Param, When
from bot.kernel.model import Post
from bot.kernel.register import page_link
from bot.kernel.scenario import Context
from scenarios.sortition.draw import feasible
from scenarios.sortition.pool import (
    ORGANISATION,
    Person,
    Quota,
    SortitionError,
    expand_quotas,
)
from scenarios.sortition.record import (
    DrawRecord,
    largest_probability,
    probability_of,
    smallest_probability,
)
from scenarios.sortition.rotation import EXCLUDE_REASONS, PastDraw, exclusions
from scenarios.sortition.settings import draw_config
from scenarios.sortition.state import ANNOUNCE, DrawState, percent_of


def _persons(members: Sequence[Any]) -> list[Person]:
    out: list[Person] = []
    for m in members:
        attrs = dict(m.attributes)
        if m.organisation and ORGANISATION not in attrs:
            attrs[ORGANISATION] = m.organisation
        out.append(Person(m.key, attrs))
    return out


class DrawTexts:
    """The draw's context, settings and words."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config = draw_config(ctx)

    def mention(self, key: str) -> Mention:
        m = self.ctx.directory.member(key)
        return Mention(member=key, name=m.name if m else key)

    def mentions(self, keys: Sequence[str]) -> Lines:
        return Lines(items=[self.mention(k) for k in keys], sep=", ")

    def name(self, key: str) -> str:
        """A member named in words, not mentioned: what they just did, or what is said of
        them, asks nothing of them (issue 15: a mention is an interruption)."""
        m = self.ctx.directory.member(key)
        return m.name if m else key

    def names(self, keys: Sequence[str]) -> Lines:
        return Lines(items=[self.name(k) for k in keys], sep=", ")

    def with_page(self, message: Msg) -> Msg:
        """The message, and the draw's page in the register when it is on the web."""
        page = page_link(self.ctx.network.register_url, "draw", self.ctx.number)
        return Msg("sortition.page.linked", message=message, link=Link(url=page)) if page else message

    def heading(self, state: DrawState) -> Msg:
        if state.title:
            return Msg("sortition.heading_role", number=self.ctx.number, role=state.title)
        return Msg("sortition.heading", number=self.ctx.number)

    def post(self, state: DrawState, text: Msg, **kw: Any) -> Post:
        assert state.channel is not None
        return Post(channel=state.channel, text=text, thread=ANNOUNCE, **kw)

    def pool(
        self, asked: Any, role: Any, channel: str | None
    ) -> tuple[list[Person], Msg]:
        d = self.ctx.directory
        if isinstance(asked, str) and asked:
            name = asked.lstrip("#@")
            for key in sorted(self.ctx.channels):
                info = self.ctx.channels[key]
                if fold(name) in (fold(key), fold(info.name)):
                    return _persons(d.circle(channels=[key])), Msg("sortition.pool_channel", name=info.name)
            for g in sorted(d.groups):
                if fold(g) == fold(name):
                    return _persons(d.circle(group=g)), Msg("sortition.pool_group", name=g)
            raise SortitionError(Msg("sortition.error.unknown_pool", name=asked))
        group = (role.group if role is not None else None) or self.config.group
        if group:
            if group not in d.groups:
                raise SortitionError(Msg("sortition.error.unknown_pool", name=group))
            return _persons(d.circle(group=group)), Msg("sortition.pool_group", name=group)
        if channel is None:
            raise SortitionError(Msg("sortition.error.no_channel"))
        here = self.ctx.channels.get(channel)
        return _persons(d.circle(channels=[channel])), Msg(
            "sortition.pool_channel", name=here.name if here else channel
        )

    def rotation_advice(
        self, people: Sequence[Person], quotas: Sequence[Quota], k: int, past: Sequence[PastDraw], r: int
    ) -> Msg:
        """The longest rotation that still lets the quotas hold, for the animateur to choose."""
        for shorter in range(r - 1, -1, -1):
            out = {e.person.id for e in exclusions(past, shorter, people)}
            eligible = [p for p in people if p.id not in out]
            try:
                bounds = expand_quotas(quotas, people, k)
            except SortitionError:
                break
            if feasible(eligible, bounds, k):
                return Msg("sortition.rotation.advice", rotation=shorter)
        return Msg("sortition.rotation.no_advice")

    def announcement(
        self, state: DrawState, r: DrawRecord, pool_name: Msg, rotation: int, until: datetime
    ) -> Msg:
        """The short message in plain words: seats, who can be drawn (and who cannot, why),
        the quotas, how to add to the chance and until when, where fairness is explained."""
        quotas: list[Param] = [Quota(q.attribute, q.value, q.min, q.max).describe() for q in r.quotas]
        notes: list[Param] = []
        by_reason: dict[str, list[str]] = {}
        for e in r.excluded:
            by_reason.setdefault(e.reason, []).append(e.id)
        for reason in ("rotation", "max_consecutive", "holds_seat", "excluded"):
            who = by_reason.get(reason)
            if who:
                notes.append(Msg(f"sortition.announce.out_{reason}", count=len(who), who=self.names(who),
                                 rotation=rotation))
        zero = [m for m, p in r.probabilities.items() if Fraction(p) == 0]
        if zero:
            notes.append(Msg("sortition.announce.zero", count=len(zero), who=self.names(zero)))
        page = page_link(self.ctx.network.register_url, "draw", self.ctx.number)
        return Msg(
            "sortition.announce.text",
            heading=self.heading(state),
            k=r.k,
            pool=pool_name,
            n=len(r.pool),
            notes=Msg("sortition.announce.notes", lines=Lines(items=notes)) if notes else "",
            quotas=Lines(items=quotas, sep=", ") if quotas else Msg("sortition.announce.no_quotas"),
            until=When(at=until, style="short"),
            needed=self.config.min_contributors,
            fair=Msg("sortition.announce.fair_link", link=Link(url=page)) if page
            else Msg("sortition.announce.fair_thread"),
        )

    def details(self, r: DrawRecord) -> Msg:
        """The announcement's thread: how the draw is fair, and the commitments published
        before the chance exists (what `maillage draw verify` checks)."""
        return Msg(
            "sortition.announce.details",
            smallest=percent_of(smallest_probability(r)),
            largest=percent_of(largest_probability(r)),
            balance=Msg("sortition.announce.balance") if r.history else Msg("sortition.announce.plain"),
            pool_hash=Code(text=r.hashes.pool),
            quotas_hash=Code(text=r.hashes.quotas),
            lottery_hash=Code(text=r.hashes.lottery),
            draw_hash=Code(text=r.hashes.draw),
            algorithm=Code(text=r.algorithm),
            size=r.lottery.size,
            number=self.ctx.number,
        )

    def probability(self, r: DrawRecord, member: str) -> Msg:
        p = probability_of(r, member)
        if p is not None:
            same = sum(1 for q in r.probabilities.values() if q == r.probabilities[member]) - 1
            return Msg(
                "sortition.probability.yours",
                percent=percent_of(p),
                fraction=Code(text=r.probabilities[member]),
                same=same,
                smallest=percent_of(smallest_probability(r)),
                largest=percent_of(largest_probability(r)),
                k=r.k,
                n=len(r.pool),
            )
        for e in r.excluded:
            if e.id == member and e.reason == "rotation":
                return Msg("sortition.probability.excluded", draw=e.draw or 0)
            if e.id == member:
                reason = e.reason if e.reason in EXCLUDE_REASONS else "excluded"
                return Msg(f"sortition.probability.out_{reason}")
        return Msg("sortition.probability.not_in_pool")
