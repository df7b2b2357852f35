"""Which bot token speaks for which workspace: one token (single workspace) or OAuth installs in the bot's database."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import slack_call
from adapters.slack.settings import INSTALL_PATH, REDIRECT_PATH, SlackSettings
from bot.adapter import PermanentError, SqlTables, TransientError

log = logging.getLogger(__name__)
# slack_sdk logs whole request and response bodies at DEBUG, OAuth tokens included: the
# logger it gets never goes below INFO, whatever the bot's own level.
sdk_log = logging.getLogger("adapters.slack.sdk")
sdk_log.setLevel(logging.INFO)

OAUTH_STATE_TTL_S = 600


def web_client(settings: SlackSettings, token: str | None = None) -> AsyncWebClient:
    """A Web API client; `api_base_url` points it at a local fake in tests."""
    if settings.base_url is None:
        return AsyncWebClient(token=token, logger=sdk_log)
    return AsyncWebClient(token=token, base_url=settings.base_url, logger=sdk_log)


class Workspaces:
    """Bot tokens per workspace. Single-workspace mode: the configured token. OAuth mode:
    installs kept by slack_sdk's SQLAlchemy stores in the bot's own database (the `tables`
    port: tables `slack_installations`, `slack_bots`, `slack_oauth_states`), rotating tokens
    refreshed before they expire."""

    def __init__(self, settings: SlackSettings, tables: SqlTables | None = None) -> None:
        self.settings = settings
        self.base = web_client(settings)
        self.team_id: str | None = None
        """Single-workspace mode: the team of the bot token (from auth.test)."""
        self.bot_user_id: str | None = None
        self._clients: dict[str, tuple[str, AsyncWebClient]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.installations: AsyncSQLAlchemyInstallationStore | None = None
        self.states: AsyncSQLAlchemyOAuthStateStore | None = None
        self._rotator: AsyncTokenRotator | None = None
        oauth = settings.oauth
        if oauth is not None:
            if tables is None:
                raise ValueError("several workspaces (OAuth) need tables in the bot's database")
            engine = tables.engine
            self.installations = AsyncSQLAlchemyInstallationStore(
                client_id=oauth.client_id, engine=engine, logger=sdk_log
            )
            self.states = AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=OAUTH_STATE_TTL_S, engine=engine, logger=sdk_log
            )
            self._rotator = AsyncTokenRotator(
                client_id=oauth.client_id, client_secret=oauth.client_secret, client=self.base
            )
        elif not settings.bot_token:
            raise ValueError("single-workspace mode needs a bot token")
        else:
            self._single = web_client(settings, settings.bot_token)

    async def setup(self) -> None:
        """Create the OAuth tables, or check the single bot token (and learn its team)."""
        if self.installations is not None and self.states is not None:
            await self.installations.create_tables()  # type: ignore[no-untyped-call]
            await self.states.create_tables()  # type: ignore[no-untyped-call]
            return
        async with slack_call("auth.test"):
            auth = await self._single.auth_test()
        self.team_id = auth.get("team_id")
        self.bot_user_id = auth.get("user_id")

    def bolt_options(self) -> dict[str, Any]:
        """The AsyncApp arguments for this mode: a token'd client, or authorize + OAuth flow."""
        oauth = self.settings.oauth
        if oauth is None or self.installations is None or self.states is None:
            return {"client": self._single}
        authorize = AsyncInstallationStoreAuthorize(
            logger=sdk_log,
            installation_store=self.installations,
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            token_rotation_expiration_minutes=oauth.token_rotation_minutes,
            # Bolt would otherwise build a rotator that ignores our base URL (tests, proxies).
            client=self.base,
        )
        flow = AsyncOAuthFlow(
            client=self.base,
            logger=sdk_log,
            settings=AsyncOAuthSettings(
                client_id=oauth.client_id,
                client_secret=oauth.client_secret,
                scopes=list(oauth.scopes),
                user_scopes=[],
                redirect_uri=oauth.redirect_uri,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                installation_store=self.installations,
                state_store=self.states,
                state_expiration_seconds=OAUTH_STATE_TTL_S,
                token_rotation_expiration_minutes=oauth.token_rotation_minutes,
                logger=sdk_log,
            ),
        )
        return {
            "client": self.base,
            "authorize": authorize,
            "installation_store": self.installations,
            "oauth_flow": flow,
        }

    def _lock(self, team: str) -> asyncio.Lock:
        return self._locks.setdefault(team, asyncio.Lock())

    async def client(self, team: str | None) -> AsyncWebClient:
        """The client holding the bot token of `team` (its current one, refreshed if due)."""
        if self.installations is None:
            return self._single
        if not team:
            raise PermanentError("no Slack workspace is known for this channel or member")
        installation = await self._installation(team)
        if installation is None or not installation.bot_token:
            raise PermanentError(f"Maillage is not installed in Slack workspace {team}")
        cached = self._clients.get(team)
        if cached is None or cached[0] != installation.bot_token:
            cached = (installation.bot_token, web_client(self.settings, installation.bot_token))
            self._clients[team] = cached
        return cached[1]

    async def _installation(self, team: str) -> Installation | None:
        assert self.installations is not None
        # One rotation at a time per workspace: two concurrent sends must not both spend
        # the refresh token and save competing installs.
        async with self._lock(team):
            installation = await self.installations.async_find_installation(
                enterprise_id=None, team_id=team
            )
            if installation is None or self._rotator is None or not installation.bot_refresh_token:
                return installation
            minutes = self.settings.oauth.token_rotation_minutes if self.settings.oauth else 120
            try:
                refreshed = await self._rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=minutes
                )
            except SlackTokenRotationError as exc:
                raise TransientError(f"token rotation failed for {team}: {exc.api_error}") from None
            if refreshed is not None:
                await self.installations.async_save(refreshed)
                log.info("rotated the bot token of workspace %s", team)
                return refreshed
            return installation

    async def installed(self, team: str) -> bool:
        if self.installations is None:
            return team == self.team_id
        return await self.installations.async_find_bot(enterprise_id=None, team_id=team) is not None

    async def forget(self, team: str) -> None:
        """The app was uninstalled (or its bot token revoked): drop the workspace's tokens."""
        self._clients.pop(team, None)
        if self.installations is None:
            log.warning(
                "the app was uninstalled from workspace %s: the bot token is now dead", team
            )
            return
        await self.installations.async_delete_bot(enterprise_id=None, team_id=team)
        await self.installations.async_delete_installation(enterprise_id=None, team_id=team)
        log.info("forgot the installation of workspace %s (uninstalled)", team)
