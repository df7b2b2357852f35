"""The bot's Matrix login: restored from the store, else from an access token or a password."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from nio import AsyncClient, LoginResponse, WhoamiResponse

from adapters.matrix.config import MatrixSection, credentials_need
from bot.adapter import KeyValue, PermanentError, TransientError
from bot.config import ConfigError

log = logging.getLogger(__name__)

NAMESPACE = "matrix"
SESSION_KEY = "session"


@dataclass(frozen=True)
class Session:
    user_id: str
    device_id: str
    access_token: str

    def __repr__(self) -> str:
        # Never let the token reach a log line through a repr.
        return f"Session(user_id={self.user_id!r}, device_id={self.device_id!r})"


def _error_code(response: Any) -> str | None:
    code = getattr(response, "status_code", None)
    return str(code) if code is not None else None


def _http_status(response: Any) -> int | None:
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return int(status) if isinstance(status, int) else None


def retry_after(response: Any) -> float | None:
    """The homeserver's `retry_after_ms`, in seconds."""
    ms = getattr(response, "retry_after_ms", None)
    return ms / 1000 if isinstance(ms, int | float) and ms > 0 else None


def is_transient(response: Any) -> bool:
    """Rate limits, server errors and no answer at all are worth retrying; the rest is not."""
    status = _http_status(response)
    return _error_code(response) == "M_LIMIT_EXCEEDED" or status is None or status == 429 or status >= 500


async def load_session(kv: KeyValue, user_id: str) -> Session | None:
    raw = await kv.get(NAMESPACE, SESSION_KEY)
    if not isinstance(raw, Mapping):
        return None
    try:
        session = Session(str(raw["user_id"]), str(raw["device_id"]), str(raw["access_token"]))
    except KeyError:
        return None
    return session if session.user_id == user_id else None


async def save_session(kv: KeyValue, session: Session) -> None:
    await kv.put(NAMESPACE, SESSION_KEY, asdict(session))


async def _whoami(client: AsyncClient, token: str) -> WhoamiResponse | None:
    """Who the token belongs to; None when the homeserver says the token is dead."""
    client.access_token = token
    response = await client.whoami()
    if isinstance(response, WhoamiResponse):
        return response
    if _error_code(response) in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        return None
    if is_transient(response):
        raise TransientError(f"whoami failed: {response}", retry_after=retry_after(response))
    raise PermanentError(f"whoami failed: {response}")


async def open_session(client: AsyncClient, section: MatrixSection, kv: KeyValue,
                       env: Mapping[str, str], config_file: str = "config") -> Session:
    """Log the client in, reusing the stored device when its token still works, so the
    crypto store and the transaction ids (deduplicated per device) carry over restarts.
    Without a stored session nor credentials in the environment, the config is at fault:
    a ConfigError names the file, the keys and the variables."""
    env_token = env.get(section.access_token_env) if section.access_token_env else None
    password = env.get(section.password_env) if section.password_env else None
    stored = await load_session(kv, section.user_id)

    if stored is not None and (not env_token or env_token == stored.access_token):
        who = await _whoami(client, stored.access_token)
        if who is not None:
            client.restore_login(stored.user_id, stored.device_id, stored.access_token)
            log.info("Matrix: restored the session of %s on device %s", stored.user_id, stored.device_id)
            return stored
        log.warning("Matrix: the stored session of %s was logged out; logging in again",
                    section.user_id)

    if env_token:
        who = await _whoami(client, env_token)
        if who is None:
            raise PermanentError(
                f"the access token in ${section.access_token_env} is not valid on {section.homeserver}")
        if who.user_id != section.user_id:
            raise PermanentError(
                f"the access token in ${section.access_token_env} belongs to {who.user_id}, "
                f"not to matrix.user_id = {section.user_id}")
        if not who.device_id:
            raise PermanentError("the homeserver does not say which device the access token is for")
        session = Session(who.user_id, str(who.device_id), env_token)
    elif password:
        client.user = section.user_id
        response = await client.login(password=password, device_name=section.device_name)
        if not isinstance(response, LoginResponse):
            if is_transient(response):
                raise TransientError(f"login failed: {response}", retry_after=retry_after(response))
            raise PermanentError(f"login of {section.user_id} failed: {getattr(response, 'message', response)}")
        session = Session(response.user_id, response.device_id, response.access_token)
    else:
        names = tuple(n for n in (section.access_token_env, section.password_env) if n)
        key = "matrix.access_token_env" if section.access_token_env else "matrix.password_env"
        raise ConfigError([credentials_need(key, names).problem(config_file)])

    client.restore_login(session.user_id, session.device_id, session.access_token)
    await save_session(kv, session)
    log.info("Matrix: logged in as %s on device %s", session.user_id, session.device_id)
    return session
