"""`maillage demo`: a throwaway Synapse, the bot and scripted members playing a compressed week."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.config import Config, ConfigError, validate
from bot.engine.running import RunningBot, running_bot
from bot.kernel.i18n import Msg, Renderer, format_when, normalize_locale
from bot.store import open_store
from bot.store import schema as t

log = logging.getLogger("maillage.demo")

TZ = "Europe/Paris"
SERVER_NAME = "localhost"
BOT_PASSWORD_ENV = "MAILLAGE_DEMO_BOT_PASSWORD"
SETTLE_TIMEOUT = 60.0
WIDTH = 96


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    organisation: str
    territoire: str


PEOPLE = (
    Person("alice", "Alice Martin", "La Ruche", "Nord"),
    Person("bruno", "Bruno Petit", "Coop'Énergie", "Sud"),
    Person("chloe", "Chloé Bernard", "Mairie de Voiron", "Centre"),
    Person("david", "David Roux", "Les Jardins partagés", "Nord"),
)



# --- the clock ---------------------------------------------------------------------------------


class DemoClock:
    """The demo's time: frozen while the script jumps from one moment of the week to the
    next (a timer fires exactly at its due time), then flowing like real time, shifted,
    once the week is played and people join in."""

    def __init__(self, start: datetime) -> None:
        self._frozen: datetime | None = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def jump_to(self, instant: datetime) -> None:
        if self._frozen is not None:
            self._frozen = max(self._frozen, instant)
        else:
            self._offset += max(timedelta(0), instant - self.now())

    def release(self) -> None:
        """From now on, time flows."""
        if self._frozen is not None:
            self._offset = self._frozen - datetime.now(UTC)
            self._frozen = None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def week_start(tz: ZoneInfo) -> datetime:
    """Monday 9:00 at least eight days ahead: far enough that the members' real timestamps
    are never taken for the demo's time (the engine trusts a platform time only within a
    week before its own clock)."""
    today = datetime.now(tz).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if monday - today < timedelta(days=8):
        monday += timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=tz)


# --- printing the conversation -----------------------------------------------------------------


class Transcript:
    """The conversation as it happens, one speaker per line, long messages wrapped."""

    def __init__(self, locale: str, names: dict[str, str], write: Callable[[str], None]) -> None:
        self.locale = locale
        self.names = names
        self.write = write
        self.render = Renderer(locale, ZoneInfo(TZ), "plain")
        self._heading: str | None = None
        self._shown: str | None = None

    def heading(self, at: datetime) -> None:
        """The time of what follows; printed only if something is said at that time."""
        when = format_when(at, "datetime", self.locale, ZoneInfo(TZ))
        self._heading = f"── {when[:1].upper()}{when[1:]} " + "─" * max(4, WIDTH - len(when) - 4)

    def line(self, who: str, text: str, marker: str = "›") -> None:
        if self._heading is not None and self._heading != self._shown:
            self.write("")
            self.write(self._heading)
            self._shown = self._heading
        prefix = f"  {who} {marker} "
        lines = [ln for ln in text.strip().splitlines() if ln.strip()] or [""]
        body = textwrap.wrap(lines[0], WIDTH - len(prefix)) or [""]
        out = [prefix + body[0]] + [" " * len(prefix) + b for b in body[1:]]
        for extra in lines[1:]:
            wrapped = textwrap.wrap(extra, WIDTH - len(prefix)) or [""]
            out += [" " * len(prefix) + w for w in wrapped]
        for o in out:
            self.write(o)


def _content(event: Any) -> dict[str, Any]:
    source = getattr(event, "source", None) or {}
    content = source.get("content")
    return content if isinstance(content, dict) else {}


def _text_of(content: dict[str, Any]) -> str:
    for key in ("body", "org.matrix.msc1767.text"):
        value = content.get(key)
        if isinstance(value, str):
            return value
    return ""


def describe(event: Any, render: Renderer) -> tuple[str, str] | None:
    """(marker, text) for one of the bot's events, or None when it is not worth a line."""
    source = getattr(event, "source", None) or {}
    kind = source.get("type", "")
    content = _content(event)
    relation = content.get("m.relates_to") or {}
    if kind == "m.reaction":
        return None  # the vocabulary seeded under a message: shown with the message itself
    if relation.get("rel_type") == "m.replace":
        new = content.get("m.new_content") or {}
        block = new.get("org.matrix.msc3381.poll.start") or {}
        question = block.get("question", {}).get("body") if isinstance(block, dict) else None
        return "✎", str(question or _text_of(new))
    if kind.endswith("poll.start"):
        block = content.get("org.matrix.msc3381.poll.start") or {}
        question = str((block.get("question") or {}).get("body", ""))
        answers = [str(a.get("org.matrix.msc1767.text", "")) for a in block.get("answers", [])]
        return "›", question + "\n" + "   ".join(f"[ {a} ]" for a in answers)
    if kind.endswith("poll.end"):
        return "■", _text_of(content)
    if content.get("msgtype") == "m.image":
        url = content.get("url") or render(Msg("demo.act.encrypted_image"))
        return "🖼", render(Msg("demo.act.image", alt=str(content.get("body", "")), url=str(url)))
    text = _text_of(content)
    if not text:
        return None
    return ("↳" if relation.get("rel_type") == "m.thread" else "›"), text


