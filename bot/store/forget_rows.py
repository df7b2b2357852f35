"""What forgetting a person replaces in the store, and the pure rewrite of stored values (JSON, refs)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.kernel.refs import Ref
from bot.kernel.sealing import SEALED, seal

FORGOTTEN_PREFIX = "forgotten:"
"""A forgotten person's key: `forgotten:<n>`, n their pseudonym's number in the network."""


def forgotten_number(key: str) -> int | None:
    """The pseudonym's number a forgotten person's key carries (None for anyone else)."""
    if key.startswith(FORGOTTEN_PREFIX) and key[len(FORGOTTEN_PREFIX):].isdigit():
        return int(key[len(FORGOTTEN_PREFIX):])
    return None


def tombstone(network_id: int, identifier: str) -> str:
    """What the store keeps of a forgotten person's config id or account, so the config does
    not bring them back at the next boot: a hash, never the identifier."""
    return hashlib.sha256(f"maillage-forgotten:{network_id}:{identifier}".encode()).hexdigest()


@dataclass(frozen=True)
class Scrub:
    """One person to forget: every value that names them, and what replaces it."""

    person_id: int
    new_key: str
    pseudonym: str
    keys: frozenset[str]
    """Their key and the keys of the persons merged into them."""
    names: frozenset[str]
    """Their names and display names."""
    accounts: frozenset[tuple[str, str, str]]
    """(platform, scope, user id) of every account they had."""
    merged: tuple[int, ...] = ()
    """The persons merged into them (their rows keep only a key, renamed too)."""
    tombstones: frozenset[str] = field(default_factory=frozenset)

    @property
    def users(self) -> frozenset[str]:
        return frozenset(u for _, _, u in self.accounts)

    @property
    def values(self) -> dict[str, str]:
        """Exact stored values → their replacement: keys, "platform:user", user ids → the new
        key; names → the pseudonym."""
        out = {n: self.pseudonym for n in self.names if n}
        for platform, scope, user in self.accounts:
            for v in (user, f"{platform}:{user}", f"{platform}:{scope}/{user}" if scope else ""):
                if v:
                    out[v] = self.new_key
        out.update({k: self.new_key for k in self.keys})
        # A member's direct-message channel is "dm:<key>" wherever a ritual names it.
        out.update({f"dm:{k}": f"dm:{self.new_key}" for k in self.keys})
        return out

    @property
    def full_names(self) -> re.Pattern[str] | None:
        """Their names of two words or more, as whole words inside a longer text (a title
        "Zéphyrine Quatrebarbes — trésorerie"); a one-word name is replaced only as a whole
        value: inside prose it could be anyone's first name."""
        names = sorted((n for n in self.names if len(n.split()) > 1), key=len, reverse=True)
        if not names:
            return None
        return re.compile(r"(?<![\w'’-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w'’-])")

    @property
    def needles(self) -> list[str]:
        """Substrings that find a stored value to look at (as written, and as JSON escapes it)."""
        raw = {v for v in self.values if v}
        return sorted(raw | {json.dumps(v)[1:-1] for v in raw})

    def found_in(self, text: str) -> bool:
        return any(n in text for n in self.needles)

    def names_an_account(self, text: str) -> bool:
        """Whether an identifier built by a platform or the engine (an event id, a cache key)
        holds one of their keys or user ids as a whole part: "console:zq:7", not "$azqb"."""
        return any(re.search(r"(?<![A-Za-z0-9])" + re.escape(v) + r"(?![A-Za-z0-9])", text)
                   for v in (*self.users, *self.keys))


def rewrite(value: Any, scrub: Scrub) -> Any:
    """`value` (JSON) with each string, and each mapping key, that is exactly one of the
    person's values replaced (never a substring: another person's name may contain theirs);
    a ref about them names their new key; a record that seals its identifiers keeps the
    hash of the replaced one."""
    values = scrub.values
    renames = {k: v for k, v in values.items() if v == scrub.new_key}
    names = scrub.full_names

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            if v in values:
                return values[v]
            if names is not None:
                v = names.sub(scrub.pseudonym, v)
            return rewrite_ref(v, scrub)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            if SEALED in v:
                v = seal(dict(v), renames)
            return {walk(k): walk(x) for k, x in v.items()}
        return v

    return walk(value)


def rewrite_ref(text: str, scrub: Scrub) -> str:
    """A stored ref about one of the person's keys (`member=`), naming the new key instead."""
    if not any(k in text for k in scrub.keys):
        return text
    try:
        ref = Ref.decode(text)
    except ValueError:
        return text
    if ref.member in scrub.keys:
        return ref.model_copy(update={"member": scrub.new_key}).encode()
    return text


def rewrite_row(row: Mapping[str, Any], scrub: Scrub) -> dict[str, Any]:
    """The changed columns of one row (JSON values and whole strings)."""
    out: dict[str, Any] = {}
    for name, v in row.items():
        if isinstance(v, dict | list):
            new = rewrite(v, scrub)
        elif isinstance(v, str):
            new = rewrite(v, scrub)
        else:
            continue
        if new != v:
            out[name] = new
    return out
