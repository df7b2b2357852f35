"""The whole bot on Matrix: engine, store and scenarios behind the adapter, against Synapse."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageNotice, RoomMessageText, UnknownEvent

from adapters.matrix.adapter import MatrixAdapter, build
from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from bot.cli.adapters import platform_configs
from bot.config import Config, load
from bot.engine.running import RunningBot, running_bot
from bot.kernel.scenario import Registry
from bot.store import Store, open_store
from scenarios import registry
from tests.fixtures.matrix_clients import Member, close_all, make_member, unique
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

PASSWORD_ENV = "MAILLAGE_TEST_BOT_PASSWORD"
ROOT = Path(__file__).parents[2]


def config_text(server: DevHomeserver, bot: RegisteredUser, rooms: dict[str, str],
                members: dict[str, str], *, encryption: bool = False,
                animateurs: tuple[str, ...] = ("alice",)) -> str:
    lines = [
        "[network]", 'name = "Réseau test"', 'locale = "fr"', 'timezone = "Europe/Paris"', "",
        "[store]", 'url = "sqlite+aiosqlite:///maillage.db"', "",
        "[matrix]", f'homeserver = "{server.base_url}"', f'user_id = "{bot.user_id}"',
        f'password_env = "{PASSWORD_ENV}"', 'store_path = "matrix-store"',
        f"encryption = {'true' if encryption else 'false'}", "",
    ]
    for key, room in rooms.items():
        lines += ["[[channels]]", f'id = "{key}"', 'platform = "matrix"', f'room = "{room}"', ""]
    for key, user in members.items():
        lines += ["[[members]]", f'id = "{key}"', f'name = "{key.capitalize()}"',
                  f'accounts = ["matrix:{user}"]', ""]
    lines += ["[roles]", "animateurs = [" + ", ".join(f'"{a}"' for a in animateurs) + "]", ""]
    # Live counts on a proposal are coalesced; a short interval keeps the test brisk.
    lines += ["[defaults.consent]", 'refresh = "PT1S"', ""]
    return "\n".join(lines)


class WholeBot:
    """`maillage run` in this process: the config, the store and the adapter it builds."""

    def __init__(self, directory: Path, text: str, kinds: Registry | None = None) -> None:
        self.kinds = kinds if kinds is not None else registry()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "config.toml"
        self.path.write_text(text, "utf-8")
        self.config: Config = load(self.path, registry(), platform_configs())
        self.store: Store | None = None
        self.running: RunningBot | None = None
        self._cm: AbstractAsyncContextManager[RunningBot] | None = None

    @property
    def adapter(self) -> MatrixAdapter:
        assert self.running is not None
        adapter = self.running.adapters["matrix"]
        assert isinstance(adapter, MatrixAdapter)
        return adapter

    async def start(self) -> WholeBot:
        self.store = await open_store(self.config.store_url())
        adapter = build(self.config, self.store.kv())
        self._cm = running_bot(self.config, self.kinds, {"matrix": adapter}, store=self.store)
        self.running = await self._cm.__aenter__()
        return self

    async def stop(self) -> None:
        if self._cm is not None:
            await self._cm.__aexit__(None, None, None)
            self._cm = None
        if self.store is not None:
            await self.store.close()
            self.store = None


def from_bot(bot: RegisteredUser, room: str | None = None) -> Callable[[str, Any], bool]:
    def match(r: str, e: Any) -> bool:
        return (room is None or r == room) and getattr(e, "sender", None) == bot.user_id and \
            isinstance(e, RoomMessageNotice | RoomMessageText | UnknownEvent)
    return match


def _is_edit(event: Any) -> bool:
    relation = event.source.get("content", {}).get("m.relates_to") or {}
    return bool(relation.get("rel_type") == "m.replace")


def body_of(event: Any) -> str:
    content = event.source.get("content", {})
    new = content.get("m.new_content") or content
    return str(new.get("body") or new.get("org.matrix.msc1767.text") or "")


@pytest.fixture
def bot_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[RegisteredUser], None]:
    def set_password(user: RegisteredUser) -> None:
        monkeypatch.setenv(PASSWORD_ENV, user.password)
    return set_password


async def _setup(server: DevHomeserver, tmp: Path, *, encryption: bool = False,
                 members: int = 2) -> tuple[RegisteredUser, list[Member], str]:
    bot = await server.register(unique("maillage"), "bot-password")
    names = ["alice", "bob", "chloe"][:members]
    people = [await make_member(server, n, accept_invites=True, encryption=encryption,
                                store_dir=tmp / n if encryption else None) for n in names]
    room = await people[0].create_room(invite=[bot.user_id, *(p.user_id for p in people[1:])],
                                       encrypted=encryption)
    for p in people[1:]:
        await p.join(room)
    return bot, people, room


async def test_a_command_is_answered_and_a_consent_round_counts_answers(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path)
    bot_env(bot_user)
    whole = WholeBot(tmp_path / "bot", config_text(
        synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id}))
    await whole.start()
    try:
        # A command answered (privately: Matrix has no ephemeral message, so a DM).
        await alice.say(room, "!reseau aide")
        [(dm, help_text)] = await alice.wait_for(from_bot(bot_user), within=60)
        assert dm != room and "aide" in body_of(help_text)

        # A consent round: the proposal is a native poll in the room.
        await alice.say(room, '!reseau decision "Adopter la charte v2" jusqu\'à vendredi 18h')
        [(_, proposal)] = await bob.wait_for(
            lambda r, e: r == room and isinstance(e, UnknownEvent) and e.sender == bot_user.user_id
            and e.type.endswith("poll.start"), within=60)
        answers = proposal.source["content"]["org.matrix.msc3381.poll.start"]["answers"]
        assert [a["id"] for a in answers][:1] == ["consent"]

        def edits(r: str, e: Any) -> bool:
            rel = e.source.get("content", {}).get("m.relates_to") or {}
            return (r == room and e.sender == bot_user.user_id and rel.get("rel_type") == "m.replace"
                    and rel.get("event_id") == proposal.event_id)

        # A poll answer is its own confirmation (issue 15): no direct message follows it, and the
        # poll, once voted on, is never edited again (MSC3381); the round counts it.
        await bob.answer_poll(room, proposal.event_id, ["consent"])
        # A reaction counts too (the vocabulary works on the poll), then removed.
        reaction = await alice.react(room, proposal.event_id, "⚠️")

        async def answered(count: str) -> None:
            await alice.say(room, "!reseau decisions")
            await alice.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e)
                                 and count in body_of(e), within=60)

        await answered("2 réponses pour l'instant")
        await alice.redact(room, reaction)
        await answered("1 réponse pour l'instant")
        await asyncio.sleep(3)  # three times the live count's refresh: an edit would be there
        assert not [e for r, e in bob.seen if r != room and from_bot(bot_user)(r, e)], "no DM to bob"
        assert not [e for r, e in bob.seen if edits(r, e)], "a poll voted on is not edited"
        # A question in the proposal's thread reaches the round as a thread reply.
        await bob.say(room, "Quel budget ?", thread=proposal.event_id)
        await asyncio.sleep(0)
    finally:
        await whole.stop()
        await close_all(alice, bob)


async def test_fifteen_commands_while_stopped_are_all_answered_once(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path)
    bot_env(bot_user)
    whole = WholeBot(tmp_path / "bot", config_text(
        synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id}))
    await whole.start()
    await whole.stop()
    try:
        # Two members share the commands: one member's burst of 15 would rightly meet the
        # engine's per-member rate limit, which is not what this test is about.
        authors = [alice if i % 2 == 0 else bob for i in range(15)]
        for i, author in enumerate(authors):
            await author.say(room, f"!reseau commande-inconnue-{i}")
        await whole.start()
        await alice.wait_for(from_bot(bot_user), count=8, within=120)
        await bob.wait_for(from_bot(bot_user), count=7, within=120)
        await whole.stop()
        await whole.start()  # a restart replays nothing
        await alice.say(room, "!reseau commande-finale")
        await alice.wait_for(lambda r, e: from_bot(bot_user)(r, e) and "commande-finale" in body_of(e),
                             within=60)
        for member in (alice, bob):
            bodies = [body_of(e) for r, e in member.seen if from_bot(bot_user)(r, e)]
            mine = [i for i, author in enumerate(authors) if author is member]
            for i in range(15):
                count = sum(re.search(rf"commande-inconnue-{i}(?!\d)", b) is not None for b in bodies)
                assert count == (1 if i in mine else 0), "\n".join(bodies)
            assert len(bodies) == len(mine) + (1 if member is alice else 0)
    finally:
        await whole.stop()
        await close_all(alice, bob)


async def test_killed_after_a_send_before_its_record_posts_once(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path)
    whole = WholeBot(tmp_path / "bot", config_text(
        synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id}))
    env = {**os.environ, PASSWORD_ENV: bot_user.password}
    args = [sys.executable, "-m", "bot.cli", "run", "-c", str(whole.path)]
    # The test entry point: the same composition root as `maillage run`, with the fault injected.
    faulty = [sys.executable, "-m", "tests.fixtures.faulty_bot", "--fault", "after_send", *args[3:]]
    try:
        first = await asyncio.create_subprocess_exec(
            *faulty, env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        # Wait until the bot has joined, then give it something to answer.
        await alice.wait_for(lambda r, e: r == room and getattr(e, "state_key", None) == bot_user.user_id
                             and getattr(e, "membership", None) == "join", within=60)
        await asyncio.sleep(1)
        await alice.say(room, '!reseau decision "Budget participatif" jusqu\'à vendredi 18h')
        _, err = await asyncio.wait_for(first.communicate(), 90)
        assert first.returncode == -signal.SIGKILL, err.decode()[-2000:]
        sent_before = [e for r, e in bob.seen if from_bot(bot_user, room)(r, e)]

        second = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        try:
            await bob.wait_for(lambda r, e: from_bot(bot_user, room)(r, e)
                               and "Budget participatif" in body_of(e), within=90)
            marker = await bob.say(room, "fin")
            await bob.wait_for(lambda r, e: getattr(e, "event_id", None) == marker)
            await asyncio.sleep(2)  # anything sent twice would have arrived by now
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.communicate(), 60)
        proposals = [e for r, e in bob.seen if from_bot(bot_user, room)(r, e)
                     and "Budget participatif" in body_of(e) and not _is_edit(e)]
        assert len(proposals) == 1, [body_of(e) for e in proposals]
        assert len(sent_before) <= 1
        # Nothing the bot said, anywhere, was said twice.
        said = {e.event_id: (r, body_of(e)) for m in (alice, bob) for r, e in m.seen
                if from_bot(bot_user)(r, e) and not _is_edit(e)}
        assert len(said) == len(set(said.values())), said
    finally:
        await close_all(alice, bob)


async def test_encrypted_room_through_the_whole_bot_and_a_restart(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path, encryption=True)
    bot_env(bot_user)
    whole = WholeBot(tmp_path / "bot", config_text(
        synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id},
        encryption=True))
    await whole.start()
    try:
        for round_, title in enumerate(["Charte v2", "Charte v3"]):
            await alice.say(room, f'!reseau decision "{title}" jusqu\'à vendredi 18h')
            def is_proposal(r: str, e: Any, t: str = title) -> bool:
                return (r == room and getattr(e, "sender", None) == bot_user.user_id
                        and isinstance(e, UnknownEvent) and t in body_of(e))

            [(_, proposal)] = await bob.wait_for(is_proposal, within=60)
            assert proposal.decrypted, "the proposal was sent in clear in an encrypted room"
            if round_ == 0:
                await whole.stop()
                await whole.start()
        assert not bob.undecryptable() and not alice.undecryptable()
    finally:
        await whole.stop()
        await close_all(alice, bob)


async def test_another_room_or_a_stranger_cannot_drive_the_rituals(
        synapse_server: DevHomeserver, tmp_path: Path,  # noqa: F811
        bot_env: Callable[[RegisteredUser], None]) -> None:
    bot_user, (alice, bob), room = await _setup(synapse_server, tmp_path)
    eve = await make_member(synapse_server, "eve")
    bot_env(bot_user)
    # The bot sits in a second room that the network does not bind (a former channel).
    elsewhere = await eve.create_room(invite=[bot_user.user_id, alice.user_id])
    await alice.join(elsewhere)
    whole = WholeBot(tmp_path / "bot", config_text(
        synapse_server, bot_user, {"general": room, "ancien": elsewhere},
        {"alice": alice.user_id, "bob": bob.user_id}))
    await whole.start()
    await whole.stop()
    whole = WholeBot(tmp_path / "bot2", config_text(
        synapse_server, bot_user, {"general": room}, {"alice": alice.user_id, "bob": bob.user_id}))
    await whole.start()
    try:
        await eve.say(elsewhere, '!reseau decision "Prise de pouvoir" jusqu\'à vendredi 18h')
        await alice.say(elsewhere, '!reseau decision "Mauvais salon" jusqu\'à vendredi 18h')
        eves_dm = await eve.create_room(invite=[bot_user.user_id], is_direct=True, name="")
        await asyncio.sleep(0.5)
        await eve.say(eves_dm, '!reseau decision "En privé" jusqu\'à vendredi 18h')
        # Something the network does drive, sent last: once it is answered, the rest was seen.
        await alice.say(room, '!reseau decision "Vraie décision" jusqu\'à vendredi 18h')
        await bob.wait_for(lambda r, e: r == room and from_bot(bot_user)(r, e)
                           and "Vraie décision" in body_of(e), within=60)
        await asyncio.sleep(1)
        bot_messages = [body_of(e) for _, e in alice.seen + eve.seen if from_bot(bot_user)(_, e)]
        assert not any("Prise de pouvoir" in b or "Mauvais salon" in b or "En privé" in b
                       for b in bot_messages)
        joined = await whole.adapter.client.joined_rooms()
        assert eves_dm not in joined.rooms
    finally:
        await whole.stop()
        await close_all(alice, bob, eve)
