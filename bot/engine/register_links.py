"""Members' personal links to a members-only register: signed, expiring, revocable.

A link carries (network, person, generation, expiry) and an HMAC-SHA256 of them with the
network's secret (`[registre] secret_env`). The store keeps each person's current generation
(`register_readers`): asking for a new link, or `registre revoquer`, bumps it, and every link
signed with an older generation stops opening the register. Tampering with any part breaks
the signature; the expiry is checked against the server's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

ACCESS_PATH = "/registre/acces/"
"""Where a personal link points: the page that checks it and keeps it in a cookie."""
MIN_SECRET = 32
"""Characters a signing secret needs at least (`openssl rand -hex 32` gives 64)."""
_DOMAIN = b"maillage-registre-v1|"


@dataclass(frozen=True)
class Pass:
    """What a personal link says: who may read which network's register, until when."""

    network_id: int
    person_id: int
    generation: int
    expires: int
    """Seconds since the epoch (UTC)."""

    def expired(self, now: datetime) -> bool:
        return now.astimezone(UTC).timestamp() >= self.expires


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + payload.encode(), hashlib.sha256).digest()


def sign(secret: str, p: Pass) -> str:
    """The token a link carries: its payload and signature, URL-safe."""
    payload = f"{p.network_id}.{p.person_id}.{p.generation}.{p.expires}"
    return f"{_b64(payload.encode())}.{_b64(_mac(secret, payload))}"


def read(secret: str, token: str) -> Pass | None:
    """The pass a token carries, or None when it is malformed or its signature is wrong
    (whatever was changed in it). Expiry and generation are the caller's to check."""
    if len(token) > 300 or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    try:
        payload = _unb64(body).decode("ascii")
        given = _unb64(mac)
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(given, _mac(secret, payload)):
        return None
    parts = payload.split(".")
    if len(parts) != 4 or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    nid, pid, generation, expires = (int(p) for p in parts)
    return Pass(nid, pid, generation, expires)


def link(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + ACCESS_PATH + token
