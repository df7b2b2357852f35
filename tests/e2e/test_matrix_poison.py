"""A poison event on a real homeserver: it is set aside, the sync moves on, the next member's
command is answered, and a restart does not bring the poison back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from bot.store import schema as t
from tests.e2e.test_matrix_bot import WholeBot, _setup, body_of, bot_env, config_text, from_bot  # noqa: F401
from tests.fixtures.matrix_clients import close_all
from tests.fixtures.poison_kind import POISON, registry_with_poison
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]


async def test_a_poison_message_stops_nobody(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:  # noqa: F811
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path)
    bot_env(bot_user)
    text = config_text(synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id})
    whole = WholeBot(tmp_path / "bot", text, kinds=registry_with_poison())
    await whole.start()
    try:
        poison = await alice.say(room, f"!reseau boum {POISON}")
        await bob.say(room, "!reseau aide")
        # Bob's command, sent just after the poison, is answered.
        await bob.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e) and "aide" in body_of(e),
                           within=60)
        # Alice hears, in her language, that her request could not be handled.
        await alice.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e)
                             and "l'équipe d'animation est prévenue" in body_of(e), within=60)
        assert whole.store is not None
        async with whole.store.read() as conn:
            letters = (await conn.execute(select(t.dead_letters.c.event_id, t.dead_letters.c.platform))).all()
        assert [(r[0], r[1]) for r in letters] == [(poison, "matrix")]
        # The sync token moved past the poison: a restart neither retries nor answers it again.
        await whole.stop()
        whole = WholeBot(tmp_path / "bot", text, kinds=registry_with_poison())
        await whole.start()
        await bob.say(room, "!reseau profil")
        await bob.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e) and "rofil" in body_of(e),
                           within=60)
        sorry = [e for r, e in alice.seen if from_bot(bot_user)(r, e) and "prévenue" in body_of(e)]
        assert len(sorry) == 1
    finally:
        await whole.stop()
        await close_all(alice, bob)
