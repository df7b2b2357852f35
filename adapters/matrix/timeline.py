"""What a room's timeline in one sync holds for the bot: only what came after it joined, and on a limited timeline the gap paged back, so no event is skipped."""

from __future__ import annotations

import logging
from typing import Any

from nio import AsyncClient, RoomMessagesResponse

from bot.adapter import TransientError

log = logging.getLogger(__name__)

GAP_PAGE = 100
GAP_MAX_PAGES = 200
FIRST_SYNC_SKEW_S = 120.0
"""How far the homeserver's clock may be behind ours when reading a first sync's timeline."""


def after_own_join(events: list[Any], user_id: str) -> list[Any]:
    """Only what happened after the bot joined: older history is not addressed to it."""
    for i in range(len(events) - 1, -1, -1):
        source = getattr(events[i], "source", {}) or {}
        if (source.get("type") == "m.room.member" and source.get("state_key") == user_id
                and (source.get("content") or {}).get("membership") == "join"
                and ((source.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
            return events[i + 1:]
    return events


def since_own_join(events: list[Any], user_id: str, started_wall: float) -> list[Any]:
    """On a first sync: the events after the bot's own join in this timeline (none if the
    join is older than it), and only those stamped after this process started."""
    after = after_own_join(events, user_id)
    if len(after) == len(events):
        return []
    floor = (started_wall - FIRST_SYNC_SKEW_S) * 1000
    return [e for e in after if (getattr(e, "server_timestamp", 0) or 0) >= floor]


async def fill_gap(client: AsyncClient, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
    """Page back from the start of a limited timeline to where the last sync ended."""
    if not prev_batch:
        return []
    older: list[Any] = []
    token = prev_batch
    for _ in range(GAP_MAX_PAGES):
        page = await client.room_messages(room_id, start=token, end=since, limit=GAP_PAGE)
        if not isinstance(page, RoomMessagesResponse):
            # Raising keeps the sync token where it was: the whole sync is fetched again.
            raise TransientError(f"cannot fill the gap in {room_id}: {page}")
        older.extend(page.chunk)
        if not page.chunk or not page.end or page.end == token:
            break
        token = page.end
    else:
        log.error("Matrix: gap in %s longer than %d events; the oldest ones were skipped",
                  room_id, GAP_PAGE * GAP_MAX_PAGES)
    log.info("Matrix: filled a gap of %d event(s) in %s", len(older), room_id)
    older.reverse()
    return older
