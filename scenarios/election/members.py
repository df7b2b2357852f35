"""Finding the member someone names in free text ("@Amina parce que…", "<@U123> because…")."""

from __future__ import annotations

import re

from bot.kernel.commands import fold
from bot.kernel.model import Member
from bot.kernel.scenario import Directory

_SLACK = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_MATRIX = re.compile(r"^@[^:\s]+:[^\s]+$")
# Oneself, as the invitation says "vous pouvez vous proposer vous-même".
_MYSELF = re.compile(r"^\s*(?:je\s+me\s+propose|moi[\s-]*m[êe]me|moi|myself|me)(?=$|[\s,.;:!?])", re.IGNORECASE)
# What may join the name and the reason: "parce que", "because", ":", "car", "—".
_JOINERS = re.compile(
    r"^\s*(?:[:,;.\-–—]+\s*)?(?:parce\s+que\b|parce\s+qu['’]|car\b|because\b)?\s*[:,\-–—]?\s*",
    re.IGNORECASE,
)


def _by_token(directory: Directory, token: str) -> Member | None:
    raw = token.strip().rstrip(",.;:!?")
    if not raw:
        return None
    if raw in directory.members:
        return directory.members[raw]
    slack = _SLACK.match(raw)
    user = slack.group(1) if slack else (raw if _MATRIX.match(raw) else None)
    if user is not None:
        for m in directory.members.values():
            if m.account.split(":", 1)[-1] == user or m.account == user:
                return m
        return None
    return None


def _by_name(directory: Directory, text: str) -> Member | None:
    wanted = fold(text.strip().lstrip("@").rstrip(",.;:!?"))
    if not wanted:
        return None
    exact = [m for m in directory.members.values() if fold(m.name) == wanted and not m.is_bot]
    if len(exact) == 1:
        return exact[0]
    firsts = [m for m in directory.members.values() if fold(m.name).split(" ")[0] == wanted and not m.is_bot]
    return firsts[0] if len(firsts) == 1 else None


def find_member(directory: Directory, text: str, me: Member | None = None) -> tuple[Member | None, str]:
    """The member named at the start of `text` (mention, user id, key, or name; "moi-même",
    "myself": `me`) and what follows, without "parce que"/"because". (None, text) when nobody
    matches."""
    words = text.strip().split()
    if not words:
        return None, ""
    if me is not None and (own := _MYSELF.match(text)):
        return me, reason_of(text[own.end():])
    found = _by_token(directory, words[0])
    if found is not None:
        return found, reason_of(" ".join(words[1:]))
    for size in range(min(4, len(words)), 0, -1):
        found = _by_name(directory, " ".join(words[:size]))
        if found is not None:
            return found, reason_of(" ".join(words[size:]))
    return None, text.strip()


def reason_of(text: str) -> str:
    return _JOINERS.sub("", text, count=1).strip()
