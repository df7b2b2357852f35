"""What links platform messages to rituals: message refs and contents, inbound ids, reactions,
replies awaited by direct message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.kernel.refs import Ref
from bot.store import schema as t
from bot.store.repositories import hot
from bot.store.repositories.people import directory_version_statement
from bot.store.repositories.sql import chunks, dialect_insert, insert
from bot.store.rows import MessageRef, ReactionRow, RefDelivered


def _claim(dialect: str) -> Any:
    return (dialect_insert(dialect, t.inbound_events).on_conflict_do_nothing()
            .returning(t.inbound_events.c.platform, t.inbound_events.c.event_id))


def _add_reactions(dialect: str) -> Any:
    return dialect_insert(dialect, t.reactions).on_conflict_do_nothing()


def _delivered(dialect: str) -> Any:
    ins = dialect_insert(dialect, t.message_refs)
    return ins.on_conflict_do_update(
        index_elements=[t.message_refs.c.ritual_id, t.message_refs.c.ref, t.message_refs.c.channel_key],
        set_={c: ins.excluded[c] for c in ("platform", "platform_channel", "platform_message_id", "choices")})


def _platform_id(dialect: str) -> Any:
    m = t.message_refs
    return select(m.c.platform_message_id).where(
        m.c.ritual_id == bindparam("rid"), m.c.ref == bindparam("ref"), m.c.channel_key == bindparam("ch"))


class SqlRefs:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, network_id: int, platform: str, message_id: str) -> MessageRef | None:
        r = (await self.conn.execute(select(t.message_refs).where(
            t.message_refs.c.platform == platform, t.message_refs.c.platform_message_id == message_id,
            t.message_refs.c.network_id == network_id))).first()
        return None if r is None else MessageRef(r.ritual_id, Ref.decode(r.ref), r.channel_key, dict(r.choices or {}))

    async def platform_id(self, ritual_id: int | None, ref: Ref, channel: str) -> tuple[bool, str | None]:
        if ritual_id is None:  # `IS NULL`, which a bound parameter would not say
            r = (await self.conn.execute(select(t.message_refs.c.platform_message_id).where(
                t.message_refs.c.ritual_id.is_(None), t.message_refs.c.ref == ref.encode(),
                t.message_refs.c.channel_key == channel))).first()
            return (False, None) if r is None else (True, r[0] or None)
        rows = await hot.fetch(self.conn, "platform_id", _platform_id,
                               [{"rid": ritual_id, "ref": ref.encode(), "ch": channel}])
        return (True, rows[0][0] or None) if rows else (False, None)

    async def delivered(self, network_id: int, rows: Sequence[RefDelivered]) -> None:
        if not rows:
            return
        values = [{"network_id": network_id, "ritual_id": r.ritual_id, "ref": r.ref.encode(), "channel_key": r.channel,
                   "platform": r.platform, "platform_channel": r.platform_channel,
                   "platform_message_id": r.platform_message_id, "choices": dict(r.choices)} for r in rows]
        await hot.write(self.conn, "refs_delivered", _delivered, values)

    async def set_choices(self, ritual_id: int, ref: Ref, channel: str, choices: Mapping[str, str]) -> None:
        await self.conn.execute(update(t.message_refs).where(
            t.message_refs.c.ritual_id == ritual_id, t.message_refs.c.ref == ref.encode(),
            t.message_refs.c.channel_key == channel).values(choices=dict(choices)))

    async def content(self, ritual_id: int, ref: Ref, channel: str) -> tuple[str, str | None] | None:
        r = (await self.conn.execute(select(t.message_contents.c.text_hash, t.message_contents.c.choices_hash)
                                     .where(t.message_contents.c.ritual_id == ritual_id,
                                            t.message_contents.c.ref == ref.encode(),
                                            t.message_contents.c.channel_key == channel))).first()
        return None if r is None else (r[0], r[1])

    async def put_contents(self, rows: Mapping[tuple[int, Ref, str], tuple[str, str | None]]) -> None:
        values = [{"ritual_id": rid, "ref": ref.encode(), "channel_key": ch, "text_hash": th, "choices_hash": chh}
                  for (rid, ref, ch), (th, chh) in rows.items()]
        ins = insert(self.conn, t.message_contents)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.message_contents.c.ritual_id, t.message_contents.c.ref,
                            t.message_contents.c.channel_key],
            set_={"text_hash": ins.excluded.text_hash, "choices_hash": ins.excluded.choices_hash})
        for part in chunks(values):
            await self.conn.execute(stmt, list(part))


class SqlInbound:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, keys: Sequence[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
        # The database's unique key decides: retries, sync replays and other processes all
        # see one owner.
        # Rows as parameters, not as a VALUES list: the statement is then one and the same
        # whatever the batch's size, compiled once per process; on SQLite, the batch's rows
        # are inserted one by one in one trip (`hot`).
        rows = await hot.fetch(self.conn, "claim", _claim,
                               [{"platform": p, "event_id": e, "received_at": now} for p, e in keys])
        return {(r[0], r[1]) for r in rows}

    async def claim_batch(self, network_id: int, keys: Sequence[tuple[str, str]], now: datetime
                          ) -> tuple[int, set[tuple[str, str]]]:
        """The network's directory version and `claim`, in one trip: what a batch of events
        starts with."""
        version, rows = await hot.fetch_together(self.conn, [
            ("directory_version", directory_version_statement, [{"nid": network_id}]),
            ("claim", _claim, [{"platform": p, "event_id": e, "received_at": now} for p, e in keys])])
        return int(version[0][0]), {(r[0], r[1]) for r in rows}

    async def seen(self, platform: str, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(list(event_ids)):
            rows = (await self.conn.execute(select(t.inbound_events.c.event_id).where(
                t.inbound_events.c.platform == platform, t.inbound_events.c.event_id.in_(list(part))))).all()
            found.update(str(r[0]) for r in rows)
        return found

    async def add_reactions(self, rows: Sequence[ReactionRow]) -> None:
        values = [{"platform": r.platform, "reaction_id": r.reaction_id, "target": r.target, "key": r.key,
                   "sender": r.sender} for r in rows]
        await hot.write(self.conn, "reactions", _add_reactions, values)

    async def reaction(self, platform: str, reaction_id: str) -> ReactionRow | None:
        r = (await self.conn.execute(select(t.reactions).where(
            t.reactions.c.platform == platform, t.reactions.c.reaction_id == reaction_id))).first()
        return None if r is None else ReactionRow(r.platform, r.reaction_id, r.target, r.key, r.sender)

    async def expect_reply(self, network_id: int, person_id: int, ritual_id: int, ref: Ref) -> None:
        await self.conn.execute(delete(t.pending_replies).where(
            t.pending_replies.c.network_id == network_id, t.pending_replies.c.person_id == person_id))
        await self.conn.execute(t.pending_replies.insert().values(
            network_id=network_id, person_id=person_id, ritual_id=ritual_id, ref=ref.encode()))

    async def expected_reply(self, network_id: int, person_id: int) -> tuple[int, Ref] | None:
        r = (await self.conn.execute(select(t.pending_replies).where(
            t.pending_replies.c.network_id == network_id, t.pending_replies.c.person_id == person_id))).first()
        return None if r is None else (int(r.ritual_id), Ref.decode(str(r.ref)))

    async def forget_replies(self, ritual_id: int) -> None:
        await self.conn.execute(delete(t.pending_replies).where(t.pending_replies.c.ritual_id == ritual_id))
