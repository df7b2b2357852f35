"""Failures that stay where they happen: what is the event's fault, what is the store's, and
the dead letters that keep the first kind aside."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.engine.directory import People
from bot.engine.rituals import Rituals
from bot.engine.tx import Mark, Ritual, Tx
from bot.kernel.model import Action, Event, InboundEvent
from bot.store.rows import DeadLetterNew

log = logging.getLogger("maillage.engine")

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
"""Errors that say the store (or the way to it) failed, not the event."""


class Refused(Exception):
    """A ritual refused the launch that created it; what it answered the member."""

    def __init__(self, answers: Sequence[Action]) -> None:
        super().__init__("refused")
        self.answers = list(answers)


def transient(exc: BaseException) -> bool:
    """Whether a failure surely belongs to the store (or the way to it), not to the event."""
    return isinstance(exc, TRANSIENT) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


async def deterministic(tx: Tx, exc: BaseException) -> bool:
    """Whether a failure belongs to the event (it would fail again: set it aside) rather than
    to the store (retry the whole batch later). When in doubt, ask the store itself: if it
    still answers on this transaction, the event was the problem."""
    if transient(exc):
        return False
    try:
        await tx.unit.probe()
    except Exception:
        return False
    return True


def redacted(ev: InboundEvent) -> dict[str, Any]:
    """The event as kept with its dead letter: what reproduces it, not the platform's
    one-time reply credentials (Slack's response_url)."""
    return ev.model_dump(mode="json", exclude={"reply_handle"})


async def dead_letter(tx: Tx, network_id: int, platform: str, event_id: str, kind: str, exc: BaseException, *,
                      sender: str | None = None, channel: str | None = None,
                      event: Mapping[str, Any] | None = None) -> bool:
    """Record a failure once (by platform and event id); False if it was already known."""
    detail = "".join(traceback.format_exception(exc))[-8000:]
    return await tx.unit.journal.dead_letter(network_id, DeadLetterNew(
        platform=platform, event_id=event_id, kind=kind, sender=sender, channel=channel,
        error=f"{type(exc).__name__}: {exc}", detail=detail, event=dict(event or {}), at=tx.now))


class Isolation:
    """Savepoints around what may fail alone, and the memory that goes with them."""

    def __init__(self, rituals: Rituals, people: People, stats: dict[str, int]) -> None:
        self.rituals = rituals
        self.people = people
        self.stats = stats

    async def rolled_back(self, tx: Tx, mark: Mark, generation: int) -> None:
        tx.restore(mark)
        if self.people.generation != generation:
            # The failed part changed the directory in memory: read it again, as the
            # transaction now sees it.
            await self.people.load(tx.unit)

    async def letter(self, tx: Tx, platform: str, event_id: str, kind: str, exc: BaseException, *,
                     sender: str | None = None, channel: str | None = None,
                     event: Mapping[str, Any] | None = None) -> bool:
        fresh = await dead_letter(tx, self.people.network_id, platform, event_id, kind, exc, sender=sender,
                                  channel=channel, event=event)
        self.stats["dead_letters"] += int(fresh)
        return fresh

    async def deliver_alone(self, tx: Tx, ritual: Ritual, event: Event, *, platform: str, event_id: str) -> bool:
        """Deliver in a savepoint of its own, for deliveries that do not answer to one member's
        event (a timer, a boot, one of the rituals a join fans out to): a ritual that fails is
        set aside as a dead letter, the others go on. False if it failed."""
        mark = tx.mark()
        generation = self.people.generation
        try:
            async with tx.unit.savepoint():
                await self.rituals.deliver(tx, ritual, event)
        except Exception as exc:
            if not await deterministic(tx, exc):
                raise
            await self.rolled_back(tx, mark, generation)
            log.error("ritual %s #%s failed on %s: set aside as a dead letter", ritual.kind, ritual.number,
                      event.type, exc_info=exc)
            await self.letter(tx, platform, event_id, event.type, exc, event=event.model_dump(mode="json"))
            return False
        return True
