"""The bot's Matrix account as the adapter's parts share it: settings, store, the nio client, and how the homeserver's refusals become the outbox's errors."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from aiohttp import ClientConnectionError
from nio import AsyncClient, AsyncClientConfig
from nio.exceptions import LocalProtocolError

from adapters.matrix.config import MatrixSection
from adapters.matrix.session import Session, is_transient, open_session, retry_after
from bot.adapter import KeyValue, PermanentError, TransientError

log = logging.getLogger(__name__)

_CHATTY_NIO_LOGGERS = ("nio.rooms", "nio.client.base_client", "nio.client.async_client",
                       "nio.responses", "nio.crypto.log", "nio.events.misc")
"""nio logs every event it parses at INFO: at the bot's usual INFO level that is a line per
event (and measurable CPU); they are kept at WARNING unless configured otherwise."""


def quiet_nio_logs() -> None:
    for name in _CHATTY_NIO_LOGGERS:
        nio_log = logging.getLogger(name)
        if nio_log.level == logging.NOTSET:
            nio_log.setLevel(logging.WARNING)


class Account:
    """One bot account: its settings, the store its parts keep their state in, its login and
    the nio client, which a new login replaces (the parts read `client` when they use it)."""

    def __init__(self, section: MatrixSection, kv: KeyValue, *, store_dir: Path,
                 env: Mapping[str, str], pickle_key: str | None, config_file: str) -> None:
        self.section = section
        self.kv = kv
        self.store_dir = store_dir
        self.env = env
        """Where the login's secrets are read (the variables the section names)."""
        self._pickle_key = pickle_key
        self._config_file = config_file
        """Named by the error when the environment holds no credentials."""
        self.session: Session | None = None
        self.client = self.new_client()

    @property
    def user_id(self) -> str:
        return self.section.user_id

    def new_client(self) -> AsyncClient:
        config = AsyncClientConfig(
            encryption_enabled=self.section.encryption,
            # Our own sync token lives in the bot's store, committed after the engine's.
            store_sync_tokens=False,
            # Surface rate limits and outages to our own retry logic instead of looping inside
            # a request: a send becomes TransientError (the outbox retries it), the sync loop
            # backs off.
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=60,
            **({"pickle_key": self._pickle_key} if self._pickle_key else {}),
        )
        if self.section.encryption:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        return AsyncClient(self.section.homeserver, self.section.user_id,
                           store_path=str(self.store_dir), config=config)

    async def open(self) -> Session:
        """Log the client in (or restore the stored session) and keep the session."""
        self.session = await open_session(self.client, self.section, self.kv, self.env, self._config_file)
        return self.session

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(self.client.olm is not None and room is not None and room.encrypted)

    def knows(self, room_id: str, member: str) -> bool:
        """Whether the last sync lists `member` in the room (invited or joined)."""
        room = self.client.rooms.get(room_id)
        return room is not None and member in room.users

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.client.access_token}"}


class Backoff:
    """Exponential backoff with jitter, reset by a success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    def next(self, floor: float | None = None) -> float:
        delay = min(self.cap, self.first * (2 ** self.attempt)) * random.uniform(0.8, 1.2)
        self.attempt = min(self.attempt + 1, 16)
        return float(max(delay, floor or 0.0))

    def reset(self) -> None:
        self.attempt = 0


def kv_key(prefix: str, value: str) -> str:
    """A store key short enough for the kv table whatever the id's length."""
    key = f"{prefix}:{value}"
    return key if len(key) <= 200 else f"{prefix}#" + hashlib.sha256(value.encode()).hexdigest()


def quoted(part: str) -> str:
    """One segment of a Client-Server API path."""
    return quote(part, safe="")


def raise_for(response: Any, what: str) -> NoReturn:
    """Turn a homeserver error into the outbox's vocabulary: retry later, or give up."""
    if is_transient(response):
        raise TransientError(f"cannot {what}: {response}", retry_after=retry_after(response))
    if getattr(response, "status_code", None) in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        raise TransientError(f"cannot {what}: logged out ({response})", retry_after=5)
    raise PermanentError(f"cannot {what}: {response}")


async def reported(coro: Awaitable[Any], what: str) -> Any:
    """A request whose failure is reported, not raised (start-up best effort)."""
    try:
        return await coro
    except (ClientConnectionError, TimeoutError) as exc:
        log.warning("Matrix: cannot %s: %s", what, exc)
        return exc


async def quietly(coro: Awaitable[Any], what: str) -> None:
    """A request whose failure, raised or answered, is only logged (keys, to-device)."""
    try:
        response = await coro
    except (ClientConnectionError, TimeoutError, LocalProtocolError) as exc:
        log.warning("Matrix: cannot %s: %s", what, exc)
        return
    if getattr(response, "status_code", None):
        log.warning("Matrix: cannot %s: %s", what, response)
