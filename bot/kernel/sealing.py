"""Sealed identifiers: how a published record names people so that forgetting one keeps it verifiable."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

SEALED = "sealed"
"""The key under which a record lists its sealed identifiers (pseudonym → the hash of the
identifier it replaced). A record that carries it hashes `id_hash(id)`, never `id` itself,
wherever a person's identifier enters its hashes or its chance."""


def id_hash(identifier: str) -> str:
    """What a record's hashes and chance read for one person: SHA-256 (hex) of the UTF-8
    identifier behind a fixed label."""
    return hashlib.sha256(f"maillage-id:{identifier}".encode()).hexdigest()


def hashed_id(sealed: Mapping[str, str], identifier: str) -> str:
    """The hash a record uses for `identifier`: the one kept when it replaced a forgotten
    person's identifier, else the identifier's own."""
    return sealed.get(identifier) or id_hash(identifier)


def _mentions(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    if isinstance(value, dict):
        return any(k == wanted or _mentions(v, wanted) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, wanted) for v in value)
    return False


def seal(record: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """Before `renames` (old identifier → pseudonym) are applied to a record carrying
    `SEALED`: each old identifier it names gets its hash kept under the pseudonym. The same
    dict, changed; a record without `SEALED` is left alone."""
    sealed = record.get(SEALED)
    if not isinstance(sealed, dict):
        return record
    for old, new in renames.items():
        if old != new and _mentions({k: v for k, v in record.items() if k != SEALED}, old):
            sealed[new] = hashed_id(sealed, old)
            sealed.pop(old, None)
    return record
