"""A store the release before typed refs wrote (refs as strings in message refs, contents,
awaited replies, timers and outbox actions) reads as the same messages, and the same refs
written now land on the same rows: no migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bot.kernel.model import OUTBOUND, Post, Ref
from bot.store import open_store
from bot.store import schema as t
from bot.store.rows import MessageRef, OutboxNew, RefDelivered, TimerSet

T0 = datetime(2026, 3, 24, 17, 0, tzinfo=UTC)
BOB = "matrix:@bob:example.org"
PROPOSAL = Ref(role="proposal", version=2, channel="general")


async def test_rows_an_earlier_release_wrote_read_as_the_same_messages(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        async with store.unit() as unit:
            nid = await unit.networks.ensure("Réseau", T0)
            consent = (await unit.rituals.create(nid, "consent", None, ["general"], {}, "command", T0)).id
            meeting = (await unit.rituals.create(nid, "meeting", "reunion", ["general"], {}, "config", T0)).id
            bob = await unit.people.add_person(nid, BOB, "Bob", now=T0)
            # An outbox entry as it was written then: refs as text inside the action's JSON.
            await unit.outbox.add(nid, [OutboxNew(consent, "old-1", "matrix", {
                "action": "post", "channel": "general", "text": {"t": "msg", "key": "core.cmd.empty", "params": {}},
                "ref": None, "thread": "proposal:v2:general", "choices": [], "choice_style": "buttons",
                "image": None, "notice": True, "valid_until": None}, {"channel": "general"}, T0)])
        async with store.transaction() as conn:
            ref_row = {"network_id": nid, "platform": "matrix", "platform_channel": "!g:example.org"}
            await conn.execute(insert(t.message_refs), [
                {**ref_row, "ritual_id": consent, "ref": "proposal:v2:general", "channel_key": "general",
                 "platform_message_id": "$proposal", "choices": {"✅": "consent"}},
                {**ref_row, "ritual_id": meeting, "ref": f"main.20260331|dm|{BOB}", "channel_key": f"dm:{BOB}",
                 "platform_message_id": "$reminder", "choices": {}},
            ])
            await conn.execute(insert(t.message_contents).values(
                ritual_id=consent, ref="proposal:v2:general", channel_key="general", text_hash="h", choices_hash="c"))
            await conn.execute(insert(t.pending_replies).values(
                network_id=nid, person_id=bob, ritual_id=consent, ref=f"proposal:v2:ask:{BOB}"))
            await conn.execute(insert(t.timers), [
                {"network_id": nid, "ritual_id": consent, "name": "consent:remind:0", "due_at": T0,
                 "payload": {"version": 2}},
                {"network_id": nid, "ritual_id": meeting, "name": "main.20260331|r1", "due_at": T0, "payload": {}},
            ])

        async with store.reading() as unit:
            assert await unit.refs.find(nid, "matrix", "$proposal") == MessageRef(
                consent, PROPOSAL, "general", {"✅": "consent"})
            assert await unit.refs.find(nid, "matrix", "$reminder") == MessageRef(
                meeting, Ref(key="main.20260331", role="dm", member=BOB), f"dm:{BOB}", {})
            assert await unit.refs.platform_id(consent, PROPOSAL, "general") == (True, "$proposal")
            assert await unit.refs.content(consent, PROPOSAL, "general") == ("h", "c")
            assert await unit.inbound.expected_reply(nid, bob) == (
                consent, Ref(role="ask", version=2, member=BOB))
            ((action, _),) = await unit.outbox.pending_of(consent)
            post = OUTBOUND.validate_python(action)
            assert isinstance(post, Post) and post.thread == PROPOSAL and post.ref is None

        async with store.unit() as unit:
            # The same refs written now hit the rows written then.
            await unit.refs.delivered(nid, [RefDelivered(consent, PROPOSAL, "general", "matrix", "!g:example.org",
                                                         "$proposal-again", {})])
            await unit.refs.put_contents({(consent, PROPOSAL, "general"): ("h2", None)})
            await unit.timers.replace(nid, {(consent, Ref(scope="consent", role="remind", n=0)): TimerSet(
                consent, Ref(scope="consent", role="remind", n=0), T0 + timedelta(hours=1), {"version": 2})})
            due = await unit.timers.take_due(nid, T0, 10)
            assert [(r.ritual_id, r.name) for r in due] == [(meeting, Ref(key="main.20260331", role="r", n=1))]
        async with store.reading() as unit:
            assert await unit.refs.find(nid, "matrix", "$proposal") is None
            assert (await unit.refs.find(nid, "matrix", "$proposal-again")) == MessageRef(consent, PROPOSAL, "general")
            assert await unit.refs.content(consent, PROPOSAL, "general") == ("h2", None)
            later = await unit.timers.take_due(nid, T0 + timedelta(hours=1), 10)
            assert [(r.name, r.payload) for r in later] == [(Ref(scope="consent", role="remind", n=0), {"version": 2})]
        async with store.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.message_refs))).scalar() == 2
            assert (await conn.execute(select(func.count()).select_from(t.message_contents))).scalar() == 1
            stored = {r[0] for r in (await conn.execute(select(t.message_refs.c.ref))).all()}
            assert stored == {"proposal:v2:general", f"main.20260331|dm|{BOB}"}
    finally:
        await store.close()
