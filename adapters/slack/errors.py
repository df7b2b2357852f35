"""Slack API failures mapped to the adapter protocol: retry later (honouring Retry-After) or give up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.adapter import PermanentError, TransientError

# Errors that say "not now" rather than "never": the outbox retries them.
TRANSIENT = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
        "token_expired",
        "team_added_to_org",
    }
)

DEFAULT_RATE_LIMIT_WAIT_S = 30.0


def error_code(exc: SlackApiError) -> str:
    response = exc.response
    value = response.get("error") if response is not None else None
    return str(value) if value else "unknown_error"


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is not None:
        value = getter(name)
        if value is not None:
            return str(value)
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == name.lower():
                return str(value[0] if isinstance(value, list | tuple) else value)
    return None


def retry_after(exc: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait (HTTP 429 `Retry-After`), if it said."""
    value = _header(getattr(exc.response, "headers", None), "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(method: str, exc: Exception) -> Exception:
    """The protocol error for a failed call (TransientError or PermanentError)."""
    if isinstance(exc, SlackApiError):
        code = error_code(exc)
        status = getattr(exc.response, "status_code", 200)
        if status == 429 or code in ("ratelimited", "rate_limited"):
            wait = retry_after(exc)
            return TransientError(
                f"{method}: rate limited", DEFAULT_RATE_LIMIT_WAIT_S if wait is None else wait
            )
        if status >= 500 or code in TRANSIENT:
            return TransientError(f"{method}: {code}")
        return PermanentError(f"{method}: {code}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | SlackClientError | OSError):
        return TransientError(f"{method}: {type(exc).__name__}: {exc}")
    return exc


@asynccontextmanager
async def slack_call(method: str) -> AsyncIterator[None]:
    """Run Web API calls, re-raising their failures as TransientError / PermanentError."""
    try:
        yield
    except (TransientError, PermanentError):
        raise
    except Exception as exc:
        mapped = translate(method, exc)
        if mapped is exc:
            raise
        raise mapped from exc
