"""The demo's people: four members of the network, each played through a matrix-nio client of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.demo.hosting import Account


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


@dataclass
class Scripted:
    """A member played by the demo: a matrix-nio client that acts and catches up. The members
    are people, not the bot: they speak Matrix directly, as Element would."""

    person: Person
    user_id: str
    password: str
    client: Any
    since: str | None = None
    bot_events: list[tuple[str, Any]] = field(default_factory=list)

    @classmethod
    async def logged_in(cls, base_url: str, person: Person, account: Account, password: str) -> Scripted:
        """The member on the account registered for them, with their display name set."""
        from nio import AsyncClient, AsyncClientConfig

        client = AsyncClient(base_url, account.user_id, device_id=account.device_id,
                             config=AsyncClientConfig(encryption_enabled=False))
        client.restore_login(account.user_id, account.device_id, account.access_token)
        await client.set_displayname(person.name)
        return cls(person, account.user_id, password, client)

    @property
    def first_name(self) -> str:
        return self.person.name.split()[0]

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

    async def close(self) -> None:
        await self.client.close()
