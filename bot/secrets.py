"""The secrets the bot must never write: values registered as they are read, token shapes, and their redaction."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6
"""Shorter registered values are not matched: redacting them would blank ordinary words."""

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_pattern: re.Pattern[str] | None = None

# Shapes of credentials that must never be written, whoever logs them (our code, a library's
# debug output, an exception's text). Each pattern's last group is the secret itself.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack bot, user, app-level and refresh tokens.
    (re.compile(r"\b(x(?:ox[a-z]|app)-[0-9A-Za-z][0-9A-Za-z_-]{5,})"), ""),
    # Matrix (Synapse) access and refresh tokens.
    (re.compile(r"\b(sy[tr]_[0-9A-Za-z_]{6,})"), ""),
    # HTTP authorisation headers.
    (re.compile(r"(?i)(\bbearer\s+)(?!\[redacted\])([A-Za-z0-9._~+/=-]{4,})"), r"\1"),
    # key=value, "key": "value", key: value — in query strings, reprs and JSON bodies.
    (
        re.compile(
            r"(?i)(\b(?:access_token|refresh_token|password|passwd|client_secret|signing_secret)\b"
            r"[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])([^\s\"'&,;}\]]+)"
        ),
        r"\1",
    ),
    # Credentials inside a URL: postgresql://user:password@host/db.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?!\[redacted\])([^@\s/]+)(?=@)"), r"\1"),
)


def register_secret(value: str | None) -> None:
    """Never write `value` in a log line (called for every secret read from the environment)."""
    global _secrets_pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        # A secret also travels URL-encoded (query strings, form bodies).
        for variant in {value, quote(value, safe="")}:
            _secrets.add(variant)
        # Longest first, so that a secret containing another is redacted whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def registered_secrets() -> frozenset[str]:
    with _secrets_lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """`text` with every registered secret and every token shape replaced by [redacted]."""
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, keep in _SHAPES:
        text = shape.sub(keep + REDACTED if keep else REDACTED, text)
    return text


def find_secrets(text: str, extra: Iterable[str] = ()) -> list[str]:
    """The secrets `text` contains: registered ones, token shapes, and `extra` values."""
    found: list[str] = []
    pattern = _secrets_pattern
    if pattern is not None:
        found.extend(m.group(0) for m in pattern.finditer(text))
    for value in extra:
        if len(value) >= MIN_SECRET_LENGTH and value in text:
            found.append(value)
    for shape, _ in _SHAPES:
        for m in shape.finditer(text):
            secret = m.group(m.lastindex or 0)
            if secret != REDACTED:
                found.append(secret)
    return found
