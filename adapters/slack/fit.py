"""Slack's size limits on what the bot sends: a long text over several messages, an edit or a modal shortened with a visible note."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.markup import MAX_BLOCKS, SECTION_TEXT_MAX, chunks, clip, slack_len, spans

JSONDict = dict[str, Any]

log = logging.getLogger(__name__)

TEXT_MAX = 40_000
"""`text` of chat.postMessage, chat.update, chat.postEphemeral and response_url bodies:
Slack refuses longer (msg_too_long)."""
MAX_VIEW_BLOCKS = 100


def limit_actions(actions: Sequence[JSONDict]) -> list[JSONDict]:
    """Buttons within one message, with room left for its text: past 1,225 choices (49
    blocks of 25), the rest cannot be shown, and the log says so."""
    if len(actions) < MAX_BLOCKS:
        return list(actions)
    log.warning(
        "%d blocks of buttons do not fit in one Slack message: the last %d are left out",
        len(actions),
        len(actions) - MAX_BLOCKS + 1,
    )
    return list(actions[: MAX_BLOCKS - 1])


@dataclass(frozen=True)
class Part:
    """One message: its text, and its blocks when it has buttons (or replaces some)."""

    text: str
    blocks: list[JSONDict] | None = None


def part_key(key: str, index: int, count: int) -> str:
    """The idempotency key of one message of a long text: the last (the one answered and
    edited) keeps the action's own key."""
    return key if index == count - 1 else f"{key}#{index}"


def section(mrkdwn: str) -> JSONDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def sections(mrkdwn: str) -> list[JSONDict]:
    return [section(part) for part in chunks(mrkdwn, SECTION_TEXT_MAX) if part.strip()]


def _joined(mrkdwn: str, pieces: Sequence[tuple[int, int]]) -> str:
    return mrkdwn[pieces[0][0] : pieces[-1][1]] if pieces else ""


def message_parts(mrkdwn: str, actions: Sequence[JSONDict]) -> list[Part]:
    """The messages that carry `mrkdwn` whole, in order; the last one has the buttons
    (`actions` blocks), which is the message members answer and the bot edits."""
    if not actions:
        return [Part(piece) for piece in chunks(mrkdwn, TEXT_MAX)]
    actions = limit_actions(actions)
    room = MAX_BLOCKS - len(actions)
    # The last message: as many sections from the end as fit beside the buttons, its text
    # (the notification) being those sections' text.
    pieces = [(a, b) for a, b in spans(mrkdwn, SECTION_TEXT_MAX) if mrkdwn[a:b].strip()]
    take = 0
    while (
        take < len(pieces)
        and take < room
        and slack_len(_joined(mrkdwn, pieces[len(pieces) - take - 1 :])) <= TEXT_MAX
    ):
        take += 1
    last = pieces[len(pieces) - take :]
    head = mrkdwn[: last[0][0]] if last else mrkdwn
    text = _joined(mrkdwn, last)
    blocks = [section(mrkdwn[a:b]) for a, b in last] + list(actions)
    leading = [Part(piece) for piece in chunks(head.rstrip("\n"), TEXT_MAX) if piece.strip()]
    return [*leading, Part(text, blocks)]


def shortened(mrkdwn: str, room: int, note: str, limit: int = TEXT_MAX) -> tuple[str, list[str]]:
    """`mrkdwn` as a text within `limit` and at most `room` sections, else its beginning
    then `note` (the visible "shortened" mark): (text, section texts)."""
    pieces = [p for p in chunks(mrkdwn, SECTION_TEXT_MAX) if p.strip()]
    if len(pieces) <= room and slack_len(mrkdwn) <= limit:
        return mrkdwn, pieces
    budget = limit - slack_len(note)
    kept: list[str] = []
    used = 0
    for piece in pieces[: max(room - 1, 0)]:
        size = slack_len(piece) + 1  # and the line break that joins it to the next
        if used + size > budget:
            rest = budget - used - 1
            if rest > 1:
                kept.append(clip(piece, rest))
            break
        kept.append(piece)
        used += size
    kept.append(note)
    return "\n".join(kept), kept


def edit_part(mrkdwn: str, actions: Sequence[JSONDict], note: str) -> Part:
    """The one message an edit replaces a message with: the new text (shortened with
    `note` when over Slack's limits) and the buttons it keeps."""
    actions = limit_actions(actions)
    text, pieces = shortened(mrkdwn, MAX_BLOCKS - len(actions), note)
    return Part(text, [section(p) for p in pieces] + list(actions))


def note_parts(mrkdwn: str) -> list[str]:
    """A private note (ephemeral: text only) as consecutive texts Slack accepts."""
    return [piece for piece in chunks(mrkdwn, TEXT_MAX) if piece.strip()] or [mrkdwn]


def comment(mrkdwn: str, note: str) -> str:
    """An upload's comment, one message's text."""
    return shortened(mrkdwn, MAX_BLOCKS, note)[0]


def intro_sections(mrkdwn: str, room: int, note: str) -> list[JSONDict]:
    """A modal's introduction in at most `room` blocks, shortened with `note` past them."""
    return [section(p) for p in shortened(mrkdwn, room, note)[1]]
