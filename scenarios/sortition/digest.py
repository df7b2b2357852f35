"""Canonical JSON and SHA-256: the only way draw data is hashed or turned into chance."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(data: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: the same bytes on every machine. Callers
    pass lists already sorted and no floats, so nothing depends on set or dict order."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(data: Any) -> str:
    return sha256_hex(canonical(data))


def derive(seed: str, label: str, item: str = "") -> int:
    """A 256-bit number from the seed for one use (`label`) and one item: independent
    numbers for the panel index, each member's rank, the reserve order."""
    return int(sha256_hex(f"{seed}/{label}/{item}".encode()), 16)
