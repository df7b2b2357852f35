"""The draw's seed, from members' secrets by commit–reveal, so no single person controls it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from scenarios.sortition.digest import digest, sha256_hex

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Status = Literal["committed", "revealed", "missing", "given"]


class Contribution(BaseModel):
    """One member's part of the seed. `commitment` is SHA-256 (hex) of the UTF-8 secret,
    published before any secret is known; `given` secrets (the command line) have none."""

    model_config = ConfigDict(extra="forbid")

    member: str
    commitment: str | None = None
    secret: str | None = None
    status: Status = "committed"
    assisted: bool = False
    """The member gave the secret to the bot privately and the bot published the commitment:
    protects against other members, not against whoever runs the bot."""


def commitment_of(secret: str) -> str:
    return sha256_hex(secret.encode("utf-8"))


def normalise_commitment(text: str) -> str | None:
    """A commitment as typed (any case, spaces or colons between groups), or None."""
    cleaned = re.sub(r"[\s:]", "", text).lower()
    return cleaned if _HEX64.match(cleaned) else None


def matches(c: Contribution, secret: str) -> bool:
    return c.commitment is not None and commitment_of(secret) == c.commitment


def counted(contributions: Sequence[Contribution]) -> list[Contribution]:
    """The contributions that enter the seed, in their canonical order."""
    usable = [c for c in contributions if c.status in ("revealed", "given") and c.secret is not None]
    return sorted(usable, key=lambda c: (c.member, c.secret or ""))


def combine(draw_hash: str, contributions: Sequence[Contribution]) -> str:
    """seed = SHA-256(canonical JSON of the draw's hash and the sorted [member, secret]
    pairs). The draw hash binds the seed to this pool, these quotas and this lottery."""
    pairs = [[c.member, c.secret] for c in counted(contributions)]
    return digest({"draw": draw_hash, "secrets": pairs})
