"""A date poll on Matrix: the table is a message, each slot a poll of its own (Oui, Si besoin, Non) in
the table's thread, as the Matrix adapter sends them (MSC3381 poll start, m.thread relation)."""

from __future__ import annotations

from adapters.matrix import content as mx
from bot.adapter import Outgoing
from bot.kernel.model import Post, Ref, Started
from bot.kernel.scenario import Capabilities
from scenarios.datepoll import KIND
from tests.unit.test_datepoll import SLOTS, START, parsed
from tests.unit.test_meeting_support import ALICE, Sim, context

TABLE_EVENT = "$table:reseau.example"


def test_each_slot_is_a_poll_in_the_tables_thread() -> None:
    sim = Sim(KIND, context({}, capabilities=Capabilities(polls=True)), START)
    table, *slots = [a for a in sim.send(Started(by=ALICE, channel="general", params=parsed(SLOTS["fr"])))
                     if isinstance(a, Post)]
    assert table.ref == Ref(role="table") and not mx.as_poll(table.choices, table.choice_style)
    (sent,) = mx.post(mx.render(Outgoing(action=table, key="k-table", channel="!r:x"), table.text), thread=None,
                      notice=True)
    assert sent.type == "m.room.message" and "Sondage de dates" in sent.content["body"]
    for n, slot in enumerate(slots, start=1):
        out = Outgoing(action=slot, key=f"k-slot-{n}", channel="!r:x")
        assert slot.thread == Ref(role="table") and mx.as_poll(slot.choices, slot.choice_style)
        answers = mx.poll_answers(out, slot.choices)
        assert [(a.id, a.text) for a in answers] == [("yes", "✅ Oui"), ("maybe", "🤔 Si besoin"), ("no", "❌ Non")]
        (poll,) = mx.post(mx.render(out, slot.text), thread=TABLE_EVENT, notice=True, answers=answers)
        assert poll.type == mx.POLL_START_TYPE
        assert poll.content["m.relates_to"]["rel_type"] == "m.thread"
        assert poll.content["m.relates_to"]["event_id"] == TABLE_EVENT
        assert f"Créneau {n}" in str(poll.content)
