"""Slack's text conventions: outbound texts rendered in its markup, its markup read back to plain text, emoji names, size limits."""

from __future__ import annotations

import re

from bot.adapter import Outgoing
from bot.kernel.emoji import SLACK_NAMES, normalize
from bot.kernel.i18n import Markup, Mention, Msg
from bot.kernel.i18n.markup import BOLD, inert_group_mentions

# Slack writes references as <…>: users <@U123|name>, channels <#C123|name>, special
# mentions <!here>, user groups <!subteam^S123|@team>, links <https://x|label>.
_ANGLE = re.compile(r"<([^<>]*)>")

# Slack's mrkdwn has no escape for emphasis characters: a zero-width space before each one
# stops member text from turning bold/italic/strike/code.
_EMPHASIS = re.compile(r"([*_~`])")


def _angles(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Mrkdwn:
    """Slack's markup: *bold*, <url|label> links, `code`; member text made inert."""

    name = "mrkdwn"
    line_break = "\n"

    def escape(self, text: str) -> str:
        return _EMPHASIS.sub("\u200b\\1", _angles(inert_group_mentions(text)))

    def template(self, text: str) -> str:
        return BOLD.sub(r"*\1*", _angles(text))

    def link(self, url: str, label: str | None) -> str:
        safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
        return f"<{safe}|{self.escape(label or url)}>"

    def code(self, text: str) -> str:
        return "`" + text.replace("`", "'").replace("<", "&lt;").replace(">", "&gt;") + "`"


MRKDWN: Markup = Mrkdwn()


# Characters of emoji the rituals use that bot.kernel.emoji does not name (it maps names to
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
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

SECTION_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
MODAL_TITLE_MAX = 24
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
MAX_BLOCKS = 50
MAX_BUTTONS = 25
PRIVATE_METADATA_MAX = 3000
INPUT_MAX = 3000
"""A plain_text_input holds at most this much (max_length and initial_value)."""
ACTION_ID_MAX = 255


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


def slack_len(text: str) -> int:
    """Length as Slack counts it, in UTF-16 code units (an emoji outside the BMP counts
    two): never less than Python's count, so a text within it is within either."""
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix of `text` (in characters) whose slack_len is at most `limit`."""
    cut = min(len(text), limit)
    while (excess := slack_len(text[:cut]) - limit) > 0:
        cut -= (excess + 1) // 2  # each character is one or two units
    return cut


# Characters that belong to the one before them: a cut just before one would split a
# letter from its accent or an emoji sequence (👩‍👩‍👧, ✋🏽, ⚠️) in two.
_JOINERS = re.compile("[\u0300-\u036f\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def _hard_cut(text: str, cut: int) -> int:
    """Move a cut back so it splits no entity (&amp;), reference (<@U123>) or character
    sequence; the cut stays where it is when moving back would leave nothing."""
    amp = text.rfind("&", max(cut - 10, 0), cut)
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    angle = text.rfind("<", 0, cut)
    if angle > 0 and ">" not in text[angle:cut]:
        cut = angle
    start = cut
    while 1 < cut < len(text) and (_JOINERS.match(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut if cut > 0 else start


def clip(text: str, limit: int) -> str:
    """Cut to Slack's limit with an ellipsis (plain_text fields reject longer values)."""
    if slack_len(text) <= limit:
        return text
    cut = _prefix_within(text, limit - 1)
    cut = _hard_cut(text, cut) if 0 < cut < len(text) else cut
    return text[:cut] + "…"


def spans(text: str, limit: int = SECTION_TEXT_MAX) -> list[tuple[int, int]]:
    """Where to cut `text` into pieces of at most `limit` (Slack's count): after a line
    break in the second half of the room, else after a space, else anywhere an entity, a
    reference or a character sequence is not split. The line breaks at cuts are dropped."""
    out: list[tuple[int, int]] = []
    start = 0
    # A remainder of more characters than the limit is over it: no need to measure it all.
    while len(text) - start > limit or slack_len(text[start:]) > limit:
        room = _prefix_within(text[start : start + limit], limit)
        window = text[start : start + room]
        half = room // 2
        cut = window.rfind("\n", half) if "\n" in window[half:] else -1
        if cut <= 0:
            space = window.rfind(" ", half)
            cut = space + 1 if space > 0 else _hard_cut(text[start : start + room + 1], room)
        cut = max(cut, 1)
        out.append((start, start + cut))
        start += cut
        while start < len(text) and text[start] == "\n":
            start += 1
    if start < len(text) or not out:
        out.append((start, len(text)))
    return out


def chunks(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Split a long mrkdwn text into pieces Slack accepts (see `spans`)."""
    return [text[a:b] for a, b in spans(text, limit)]


def mrkdwn(out: Outgoing, msg: Msg) -> str:
    """An outbound text in Slack's markup, mentions as <@U123> where the member is known."""

    def mention(m: Mention, markup: Markup) -> str:
        user = out.user_of(m)
        if user and _USER_ID.match(user):
            return f"<@{user}>"
        return markup.escape(m.name)

    return out.render(msg, MRKDWN, mention)


def plain(out: Outgoing, msg: Msg) -> str:
    """An outbound text for Slack's plain_text fields (labels, titles, alt texts)."""
    return out.render(msg)


def note_mark(out: Outgoing) -> str:
    """The visible note ending a text shortened to Slack's limits."""
    return mrkdwn(out, Msg("outbound.shortened"))
