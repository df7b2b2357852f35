"""The bot's own aiohttp server for Slack: Events API and interactivity, OAuth pages, and /healthz."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type
from slack_bolt.response import BoltResponse

from adapters.slack.door import Door
from adapters.slack.envelope import Malformed, read_http_body
from adapters.slack.settings import EVENTS_PATH, HEALTH_PATH, INSTALL_PATH, REDIRECT_PATH

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


def to_bolt(body: str, request: web.Request) -> AsyncBoltRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return AsyncBoltRequest(body=body, query=request.query_string, headers=dict(headers))


def from_bolt(resp: BoltResponse) -> web.Response:
    out = web.Response(status=resp.status, body=resp.body.encode("utf-8"))
    for name, values in resp.headers.items():
        if name.lower() == "set-cookie":
            for value in values:
                out.headers.add("Set-Cookie", value)
        elif values:
            out.headers[name] = values[0]
    return out


class SlackHttp:
    """Serves `POST /slack/events` (Events API, slash commands and interactivity share it),
    the OAuth install and redirect pages when several workspaces are enabled, and
    `GET /healthz`. A request reaches Bolt only once the door has verified its timestamp and
    signature (401 otherwise, before any parsing) and its payload has the shape Bolt and the
    listeners read (400 and one warning otherwise)."""

    def __init__(
        self,
        app: AsyncApp,
        host: str,
        port: int,
        health: Callable[[], Mapping[str, Any]],
        *,
        events: bool = True,
        oauth: AsyncOAuthFlow | None = None,
        signing_secret: str | None = None,
    ) -> None:
        self._app = app
        self._door = Door(signing_secret)
        self._host = host
        self._port = port
        self._health = health
        self._oauth = oauth
        self._runner: web.AppRunner | None = None
        self.web = web.Application()
        self.web.router.add_get(HEALTH_PATH, self._healthz)
        if events:
            self.web.router.add_post(EVENTS_PATH, self._events)
        if oauth is not None:
            self.web.router.add_get(INSTALL_PATH, self._install)
            self.web.router.add_get(REDIRECT_PATH, self._redirect)

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the Slack HTTP server is not started")
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(self.web, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner
        log.info("Slack HTTP endpoint listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _events(self, request: web.Request) -> web.Response:
        verdict = await self._door.judge(
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            request.content.iter_chunked(READ_CHUNK),
        )
        if verdict.body is None:
            return web.Response(status=verdict.status, text=verdict.reason)
        headers = build_normalized_headers(dict(request.headers))
        try:
            payload = read_http_body(verdict.body, extract_content_type(headers))
        except Malformed as exc:
            log.warning("refused a signed but malformed Slack request: %s", exc)
            return web.Response(status=400, text="malformed payload")
        if payload.get("type") == "app_rate_limited":
            # Slack says it is holding events back for a minute: nothing to answer but OK.
            log.warning("Slack is rate-limiting event delivery to the bot for a minute")
            return web.Response(status=200)
        try:
            bolt = to_bolt(verdict.body.decode("utf-8"), request)
        except Exception as exc:  # Bolt's context builder read a shape the check let through
            log.warning("refused a signed Slack request Bolt cannot read: %s", type(exc).__name__)
            return web.Response(status=400, text="malformed payload")
        return from_bolt(await self._app.async_dispatch(bolt))

    async def _install(self, request: web.Request) -> web.Response:
        assert self._oauth is not None
        return from_bolt(await self._oauth.handle_installation(to_bolt("", request)))

    async def _redirect(self, request: web.Request) -> web.Response:
        assert self._oauth is not None
        return from_bolt(await self._oauth.handle_callback(to_bolt("", request)))

    async def _healthz(self, request: web.Request) -> web.Response:
        state = dict(self._health())
        return web.json_response(state, status=200 if state.get("ok") else 503)
