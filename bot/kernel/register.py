"""The decision register as rituals read it: a typed, read-only view the engine loads, and the
addresses of its web pages (one place says them, for the pages and for links from chat)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

PageKind = Literal["decision", "election", "draw", "meeting"]

PAGE_PATHS: Mapping[str, str] = {
    "decision": "decisions", "election": "elections", "draw": "tirages", "meeting": "reunions",
}
"""Each kind's folder under `/registre` (the register's words are French, as its address)."""

ROOT = "/registre"


def page_path(kind: str, number: int) -> str:
    """`/registre/decisions/3`: where an entry's page is served."""
    return f"{ROOT}/{PAGE_PATHS[kind]}/{int(number)}"


def page_link(base_url: str | None, kind: str, number: int) -> str | None:
    """The page's full address, when the register is on the web (`[registre] base_url`)."""
    if not base_url or kind not in PAGE_PATHS:
        return None
    return base_url.rstrip("/") + quote(page_path(kind, number))


@dataclass(frozen=True)
class Answered:
    """One answer as the register keeps it. `name` is who the directory says it is now (a
    forgotten person's pseudonym); `member` their key when known."""

    choice: str
    name: str
    member: str | None = None
    organisation: str | None = None
    reason: str | None = None
    version: int = 1
    subject: str | None = None
    """Whom a nomination or a change names."""


@dataclass(frozen=True)
class Objected:
    choice: str
    reason: str | None
    by: str | None = None


@dataclass(frozen=True)
class Version:
    version: int
    title: str
    text: str | None = None
    opened_at: datetime | None = None
    deadline: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    objections: Sequence[Objected] = ()


@dataclass(frozen=True)
class Entry:
    """A decision, an election, a draw or a meeting. `ritual_kind` tells a decision taken by
    consent ("consent") from an election's consent round ("election")."""

    kind: str
    ritual_kind: str
    number: int
    title: str
    status: str
    recorded_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    anonymous: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    versions: Sequence[Version] = ()
    answers: Sequence[Answered] = ()
    named: Sequence[str] = ()
    """Whom the entry puts in a role, as shown today: a draw's final panel (its panel until
    settled), the person elected."""
    link: str | None = None

    @property
    def version(self) -> int:
        v = self.data.get("version")
        return v if isinstance(v, int) else (self.versions[-1].version if self.versions else 1)

    def answers_of(self, version: int | None = None) -> list[Answered]:
        wanted = self.version if version is None else version
        return [a for a in self.answers if a.version == wanted]


@dataclass(frozen=True)
class RegisterView:
    """What the engine loaded of the register for one ritual or query, oldest first."""

    entries: Sequence[Entry] = ()

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]
