"""Reaction keys normalised: variation selectors, skin tones and Slack names all compare equal."""

from __future__ import annotations

# Slack sends reaction names, not characters; these are the ones the rituals' vocabulary uses
# (consent answers, RSVP, acceptance), plus a few common synonyms.
SLACK_NAMES: dict[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "warning": "⚠",
    "raised_hand": "✋",
    "hand": "✋",
    "speak_no_evil": "🙊",
    "x": "❌",
    "thinking_face": "🤔",
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "tada": "🎉",
    "wave": "👋",
}

_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_DROP = {"\ufe0f", "\ufe0e", "\u200d"} | _SKIN_TONES


def normalize(key: str) -> str:
    """The bare emoji: "⚠️" and "⚠", "✋🏽" and "✋", ":raised_hand::skin-tone-3:" compare equal."""
    k = key.strip()
    if k.startswith(":") and k.endswith(":") and len(k) > 2:
        k = k[1:-1]
    name = k.split("::", 1)[0]
    if name in SLACK_NAMES:
        return SLACK_NAMES[name]
    return "".join(ch for ch in k if ch not in _DROP)