# --- scripted members --------------------------------------------------------------------------


@dataclass
class Scripted:
    """A member played by the demo: a matrix-nio client that acts and catches up."""

    person: Person
    user_id: str
    password: str
    client: Any
    since: str | None = None
    bot_events: list[tuple[str, Any]] = field(default_factory=list)

    async def catch_up(self) -> list[tuple[str, Any]]:
        """Everything new since the last call (joining the bot's direct conversations)."""
        fresh: list[tuple[str, Any]] = []
        for _ in range(3):
            response = await self.client.sync(
                timeout=0, since=self.since, sync_filter={"room": {"timeline": {"limit": 100}}})
            if not hasattr(response, "next_batch"):
                raise RuntimeError(f"{self.user_id} cannot sync: {response}")
            first = self.since is None
            self.since = response.next_batch
            if not first:
                for room_id, info in response.rooms.join.items():
                    fresh += [(room_id, e) for e in info.timeline.events]
            invites = list(response.rooms.invite)
            for room_id in invites:
                await self.client.join(room_id)
            if not invites:
                break
        return fresh

    async def send(self, room: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(room, event_type, content)
        event_id = getattr(response, "event_id", None)
        if not isinstance(event_id, str):
            raise RuntimeError(f"{self.user_id} cannot send: {response}")
        return event_id

    async def say(self, room: str, body: str, thread: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread is not None:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread,
                                       "is_falling_back": True, "m.in_reply_to": {"event_id": thread}}
        return await self.send(room, "m.room.message", content)

    async def react(self, room: str, target: str, key: str) -> str:
        return await self.send(room, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})

    async def vote(self, room: str, poll: str, answer: str) -> str:
        # The unstable form: what Element sends today.
        return await self.send(room, "org.matrix.msc3381.poll.response", {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll},
            "org.matrix.msc3381.poll.response": {"answers": [answer]}})


def _poll_answers(event: Any) -> list[tuple[str, str]]:
    block = _content(event).get("org.matrix.msc3381.poll.start") or {}
    return [(str(a.get("id")), str(a.get("org.matrix.msc1767.text", ""))) for a in block.get("answers", [])]


# --- the demo ----------------------------------------------------------------------------------


