"""The check every inbound Slack HTTP request passes before anything parses it: a fresh timestamp and a valid signature."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

FRESHNESS_S = 5 * 60
"""Slack's rule: a request older (or younger) than five minutes may be a replay."""
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Slack's largest payloads (a modal with its state) are well under this."""
MAX_READ_BYTES = 16 * 1024 * 1024
"""Past this much, reading on to judge the signature costs more than the request is worth."""

# Slack sends seconds as ASCII digits; int() alone would also take " 1", "+1", "1_0" or
# other scripts' digits, which the signature base string then disagrees about.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_QUIET_S = 60.0


@dataclass(frozen=True)
class Verdict:
    """What the door decided: `body` is set only for a signed, fresh request within limits."""

    status: int
    reason: str
    body: bytes | None = None


class Door:
    """Verifies Slack's signature over the raw bytes as they stream in, so an unsigned
    request is refused without being parsed, decoded or kept in memory."""

    def __init__(self, secret: str | None, clock: Callable[[], float] = time.time) -> None:
        self._secret = (secret or "").encode()
        self._clock = clock
        self._refused = 0
        self._last_note = 0.0

    async def judge(
        self, timestamp: str | None, signature: str | None, chunks: AsyncIterator[bytes]
    ) -> Verdict:
        if not self._secret:
            return self._refuse("no signing secret is configured")
        if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
            return self._refuse("no readable timestamp")
        if abs(self._clock() - int(timestamp)) > FRESHNESS_S:
            return self._refuse("stale timestamp")
        if signature is None or not _SIGNATURE.fullmatch(signature):
            return self._refuse("no signature")
        mac = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":", hashlib.sha256)
        kept: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_READ_BYTES:
                return self._refuse("body too large to verify", status=413)
            mac.update(chunk)
            if size <= MAX_BODY_BYTES:
                kept.append(chunk)
        if not hmac.compare_digest("v0=" + mac.hexdigest(), signature):
            return self._refuse("bad signature")
        if size > MAX_BODY_BYTES:
            log.warning(
                "refused a signed Slack request of %d bytes (limit %d)", size, MAX_BODY_BYTES
            )
            return Verdict(413, "body too large")
        return Verdict(200, "signed", b"".join(kept))

    def _refuse(self, reason: str, status: int = 401) -> Verdict:
        """Refusals are counted, and noted at most once a minute: whoever can reach the port
        must not be able to fill the log (a wrong signing secret still shows)."""
        self._refused += 1
        now = time.monotonic()
        if now - self._last_note >= _QUIET_S:
            log.info(
                "refused unsigned or stale Slack requests: %d since the last note (latest: %s)",
                self._refused,
                reason,
            )
            self._refused = 0
            self._last_note = now
        return Verdict(status, reason)
