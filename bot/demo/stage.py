"""The demo's stage: the homeserver's accounts and room, the network's config, the members' moves, and keeping up with what the bot says."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.clock import DemoClock, week_start
from bot.demo.hosting import Homeserver
from bot.demo.members import PEOPLE, Scripted
from bot.demo.transcript import Transcript, content, describe, poll_answers, poll_question
from bot.engine.running import RunningBot
from bot.kernel.i18n import Msg

TZ = "Europe/Paris"
SERVER_NAME = "localhost"
BOT_PASSWORD_ENV = "MAILLAGE_DEMO_BOT_PASSWORD"
SETTLE_TIMEOUT = 60.0
Poll = tuple[str, Any]
"""A poll the bot started: (room id, matrix-nio event)."""


class Stage:
    """The demo's room and members, the bot it watches, and the moves the script makes."""

    def __init__(self, locale: str, write: Callable[[str], None]) -> None:
        self.locale = locale
        self.write = write
        self.tz = ZoneInfo(TZ)
        self.start = week_start(self.tz)
        self.clock = DemoClock(self.start)
        self.transcript = Transcript(locale, self.tz, self.clock.now, write)
        self.members: dict[str, Scripted] = {}
        self.room = ""
        self.bot_user = ""
        self.bot_password = ""
        self.running: RunningBot | None = None
        self.acted: list[str] = []
        """Event ids of what the members did, until the bot has recorded them."""
        self.polls: list[Poll] = []
        """Every poll the bot started that members saw."""
        self.dms: dict[str, list[Poll]] = {}
        """What the bot sent each member in private: (room id, event)."""
        self.known: dict[str, list[str]] = {}
        """The latest text of each message the bot posted, so an edit shows what changed."""
        self.answered: set[str] = set()
        """Polls sent in private that their member has answered."""

    # -- setting up -------------------------------------------------------------------------

    async def homeserver_users(self, hs: Homeserver) -> None:
        """The bot's account (its password kept for its secrets) and each member's, logged in."""
        self.bot_password = secrets.token_urlsafe(12)
        bot = await hs.register("maillage", self.bot_password)
        self.bot_user = bot.user_id
        for person in PEOPLE:
            password = f"{person.key}-{secrets.token_hex(3)}"
            account = await hs.register(person.key, password)
            self.members[person.key] = await Scripted.logged_in(hs.base_url, person, account, password)
        self.transcript.names = {m.user_id: m.first_name for m in self.members.values()}
        self.transcript.names[self.bot_user] = "Maillage"

    async def network_room(self) -> None:
        """Alice's room for the network: every member in it, the bot invited."""
        from nio import RoomVisibility

        alice = self.members["alice"]
        response = await alice.client.room_create(
            visibility=RoomVisibility.private, alias="reseau", name=self.t("demo.script.room"),
            topic=self.t("demo.script.topic"), invite=[m.user_id for m in self.members.values() if m is not alice])
        room_id = getattr(response, "room_id", None)
        if not isinstance(room_id, str):
            raise RuntimeError(f"cannot create the demo room: {response}")
        self.room = room_id
        for member in self.members.values():
            if member is not alice:
                await member.client.join(room_id)
        await alice.client.room_invite(room_id, self.bot_user)
        for member in self.members.values():
            await member.catch_up()

    def config(self, base_url: str) -> dict[str, Any]:
        """The network's config, as its file would hold it; paths are relative to the demo's
        directory, the bot's password is read from `BOT_PASSWORD_ENV`."""
        return {
            "network": {"name": self.t("demo.script.network"),
                        "name_with_article": self.t("demo.script.network_with_article"), "locale": self.locale,
                        "timezone": TZ, "charter": self.t("demo.script.charter")},
            "store": {"url": "sqlite+aiosqlite:///maillage.db"},
            "matrix": {"homeserver": base_url, "user_id": self.bot_user,
                       "password_env": BOT_PASSWORD_ENV, "store_path": "matrix-store", "encryption": False},
            "channels": [{"id": "general", "platform": "matrix", "room": self.room,
                          "name": self.t("demo.script.room")}],
            "members": [{"id": p.key, "name": p.name, "accounts": [f"matrix:{self.members[p.key].user_id}"],
                         "organisation": p.organisation, "territoire": p.territoire} for p in PEOPLE],
            "roles": {"animateurs": ["alice"]},
            "rituals": [
                {"id": "reunion", "kind": "meeting", "channels": ["general"],
                 "title": self.t("demo.script.meeting"), "rrule": "FREQ=WEEKLY;BYDAY=TH",
                 "time": "18:00", "place": self.t("demo.script.place"), "leads": ["1d", "1h"], "personal_leads": []},
                {"id": "resume", "kind": "digest", "channels": ["general"],
                 "rrule": "FREQ=WEEKLY;BYDAY=FR", "time": "17:00"},
            ],
            "defaults": {"consent": {"refresh": "PT1M"}},
        }

    async def close(self) -> None:
        for member in self.members.values():
            await member.close()

    # -- keeping up with the bot -------------------------------------------------------------

    def _bot(self) -> RunningBot:
        if self.running is None:
            raise RuntimeError("the demo's bot is not running")
        return self.running

    async def settle(self) -> None:
        """Wait until the engine has committed what the members did, performed everything it
        had to say, and every member has received it; then print the bot's side."""
        bot = self._bot()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        wanted = set(self.acted)
        while wanted and loop.time() < deadline:
            async with bot.store.reading() as view:
                wanted -= await view.inbound.seen("matrix", sorted(wanted))
            if wanted:
                await asyncio.sleep(0.05)
        self.acted.clear()
        quiet = 0
        while loop.time() < deadline and quiet < 3:
            async with bot.store.reading() as view:
                pending = await view.outbox.due_count(bot.engine.network_id, self.clock.now())
            quiet = quiet + 1 if pending == 0 else 0
            await asyncio.sleep(0.05)
        await self.show()

    async def show(self) -> None:
        """Print what the bot said since the last time: the room once, each DM to its member."""
        for key, member in self.members.items():
            for room_id, event in await member.catch_up():
                if getattr(event, "sender", None) != self.bot_user:
                    continue
                source = getattr(event, "source", {}) or {}
                if source.get("type", "").endswith("poll.start"):
                    self.polls.append((room_id, event))
                if room_id == self.room:
                    if key != "alice":
                        continue
                    said = self.changes(event)
                    if said is not None:
                        self.transcript.line("Maillage", said[1], said[0])
                else:
                    self.dms.setdefault(key, []).append((room_id, event))
                    said = self.changes(event)
                    if said is not None:
                        self.transcript.line(self.t("demo.who.to_member", name=self.name(key)),
                                             said[1], said[0])

    def changes(self, event: Any) -> tuple[str, str] | None:
        """What to print for one of the bot's events: an edit shows only its new lines (the
        live counts), not the whole message again."""
        said = describe(event, self.transcript.render)
        if said is None:
            return None
        marker, text = said
        lines = [ln for ln in text.splitlines() if ln.strip()]
        relation = content(event).get("m.relates_to") or {}
        if marker != "✎":
            self.known[str(getattr(event, "event_id", ""))] = lines
            return said
        target = str(relation.get("event_id", ""))
        before = self.known.get(target, [])
        self.known[target] = lines
        fresh = [ln for ln in lines if ln not in before]
        return marker, "\n".join(fresh) if fresh else self.t("demo.act.updated")

    def last_poll(self, contains: str, room: str | None = None) -> Poll:
        for room_id, event in reversed(self.polls):
            if contains in poll_question(event) and (room is None or room_id == room):
                return room_id, event
        raise RuntimeError(f"no poll from the bot about {contains!r}")

    def last_message(self, contains: str) -> str:
        """The id of the bot's latest message in the room that says `contains` (as last edited)."""
        for event_id, lines in reversed(list(self.known.items())):
            if any(contains in ln for ln in lines):
                return event_id
        raise RuntimeError(f"no message from the bot saying {contains!r}")

    def name(self, key: str) -> str:
        return self.members[key].first_name

    def t(self, key: str, **params: Any) -> str:
        """A line of the demo in the network's language (the frame and the members' words)."""
        return self.transcript.render(Msg(key, **params))

    # -- members acting ----------------------------------------------------------------------

    async def says(self, key: str, text: str, thread: str | None = None, room: str | None = None) -> str:
        who = self.name(key)
        if thread:
            who = self.t("demo.who.in_thread", name=who)
        elif room is not None and room != self.room:
            who = self.t("demo.who.to_bot", name=who)
        self.transcript.line(who, text)
        event_id = await self.members[key].say(room or self.room, text, thread)
        self.acted.append(event_id)
        return event_id

    async def votes(self, key: str, poll: Poll, answer_id: str) -> None:
        room_id, event = poll
        label = dict(poll_answers(event)).get(answer_id, answer_id)
        self.transcript.line(self.name(key), self.t("demo.act.votes", answer=label), "☑")
        self.acted.append(await self.members[key].vote(room_id, event.event_id, answer_id))

    async def reacts(self, key: str, target: str, emoji: str) -> str:
        self.transcript.line(self.name(key), self.t("demo.act.reacts", emoji=emoji), "☑")
        event_id = await self.members[key].react(self.room, target, emoji)
        self.acted.append(event_id)
        return event_id

    async def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Jump to day `day` (0 = Monday) of the week at hh:mm, firing every timer on the way
        at its own time, and print what the bot says."""
        engine = self._bot().engine
        target = (self.start + timedelta(days=day)).replace(hour=hour, minute=minute)
        while True:
            due = await engine.next_due()
            if due is None or due > target:
                break
            self.clock.jump_to(due)
            self.transcript.heading(self.clock.now())
            await engine.run_due()
            await self.settle()
        self.clock.jump_to(target)
        self.transcript.heading(self.clock.now())

    # -- staying up ----------------------------------------------------------------------------

    async def live(self, base_url: str, stop: asyncio.Event) -> None:
        """After the script: the homeserver, the bot and its timers keep running for a human."""
        engine = self._bot().engine
        self.write("")
        self.write(self.t("demo.live.played"))
        self.write(self.t("demo.live.server", url=base_url, alias=f"#reseau:{SERVER_NAME}"))
        for member in self.members.values():
            key = "demo.live.account_animateur" if member.person.key == "alice" else "demo.live.account"
            self.write(self.t(key, user=f"{member.user_id:<20}", password=member.password))
        self.write(self.t("demo.live.howto"))
        observer = self.members["alice"]
        self.clock.release()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            await engine.run_due()
            for room_id, event in await observer.catch_up():
                if room_id != self.room:
                    continue
                sender = getattr(event, "sender", "?")
                said = self.changes(event)
                if said is not None:
                    self.transcript.line(self.transcript.names.get(sender, sender), said[1], said[0])
