"""Finding the member someone names in a command ("@Amina", "<@U123>", "@amina:example.org", "Amina")."""

from __future__ import annotations

import re

from bot.kernel.commands import fold
from bot.kernel.model import Member
from bot.kernel.scenario import Directory

_SLACK = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_MATRIX = re.compile(r"^@[^:\s]+:[^\s]+$")


def _by_token(directory: Directory, token: str) -> Member | None:
    raw = token.strip().rstrip(",.;:!?")
    if raw in directory.members:
        return directory.members[raw]
    slack = _SLACK.match(raw)
    user = slack.group(1) if slack else (raw if _MATRIX.match(raw) else None)
    if user is None:
        return None
    for mb in directory.members.values():
        if mb.account.split(":", 1)[-1] == user or mb.account == user:
            return mb
    return None


def _by_name(directory: Directory, text: str) -> Member | None:
    wanted = fold(text.strip().lstrip("@").rstrip(",.;:!?"))
    if not wanted:
        return None
    people = [mb for mb in directory.members.values() if not mb.is_bot]
    exact = [mb for mb in people if fold(mb.name) == wanted]
    if len(exact) == 1:
        return exact[0]
    firsts = [mb for mb in people if fold(mb.name).split(" ")[0] == wanted]
    return firsts[0] if len(firsts) == 1 else None


def find_member(directory: Directory, text: str) -> tuple[Member | None, str]:
    """The member named at the start of `text` (mention, account, key or name, up to four
    words) and what follows; (None, text) when nobody matches, or more than one person would."""
    words = text.strip().split()
    if not words:
        return None, ""
    found = _by_token(directory, words[0])
    if found is not None:
        return found, " ".join(words[1:])
    for size in range(min(4, len(words)), 0, -1):
        found = _by_name(directory, " ".join(words[:size]))
        if found is not None:
            return found, " ".join(words[size:])
    return None, text.strip()