class Demo:
    def __init__(self, locale: str, write: Callable[[str], None]) -> None:
        self.locale = locale
        self.write = write
        self.tz = ZoneInfo(TZ)
        self.clock = DemoClock(week_start(self.tz))
        self.members: dict[str, Scripted] = {}
        self.transcript = Transcript(locale, {}, write)
        self.room = ""
        self.bot_user = ""
        self.bot_password = ""
        self.running: RunningBot | None = None
        self.acted: list[str] = []
        self.polls: list[tuple[str, Any]] = []
        """Every poll the bot started that members saw: (room id, event)."""
        self.dms: dict[str, list[Any]] = {}
        self.known: dict[str, list[str]] = {}
        """The latest text of each message the bot posted, so an edit shows what changed."""

    # -- setting up -------------------------------------------------------------------------

    async def homeserver_users(self, hs: Any) -> None:
        from nio import AsyncClient, AsyncClientConfig

        self.bot_password = secrets.token_urlsafe(12)
        bot = await hs.register("maillage", self.bot_password)
        self.bot_user = bot.user_id
        for person in PEOPLE:
            password = f"{person.key}-{secrets.token_hex(3)}"
            user = await hs.register(person.key, password)
            client = AsyncClient(hs.base_url, user.user_id, device_id=user.device_id,
                                 config=AsyncClientConfig(encryption_enabled=False))
            client.restore_login(user.user_id, user.device_id, user.access_token)
            await client.set_displayname(person.name)
            self.members[person.key] = Scripted(person, user.user_id, password, client)
        self.transcript.names = {m.user_id: m.person.name.split()[0] for m in self.members.values()}
        self.transcript.names[self.bot_user] = "Maillage"

    async def network_room(self) -> None:
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

    def config(self, data: Path, base_url: str) -> Config:
        raw: dict[str, Any] = {
            "network": {"name": self.t("demo.script.network"), "locale": self.locale,
                        "timezone": TZ, "charter": self.t("demo.script.charter")},
            "store": {"url": f"sqlite+aiosqlite:///{data / 'maillage.db'}"},
            "matrix": {"homeserver": base_url, "user_id": self.bot_user,
                       "password_env": BOT_PASSWORD_ENV, "store_path": str(data / "matrix-store"),
                       "encryption": False},
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
        from bot.cli.adapters import platform_configs
        from scenarios import registry

        return validate(raw, registry(), data / "demo.toml", platform_configs())

    # -- keeping up with the bot -------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until the engine has committed what the members did, performed everything it
        had to say, and every member has received it; then print the bot's side."""
        assert self.running is not None
        store = self.running.store
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        wanted = set(self.acted)
        while wanted and loop.time() < deadline:
            async with store.read() as conn:
                rows = (await conn.execute(select(t.inbound_events.c.event_id).where(
                    t.inbound_events.c.platform == "matrix",
                    t.inbound_events.c.event_id.in_(wanted)))).all()
            wanted -= {r[0] for r in rows}
            if wanted:
                await asyncio.sleep(0.05)
        self.acted.clear()
        quiet = 0
        while loop.time() < deadline and quiet < 3:
            async with store.read() as conn:
                pending = (await conn.execute(select(func.count()).select_from(t.outbox).where(
                    t.outbox.c.status == "pending",
                    t.outbox.c.not_before <= self.clock.now()))).scalar_one()
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
        relation = _content(event).get("m.relates_to") or {}
        if marker != "✎":
            self.known[str(getattr(event, "event_id", ""))] = lines
            return said
        target = str(relation.get("event_id", ""))
        before = self.known.get(target, [])
        self.known[target] = lines
        fresh = [ln for ln in lines if ln not in before]
        return marker, "\n".join(fresh) if fresh else self.t("demo.act.updated")

    def last_poll(self, contains: str, room: str | None = None) -> tuple[str, Any]:
        for room_id, event in reversed(self.polls):
            block = _content(event).get("org.matrix.msc3381.poll.start") or {}
            question = str((block.get("question") or {}).get("body", ""))
            if contains in question and (room is None or room_id == room):
                return room_id, event
        raise RuntimeError(f"no poll from the bot about {contains!r}")

    def name(self, key: str) -> str:
        return self.members[key].person.name.split()[0]

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

    async def votes(self, key: str, poll: tuple[str, Any], answer_id: str) -> None:
        room_id, event = poll
        label = dict(_poll_answers(event)).get(answer_id, answer_id)
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
        assert self.running is not None
        start = week_start(self.tz)
        target = (start + timedelta(days=day)).replace(hour=hour, minute=minute)
        engine = self.running.engine
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

    # -- the week ----------------------------------------------------------------------------

    async def play(self) -> None:
        # Monday: a consent round, answered by poll, by reaction and in the thread.
        await self.at(0, 9, 30)
        await self.says("alice", self.t("demo.script.decision"))
        await self.settle()
        proposal = self.last_poll(self.t("demo.script.decision_marker"), self.room)
        await self.at(0, 11, 0)
        await self.says("david", self.t("demo.script.question"), thread=proposal[1].event_id)
        await self.settle()
        await self.says("alice", self.t("demo.script.answer"), thread=proposal[1].event_id)
        await self.settle()
        await self.at(1, 10, 0)
        await self.votes("bruno", proposal, "consent")
        await self.votes("david", proposal, "consent")
        await self.reacts("chloe", proposal[1].event_id, "⚠️")
        await self.says("chloe", self.t("demo.script.concern"), thread=proposal[1].event_id)
        await self.settle()

        # Tuesday: a draw, with a seed no single person controls.
        await self.at(1, 14, 0)
        await self.says("alice", self.t("demo.script.draw"))
        await self.settle()
        announce = self.last_poll("", self.room)
        for key in ("bruno", "chloe"):
            secret = self.t(f"demo.script.secret_{key}")
            await self.votes(key, announce, "contribute")
            await self.settle()
            dm = self.dms.get(key, [])
            if dm:
                await self.says(key, secret, room=dm[-1][0])
                await self.settle()
        await self.at(1, 16, 0)
        await self.says("alice", self.t("demo.script.close_draw"))
        await self.settle()
        await self.accept_draws()

        # Wednesday and Thursday: the meeting's reminders, with RSVPs.
        await self.at(2, 18, 30)
        reminder = self.last_poll("", self.room)
        for key, answer in (("bruno", "yes"), ("chloe", "yes"), ("david", "maybe")):
            if answer in dict(_poll_answers(reminder[1])):
                await self.votes(key, reminder, answer)
        await self.settle()
        await self.at(3, 17, 30)
        await self.settle()

        # Friday: the round closes, everyone has answered; the weekly digest.
        await self.at(4, 9, 0)
        await self.votes("alice", proposal, "consent")
        await self.settle()
        await self.at(4, 17, 30)
        await self.settle()

    async def accept_draws(self) -> None:
        """Those drawn say yes in their direct conversation with the bot."""
        for key in list(self.members):
            for room_id, event in self.dms.get(key, []):
                answers = dict(_poll_answers(event))
                if "accept" in answers and not getattr(event, "_answered", False):
                    await self.votes(key, (room_id, event), "accept")
                    event._answered = True
        await self.settle()

    # -- staying up ----------------------------------------------------------------------------

    async def live(self, hs: Any, stop: asyncio.Event) -> None:
        """After the script: the homeserver, the bot and its timers keep running for a human."""
        assert self.running is not None
        self.write("")
        self.write(self.t("demo.live.played"))
        self.write(self.t("demo.live.server", url=hs.base_url, alias=f"#reseau:{SERVER_NAME}"))
        for member in self.members.values():
            key = "demo.live.account_animateur" if member.person.key == "alice" else "demo.live.account"
            self.write(self.t(key, user=f"{member.user_id:<20}", password=member.password))
        self.write(self.t("demo.live.howto"))
        engine = self.running.engine
        observer = self.members["alice"]
        self.clock.release()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            await engine.run_due()
            for room_id, event in await observer.catch_up():
                if room_id != self.room:
                    continue
                who = self.transcript.names.get(getattr(event, "sender", ""), getattr(event, "sender", "?"))
                said = self.changes(event)
                if said is not None:
                    self.transcript.line(who, said[1], said[0])


async def run_demo(args: argparse.Namespace) -> int:
    from adapters.matrix.adapter import MatrixAdapter
    from adapters.matrix.devserver import DevHomeserver, synapse_available
    from scenarios import registry

    locale = normalize_locale(getattr(args, "lang", None) or "fr")
    write: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    demo = Demo(locale, write)

    def failed(detail: object) -> int:
        print(demo.t("demo.stopped", detail=str(detail)), file=sys.stderr, flush=True)
        return 1

    reason = synapse_available()
    if reason is not None:
        return failed(reason)
    # The bot's own log lines would drown the conversation; warnings and errors still show.
    for name in ("nio", "maillage", "adapters", "apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        with tempfile.TemporaryDirectory(prefix="maillage-demo-") as tmp:
            data = Path(tmp)
            write(demo.t("demo.starting"))
            hs = DevHomeserver(data / "synapse", server_name=SERVER_NAME)
            try:
                await _until_stopped(hs.start(), stop)
                if stop.is_set():
                    return 130
                await demo.homeserver_users(hs)
                await demo.network_room()
                config = demo.config(data, hs.base_url)
                from adapters.matrix.config import MatrixSection

                section = config.section("matrix", MatrixSection)
                assert section is not None
                store = await open_store(config.store_url())
                adapter = MatrixAdapter(section, [demo.room], store.kv(),
                                        command_prefix=config.network.command_prefix,
                                        store_dir=data / "matrix-store",
                                        env={BOT_PASSWORD_ENV: demo.bot_password})
                try:
                    async with running_bot(config, registry(), {"matrix": adapter},
                                           clock=demo.clock, store=store, alarm=False) as running:
                        demo.running = running
                        write(demo.t("demo.connected", bot=demo.bot_user))
                        await _until_stopped(demo.play(), stop)
                        if not args.once and not stop.is_set():
                            await demo.live(hs, stop)
                finally:
                    for member in demo.members.values():
                        await member.client.close()
                    await store.close()
            finally:
                await hs.stop()
    except ConfigError as exc:
        return failed(exc)
    except Exception as exc:  # the homeserver, a member's client, or the bot did not answer
        log.debug("demo failed", exc_info=True)
        return failed(f"{type(exc).__name__}: {exc}")
    write(demo.t("demo.finished"))
    return 0


async def _until_stopped(work: Awaitable[Any], stop: asyncio.Event) -> None:
    """Run `work` unless Ctrl-C comes first (then cancel it and carry on with the shutdown)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task not in done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    task.result()


def _register(subparsers: Any) -> None:
    """Add `maillage demo` to the command line."""
    parser = subparsers.add_parser(
        "demo", help="a throwaway Matrix homeserver, the bot and scripted members: a week in a minute")
    parser.add_argument("--once", action="store_true",
                        help="play the week and stop (default: stay up for a Matrix client)")
    parser.set_defaults(func=run_demo)
