"""500 members answer one consent round with a reaction, all at once, through Synapse."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from nio import UnknownEvent
from sqlalchemy import select

from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from bot.store import schema as t
from tests.e2e.test_matrix_bot import WholeBot, body_of, bot_env, config_text  # noqa: F401
from tests.fixtures.matrix_clients import close_all, make_member, unique
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

VOTERS = 500
PARALLEL = 50


async def put(http: aiohttp.ClientSession, server: DevHomeserver, user: RegisteredUser, path: str,
              content: dict[str, Any], method: str = "PUT") -> dict[str, Any]:
    async with http.request(method, f"{server.base_url}/_matrix/client/v3{path}", json=content,
                            headers={"Authorization": f"Bearer {user.access_token}"}) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        return body


async def test_500_reactions_in_a_burst_are_each_counted_once(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:  # noqa: F811
    server = synapse_server
    bot_user = await server.register(unique("maillage"), "bot-password")
    bot_env(bot_user)
    alice = await make_member(server, "alice")
    gate = asyncio.Semaphore(PARALLEL)

    async def limited(coro: Any) -> Any:
        async with gate:
            return await coro

    voters: list[RegisteredUser] = list(await asyncio.gather(*(
        limited(server.register(unique(f"v{i}"), "pw")) for i in range(VOTERS))))
    whole: WholeBot | None = None
    try:
        async with aiohttp.ClientSession() as http:
            room = await alice.create_room(invite=[bot_user.user_id])
            await alice.client.room_put_state(room, "m.room.join_rules", {"join_rule": "public"})
            await asyncio.gather(*(limited(put(http, server, v, f"/join/{quote(room)}", {}, "POST"))
                                   for v in voters))
            members = {"alice": alice.user_id, **{f"v{i}": v.user_id for i, v in enumerate(voters)}}
            whole = WholeBot(tmp_path / "bot", config_text(server, bot_user, {"general": room}, members))
            await whole.start()

            await alice.say(room, '!reseau decision "Cinq cents voix" jusqu\'à vendredi 18h')
            [(_, proposal)] = await alice.wait_for(
                lambda r, e: r == room and isinstance(e, UnknownEvent) and e.sender == bot_user.user_id
                and e.type.endswith("poll.start"), within=60)

            # The burst: every voter reacts at once; half consent, half stand aside.
            emojis = {v.user_id: ("✅" if i % 2 == 0 else "🙊") for i, v in enumerate(voters)}

            async def react(v: RegisteredUser) -> str:
                body = await put(http, server, v, f"/rooms/{quote(room)}/send/m.reaction/{uuid.uuid4().hex}", {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": proposal.event_id,
                                     "key": emojis[v.user_id]}})
                return str(body["event_id"])

            sent = set(await asyncio.gather(*(limited(react(v)) for v in voters)))
            assert len(sent) == VOTERS

            assert whole.store is not None
            store = whole.store
            deadline = time.monotonic() + 180
            while True:
                async with store.read() as conn:
                    state = (await conn.execute(select(t.rituals.c.state).where(
                        t.rituals.c.kind == "consent"))).scalar_one()
                    answers = (await conn.execute(select(t.answers.c.person_id, t.answers.c.value).where(
                        t.answers.c.topic == "consent", t.answers.c.superseded_at.is_(None)))).all()
                    seen = {r[0] for r in (await conn.execute(select(t.inbound_events.c.event_id).where(
                        t.inbound_events.c.event_id.in_(list(sent))))).all()}
                if len(answers) >= VOTERS or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            # Each reaction reached the engine, once; each voter has one current answer row, as
            # given, and the round's counts agree with the rows.
            assert seen == sent
            assert len(answers) == VOTERS and len({a.person_id for a in answers}) == VOTERS
            assert Counter(a.value for a in answers) == {"consent": 250, "stand_aside": 250}
            assert {k: v for k, v in state["counts"].items() if v} == {"consent": 250, "stand_aside": 250}

            # The proposal's live counts say so too: in one edit per `refresh` minute, so the last
            # one may come a minute after the last answer was stored.
            def counted(r: str, e: Any) -> bool:
                rel = e.source.get("content", {}).get("m.relates_to") or {}
                return (r == room and e.sender == bot_user.user_id and rel.get("rel_type") == "m.replace"
                        and rel.get("event_id") == proposal.event_id and "✅ 250" in body_of(e)
                        and "🙊 250" in body_of(e))
            await alice.wait_for(counted, within=150)
    finally:
        if whole is not None:
            await whole.stop()
        await close_all(alice)
