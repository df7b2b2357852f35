"""Log lines' context (the network and ritual of each) and the filters every handler of the bot carries: context stamped, secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from bot.secrets import redact

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


# ------------------------------------------------------------------ filters


def record_text(record: logging.LogRecord) -> str:
    """Everything a record would write: its message, traceback and stack."""
    parts = [message_of(record)]
    if record.exc_info and not record.exc_text:
        parts.append(_EXC_FORMATTER.formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def message_of(record: logging.LogRecord) -> str:
    """A record's message, even when its arguments do not match its format."""
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
        message = message_of(record)
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
