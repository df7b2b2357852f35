"""Slack's text conventions: its markup read back to plain text, emoji names, size limits."""

from __future__ import annotations

import re

from bot.emoji import SLACK_NAMES, normalize

# Slack writes references as <…>: users <@U123|name>, channels <#C123|name>, special
# mentions <!here>, user groups <!subteam^S123|@team>, links <https://x|label>.
_ANGLE = re.compile(r"<([^<>]*)>")

# Characters of emoji the rituals use that bot.emoji does not name (it maps names to
# characters for inbound reactions; outbound reactions need the other direction).
_EXTRA_NAMES: dict[str, str] = {
    "📅": "date",
    "🗓": "spiral_calendar_pad",
    "🎲": "game_die",
    "🗳": "ballot_box_with_ballot",
    "👀": "eyes",
    "❓": "question",
    "🙋": "raising_hand",
    "🙏": "pray",
    "📌": "pushpin",
    "🔔": "bell",
    "🔕": "no_bell",
    "⏰": "alarm_clock",
    "📝": "memo",
    "💬": "speech_balloon",
    "🤝": "handshake",
    "🌱": "seedling",
    "❤": "heart",
}

_NAME_OF: dict[str, str] = {}
for _name, _char in SLACK_NAMES.items():
    _NAME_OF.setdefault(_char, _name)
for _char, _name in _EXTRA_NAMES.items():
    _NAME_OF.setdefault(_char, _name)

_SLACK_NAME = re.compile(r"^[a-z0-9_+\-']+$")

SECTION_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
MODAL_TITLE_MAX = 24
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
MAX_BLOCKS = 50
MAX_BUTTONS = 25
PRIVATE_METADATA_MAX = 3000


def _reference(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        # "@U123" is the account's platform id: the engine resolves it like a Matrix user id.
        return target
    if target.startswith("#"):
        return target
    if target.startswith("!subteam^"):
        return label or "@" + target.removeprefix("!subteam^")
    if target.startswith("!"):
        # <!here>, <!channel>, <!date^…|fallback>: keep a readable, inert form.
        return label or "@" + target[1:].split("^", 1)[0]
    return target


def to_plain(text: str) -> str:
    """A member's Slack text as plain text: references made readable, entities decoded."""
    text = _ANGLE.sub(_reference, text)
    # Slack escapes only these three; &amp; last, so "&amp;lt;" stays "&lt;" as typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji_name(emoji: str) -> str | None:
    """The Slack reaction name for an emoji ("✅" → "white_check_mark"), or None."""
    raw = emoji.strip()
    if raw.startswith(":") and raw.endswith(":") and len(raw) > 2:
        raw = raw[1:-1]
    if _SLACK_NAME.match(raw):
        return raw.split("::", 1)[0]
    return _NAME_OF.get(normalize(raw))


def clip(text: str, limit: int) -> str:
    """Cut to Slack's limit with an ellipsis (plain_text fields reject longer values)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Split a long mrkdwn text at line breaks (else hard) into pieces Slack accepts."""
    out: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
            # Never split an entity (&amp;) or a reference (<@U123>) in two.
            amp = rest.rfind("&", cut - 5, cut)
            if amp > 0 and ";" not in rest[amp:cut]:
                cut = amp
            angle = rest.rfind("<", 0, cut)
            if angle > 0 and ">" not in rest[angle:cut]:
                cut = angle
        out.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not out:
        out.append(rest)
    return out
