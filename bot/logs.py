"""Log lines: one per record, with the network and ritual in each, and secrets redacted before writing."""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6
"""Shorter registered values are not matched: redacting them would blank ordinary words."""

_network: ContextVar[str | None] = ContextVar("maillage_log_network", default=None)
_ritual: ContextVar[str | None] = ContextVar("maillage_log_ritual", default=None)


# ------------------------------------------------------------------ context


@dataclass(frozen=True)
class ContextTokens:
    """What `bind` changed, so that `unbind` restores exactly the previous values."""

    network: Token[str | None] | None
    ritual: Token[str | None] | None


def bind(network: str | None = None, ritual: str | None = None) -> ContextTokens:
    """Name the network and/or the ritual of every line logged from here on, in this task
    (context variables: an asyncio task started later inherits them). None keeps the value."""
    return ContextTokens(
        _network.set(network) if network is not None else None,
        _ritual.set(ritual) if ritual is not None else None,
    )


def unbind(tokens: ContextTokens) -> None:
    if tokens.ritual is not None:
        _ritual.reset(tokens.ritual)
    if tokens.network is not None:
        _network.reset(tokens.network)


@contextmanager
def log_context(network: str | None = None, ritual: str | None = None) -> Iterator[None]:
    """`with log_context(network="Réseau X", ritual=ritual_label("consent", 3)): ...`"""
    tokens = bind(network, ritual)
    try:
        yield
    finally:
        unbind(tokens)


def ritual_label(kind: str, number: int) -> str:
    """How a ritual is named in log lines: "consent#3", as members see it ("#3")."""
    return f"{kind}#{number}"


def current_context() -> tuple[str | None, str | None]:
    return _network.get(), _ritual.get()


class ContextFilter(logging.Filter):
    """Stamps `network` and `ritual` on each record (an `extra=` given at the call wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "network"):
            record.network = _network.get()
        if not hasattr(record, "ritual"):
            record.ritual = _ritual.get()
        return True


# ------------------------------------------------------------------ secrets

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


def record_text(record: logging.LogRecord) -> str:
    """Everything a record would write: its message, traceback and stack."""
    parts = [_message(record)]
    if record.exc_info and not record.exc_text:
        parts.append(_EXC_FORMATTER.formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        # A call with mismatched arguments must still be logged (and redacted), not raise at
        # the call site: filters run before the handler's own error handling.
        return f"{record.msg!s} {record.args!r}"


_EXC_FORMATTER = logging.Formatter()


class SecretFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack with secrets redacted. Installed on
    the root handler, it covers every logger that propagates, libraries included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# ------------------------------------------------------------------ formats


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _one_line(text: str) -> str:
    # A member's text may hold line breaks: escaped, nobody can forge a log line by typing one.
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def _field(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    if not text or any(c.isspace() or c in "\"=\\" for c in text):
        return jsonlib.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """`2026-05-04T07:00:00.000+00:00 INFO maillage.engine network="Réseau X" ritual=consent#3 message`"""

    def format(self, record: logging.LogRecord) -> str:
        text = _message(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        network = getattr(record, "network", None)
        ritual = getattr(record, "ritual", None)
        return (f"{_time(record)} {record.levelname} {record.name} network={_field(network)} "
                f"ritual={_field(ritual)} {_one_line(text)}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, network, ritual, message[, exc, stack]."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "network": getattr(record, "network", None),
            "ritual": getattr(record, "ritual", None),
            "message": _message(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return jsonlib.dumps(doc, ensure_ascii=False, default=str)


class MaillageHandler(logging.StreamHandler[TextIO]):
    """The bot's own root handler, recognised so that `setup_logging` replaces it, not others."""


def setup_logging(json: bool = False, level: int | str = logging.INFO,
                  stream: TextIO | None = None) -> logging.Handler:
    """Install the root handler: one line per record (JSON or text), the network and ritual
    from the context, secrets redacted. Calling it again replaces the previous one."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, MaillageHandler)]:
        root.removeHandler(old)
        old.close()
    handler = MaillageHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(SecretFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    return handler
