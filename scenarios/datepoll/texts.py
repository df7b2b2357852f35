"""How a date poll is said: its one table post (slots × counts), its choices, its reminder."""

from __future__ import annotations

from bot.kernel.i18n import Lines, Msg, Param, When
from bot.kernel.model import Choice
from scenarios.datepoll.commands import ANSWERS
from scenarios.datepoll.state import DatePollState, Slot, Style

EMOJI = {"yes": "✅", "maybe": "🤔", "no": "❌"}
MEETING_RSVP = {"yes": "yes", "no": "no", "maybe": "maybe"}
"""A slot's answer → the meeting's RSVP: « si besoin » becomes « peut-être » (the meeting has it)."""


def slot_when(slot: Slot) -> When:
    return When(at=slot.start, style="short")


def slot_line(slot: Slot) -> Msg:
    """The slot as a line says it: « mar. 12 janv. à 18 h », with its place when it has one."""
    if slot.place:
        return Msg("datepoll.slot.with_place", when=slot_when(slot), place=slot.place)
    return Msg("datepoll.slot.plain", when=slot_when(slot))


def slot_choices(n: int | None = None) -> list[Choice]:
    """One slot's three answers: as a poll of its own (`n` None), or a row of the table's
    buttons (ids `n.yes`, `n.maybe`, `n.no`)."""
    if n is None:
        return [Choice(id=a, label=Msg(f"datepoll.choice.{a}"), emoji=EMOJI[a]) for a in ANSWERS]
    return [Choice(id=f"{n}.{a}", label=Msg(f"datepoll.choice.{a}_n", n=n), emoji=EMOJI[a], row=n) for a in ANSWERS]


def table_choices(st: DatePollState) -> list[Choice]:
    return [c for n in range(1, len(st.slots) + 1) for c in slot_choices(n)]


def _rows(st: DatePollState) -> Lines:
    items: list[Param] = []
    for n, slot in enumerate(st.slots, start=1):
        key = "datepoll.table.row_chosen" if st.chosen == n else "datepoll.table.row"
        items.append(Msg(key, n=n, slot=slot_line(slot), yes=slot.yes, maybe=slot.maybe, no=slot.no))
    return Lines(items=items)


def _how(style: Style) -> Msg:
    return Msg(f"datepoll.how.{style}")


def tied_lines(st: DatePollState) -> Lines:
    return Lines(items=[Msg("datepoll.remind.slot", n=n, slot=slot_line(st.slots[n - 1])) for n in st.tied])


def table(st: DatePollState, by: str, actor: str, reason: str | None = None) -> Msg:
    """The poll's one post: its heading (launched `by`), the slots with their counts, where it
    stands (cancelled by `actor`)."""
    deadline = When(at=st.deadline, style="short") if st.deadline is not None else None
    match st.status:
        case "open":
            state: Msg = Msg("datepoll.table.open", deadline=deadline, how=_how(st.style))
        case "tie":
            state = Msg("datepoll.table.tie", slots=Lines(items=[str(n) for n in st.tied], sep=", "), by=by,
                        first=st.tied[0])
        case "closed" if st.chosen is not None:
            state = Msg("datepoll.table.chosen", slot=slot_line(st.slots[st.chosen - 1]))
        case "closed":
            state = Msg("datepoll.table.lapsed")
        case _:
            state = Msg("datepoll.table.cancelled", by=actor,
                        reason=Msg("datepoll.table.reason", reason=reason) if reason else Msg("datepoll.table.no_reason"))
    return Msg("datepoll.table.body", title=st.title, by=by, rows=_rows(st), answered=st.answered, state=state)


def reminder(st: DatePollState, channel_name: str) -> Msg:
    deadline = When(at=st.deadline, style="short") if st.deadline is not None else None
    slots: list[Param] = [Msg("datepoll.remind.slot", n=n, slot=slot_line(s)) for n, s in enumerate(st.slots, 1)]
    return Msg("datepoll.remind.body", title=st.title, channel=channel_name, deadline=deadline,
               slots=Lines(items=slots))


def slot_question(n: int, slot: Slot) -> Msg:
    return Msg("datepoll.poll.question", n=n, slot=slot_line(slot))

