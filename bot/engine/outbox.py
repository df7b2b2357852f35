"""Sending what was decided: outbox entries claimed, resolved into platform terms, performed
idempotently, and recorded once the platform accepted them."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.adapter import Adapter, Delivery, Outgoing, PermanentError, TransientError
from bot.config import Config
from bot.engine.directory import People
from bot.engine.router import RefCache
from bot.kernel import emoji
from bot.kernel.i18n import normalize_locale
from bot.kernel.model import OUTBOUND, DirectMessage, Edit, OpenForm, Post, PrivateNote, Ref
from bot.kernel.scenario import NetworkInfo
from bot.store.forget_rows import FORGOTTEN_PREFIX
from bot.store.ports import StorePort
from bot.store.rows import MessageRef, OutboxRow, RefDelivered, SentRecord

log = logging.getLogger("maillage.engine")

OUTBOX_CLAIM = timedelta(seconds=60)
"""How long a process owns the outbox entries it took; a process that dies loses them then."""
CLAIM_BATCH = 100
"""Entries claimed at a time."""

Unrecorded = tuple[OutboxRow, Any, Outgoing, Delivery, datetime]


class Sender:
    """One network's outbox, performed by this process."""

    def __init__(self, store: StorePort, config: Config, people: People, network: NetworkInfo,
                 adapters: Mapping[str, Adapter], now: Callable[[], datetime], process_id: str,
                 stats: dict[str, int], refs: RefCache, fault: str | None = None) -> None:
        self.store = store
        self.people = people
        self.network = network
        self.adapters = adapters
        self.now = now
        self.process_id = process_id
        self.stats = stats
        self.fault = fault
        self.refs = refs
        self._teams = {c.id: c.team or "" for c in config.file.channels}
        self._sent_refs: dict[tuple[int, Ref, str], str] = {}
        """(ritual, ref, channel) → platform id of messages this process sent: a thread reply in
        the same batch finds its root before the batch is recorded, and later replies and edits
        without a read of the store (a round's thread gets a question for every réserve). A
        message's id changes only if it is posted again, and this process's own sends update
        it here; the store has them all."""
        self._unrecorded: list[Unrecorded] = []
        self._accounts_of: dict[str, tuple[int, Mapping[str, str]]] = {}
        """Platform → (the directory's generation, each member's first account there)."""

    def held_back(self) -> list[str]:
        """Platforms this process may not send on right now (a Matrix account with encrypted
        rooms sends only from the process that syncs it): their entries wait for another."""
        return [name for name, adapter in self.adapters.items()
                if not getattr(adapter, "can_perform", lambda: True)()]

    async def drain(self) -> int:
        """Perform pending entries in order. Each is idempotent by its key, so a crash between
        the platform's acceptance and our record does not show a message twice; each is
        claimed first, so two processes sharing the store never both perform it."""
        done = 0
        while True:
            now = self.now()
            rows = await self._claim(now)
            if not rows:
                return done
            progressed = False
            waiting: list[int] = []
            try:
                for row in rows:
                    outcome = await self._send_one(row, now)
                    if outcome == "done":
                        progressed = True
                        done += 1
                    elif outcome == "wait":
                        waiting.append(row.id)
            finally:
                batch, self._unrecorded = self._unrecorded, []
                await self._record(batch)
            if waiting:
                async with self.store.unit() as unit:
                    await unit.outbox.release(waiting, self.process_id)
            if not progressed:
                return done
            if len(rows) < CLAIM_BATCH and not waiting:
                # Everything ready was claimed and performed: claiming again would find what
                # committed since, which sets `ready` again, so the next drain comes anyway.
                return done

    async def _claim(self, now: datetime, limit: int = CLAIM_BATCH) -> list[OutboxRow]:
        async with self.store.unit() as unit:
            return await unit.outbox.claim(self.people.network_id, now, self.held_back(), self.process_id,
                                           now + OUTBOX_CLAIM, limit)

    async def next_retry(self) -> datetime | None:
        """When to look again: the earliest pending entry this process may send (one another
        process has claimed: when that claim lapses), or in a second while some platform is
        held back here."""
        held_back = self.held_back()
        now = self.now()
        async with self.store.reading() as unit:
            rows = await unit.outbox.next_times(self.people.network_id, held_back)
        times = [max(not_before, claimed or now) for not_before, claimed in rows]
        if held_back:
            times.append(now + timedelta(seconds=1))
        return min(times) if times else None

    async def _mark(self, outbox_id: int, status: str, now: datetime, error: str | None) -> None:
        async with self.store.unit() as unit:
            await unit.outbox.mark(outbox_id, status, now, error)

    async def _send_one(self, row: OutboxRow, now: datetime) -> str:
        """"done" (sent, dropped or failed for good), "wait" (its thread root is not sent
        yet), or "retry" (the platform is unavailable: retried after a delay)."""
        action = OUTBOUND.validate_python(row.action)
        if action.valid_until is not None and action.valid_until < now:
            await self._mark(row.id, "dropped", now, "stale after downtime")
            log.info("outbox %s dropped: stale since %s", row.idem_key, action.valid_until)
            return "done"
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            await self._mark(row.id, "failed", now, f"no adapter for {row.platform}")
            return "done"
        try:
            out = await self._resolve(row, action)
        except PermanentError as exc:
            await self._mark(row.id, "failed", now, str(exc))
            return "done"
        if out is None:
            return "wait"  # an earlier message (its thread root) must be sent first
        try:
            delivery = await adapter.perform(out)
        except TransientError as exc:
            delay = exc.retry_after if exc.retry_after is not None else min(300.0, 2.0 ** min(row.attempts + 1, 8))
            async with self.store.unit() as unit:
                await unit.outbox.retry_later(row.id, row.attempts + 1, now + timedelta(seconds=delay), str(exc))
            log.warning("outbox %s: platform unavailable (%s), retry in %.1fs", row.idem_key, exc, delay)
            return "done"
        except PermanentError as exc:
            await self._mark(row.id, "failed", now, str(exc))
            log.error("outbox %s failed: %s", row.idem_key, exc)
            return "done"
        except Exception as exc:
            # A bug (a message that cannot be rendered, an adapter error) fails this entry
            # only: the sender goes on with the others and the traceback is logged.
            log.exception("outbox %s failed", row.idem_key)
            await self._mark(row.id, "failed", now, f"{type(exc).__name__}: {exc}")
            return "done"
        if self.fault == "after_send":
            os.kill(os.getpid(), signal.SIGKILL)
        self._remember_sent(row, action, out, delivery)
        self._unrecorded.append((row, action, out, delivery, now))
        self.stats["sent"] += 1
        return "done"

    def _accounts(self, platform: str) -> Mapping[str, str]:
        """Each member's first account on this platform, to render mentions: made again only
        when the directory changed, not for every message (a walk through every member)."""
        generation = self.people.generation
        known = self._accounts_of.get(platform)
        if known is not None and known[0] == generation:
            return known[1]
        accounts: dict[str, str] = {}
        for p in self.people.persons.values():
            user = next((a[2] for a in p.accounts if a[0] == platform), None)
            if user is not None:
                accounts[p.key] = user
        self._accounts_of[platform] = (generation, accounts)
        return accounts

    async def _resolve(self, row: OutboxRow, action: Any) -> Outgoing | None:
        route = dict(row.route)
        people = self.people
        locale = self.network.locale
        accounts = self._accounts(row.platform)
        base: dict[str, Any] = {"action": action, "key": row.idem_key, "locale": locale,
                                "timezone": self.network.timezone, "accounts": accounts, "now": row.created_at}
        if isinstance(action, DirectMessage | PrivateNote | OpenForm):
            pid = people.person_by_key.get(route.get("member", ""))
            if pid is None:
                raise PermanentError(f"unknown member {route.get('member')}")
            person = people.persons[pid]
            base["locale"] = normalize_locale(person.locale or locale)
            # A forgotten person has no account left: their last note carries the one it answers.
            base["recipient"] = next((a[2] for a in person.accounts if a[0] == row.platform),
                                     route.get("recipient"))
            handle = action.reply_to if isinstance(action, PrivateNote | OpenForm) else None
            if handle is not None and handle.platform == row.platform:
                base["reply_handle"] = dict(handle.data)
                base["channel"] = handle.channel
                base["thread_of"] = handle.thread
            elif route.get("channel") in people.channels:
                base["channel"] = people.channels[route["channel"]].platform_id
            else:
                base["channel"] = None
            if isinstance(action, DirectMessage):
                base["channel"] = None
                base["thread_of"] = None
            base["scope"] = next((a[1] for a in person.accounts if a[0] == row.platform), route.get("scope", ""))
            if isinstance(action, OpenForm) and action.about is not None and action.context.get("channel"):
                # Only a form whose context names the channel of the message it answers gets
                # that message's id (none does today: a ritual's form goes by its click or thread).
                ref = await self._platform_ref(row.ritual_id, action.about, action.context["channel"])
                base["message_id"] = ref or None
            if action_choices := getattr(action, "choices", None):
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action_choices}
            return Outgoing(**base)
        ch = people.channels[route["channel"]]
        base["channel"] = ch.platform_id
        base["scope"] = self._teams.get(ch.key, "")
        if isinstance(action, Post):
            if action.choices:
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action.choices}
            if action.thread is not None:
                ref = await self._platform_ref(row.ritual_id, action.thread, action.channel)
                if ref is False:
                    return None
                base["thread_of"] = ref or None
        else:
            ref = await self._platform_ref(row.ritual_id, action.ref, action.channel)
            if ref is False:
                return None
            if not ref:
                raise PermanentError(f"message {action.ref} was never delivered")
            base["message_id"] = ref
            if isinstance(action, Edit) and action.choices:
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action.choices}
        return Outgoing(**base)

    async def _platform_ref(self, ritual_id: int | None, ref: Ref, channel: str) -> str | bool:
        """The platform id of an earlier message; False while it is still waiting to be sent,
        "" when it never will be (then a thread reply goes to the channel)."""
        if ritual_id is not None and (sent := self._sent_refs.get((ritual_id, ref, channel))):
            return sent
        async with self.store.reading() as unit:
            known, message_id = await unit.refs.platform_id(ritual_id, ref, channel)
            if message_id:
                return message_id
            if not known:
                for a, r in await unit.outbox.pending_of(ritual_id):
                    if _names(a.get("ref"), ref) and a.get("action") in ("post", "dm") and r.get("channel", "dm") in (
                            channel, "dm"):
                        return False
        return ""

    async def _record(self, items: Sequence[Unrecorded]) -> None:
        """Record what the platforms accepted, in one transaction for a batch of sends. A crash
        before it costs nothing: the sends are performed again, idempotently by their keys."""
        if not items:
            return
        sent: list[SentRecord] = []
        refs: dict[tuple[int, Ref, str], RefDelivered] = {}
        choices: list[tuple[int, Ref, str, dict[str, str]]] = []
        for row, action, out, delivery, now in items:
            sent.append(SentRecord(row.id, row.attempts + 1, now,
                                   purge=str(row.route.get("member", "")).startswith(FORGOTTEN_PREFIX)))
            ref = getattr(action, "ref", None)
            if isinstance(action, Post | DirectMessage) and ref and row.ritual_id is not None:
                channel = action.channel if isinstance(action, Post) else f"dm:{action.member}"
                refs[(row.ritual_id, ref, channel)] = RefDelivered(
                    row.ritual_id, ref, channel, row.platform, delivery.channel or out.channel, delivery.message_id,
                    dict(out.choice_ids))
            elif isinstance(action, Edit) and action.choices is not None and row.ritual_id is not None:
                choices.append((row.ritual_id, action.ref, action.channel, dict(out.choice_ids)))
        async with self.store.unit() as unit:
            await unit.outbox.sent(sent)
            await unit.refs.delivered(self.people.network_id, list(refs.values()))
            for ritual_id, ref, channel, ids in choices:
                await unit.refs.set_choices(ritual_id, ref, channel, ids)

    def _remember_sent(self, row: OutboxRow, action: Any, out: Outgoing, delivery: Delivery) -> None:
        """What a send makes known at once, before it is recorded: the message's platform id
        (a thread reply later in the same batch needs it) and the reverse lookup reactions use."""
        ref = getattr(action, "ref", None)
        if isinstance(action, Post | DirectMessage) and ref and row.ritual_id is not None:
            channel = action.channel if isinstance(action, Post) else f"dm:{action.member}"
            if delivery.message_id:
                if len(self._sent_refs) > 10_000:
                    self._sent_refs.clear()  # a bound on memory: the store has them all
                self._sent_refs[(row.ritual_id, ref, channel)] = delivery.message_id
                self.refs.put(row.platform, delivery.message_id,
                              MessageRef(row.ritual_id, ref, channel, dict(out.choice_ids)))
        elif isinstance(action, Edit) and action.choices is not None and out.message_id:
            self.refs.drop(row.platform, out.message_id)


def _names(stored: Any, ref: Ref) -> bool:
    """Whether an outbox action's stored ref (its encoded text, or absent) is `ref`."""
    return isinstance(stored, str) and bool(stored) and Ref.decode(stored) == ref
