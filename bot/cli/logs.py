"""The command line's log handler: one line per record, as text or JSON, with the context and secret filters of bot.logs."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.logs import ContextFilter, SecretFilter, message_of

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
        text = message_of(record)
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
            "message": message_of(record),
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
