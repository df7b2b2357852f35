"""Resolved Slack settings: the config's `[slack]` section with its secrets read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from adapters.slack.config import SlackSection
from bot.config import Config, ConfigError, ConfigProblem
from bot.kernel.i18n import Code, Msg
from bot.secrets import register_secret

# What the bot needs in a workspace. History scopes are there for the idempotency check
# (message metadata read back after a crash), users:read for names in `members()`.
BOT_SCOPES: tuple[str, ...] = (
    "chat:write",
    "commands",
    "reactions:read",
    "reactions:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:read",
    "groups:read",
    "im:write",
    "users:read",
    "files:write",
)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class OAuthCredentials:
    """A distributed app installed in several workspaces through the OAuth flow."""

    client_id: str
    client_secret: str = field(repr=False)
    scopes: Sequence[str] = BOT_SCOPES
    redirect_uri: str | None = None
    token_rotation_minutes: int = 120
    """Refresh a rotating token this long before it expires."""


@dataclass(frozen=True)
class SlackSettings:
    """Everything the adapter needs, secrets included (never logged: `repr=False`)."""

    mode: Literal["socket", "http"] = "socket"
    bot_token: str | None = field(default=None, repr=False)
    """Single-workspace mode: the bot token (xoxb-…). None with OAuth."""
    app_token: str | None = field(default=None, repr=False)
    """Socket Mode: the app-level token (xapp-…) with `connections:write`."""
    signing_secret: str | None = field(default=None, repr=False)
    """HTTP mode: verifies every inbound request."""
    oauth: OAuthCredentials | None = None
    slash_command: str = "/reseau"
    command_prefix: str = "!reseau"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    api_base_url: str | None = None
    """Web API base URL (tests: a loopback fake); None is Slack itself."""
    locale: str = "fr"
    """The network's locale, for the few texts the adapter writes on its own (errors)."""
    channel_teams: Mapping[str, str] = field(default_factory=dict)
    """Channel id → team id from `[[channels]]` entries that name their workspace."""

    @property
    def multi_workspace(self) -> bool:
        return self.oauth is not None

    @property
    def serves_http(self) -> bool:
        """HTTP mode serves the Events API; OAuth needs the install and redirect pages."""
        return self.mode == "http" or self.oauth is not None

    @property
    def base_url(self) -> str | None:
        if self.api_base_url is None:
            return None
        # slack_sdk joins "base_url + method": without the slash the method name is glued on.
        return self.api_base_url if self.api_base_url.endswith("/") else self.api_base_url + "/"

    @classmethod
    def from_config(cls, config: Config) -> SlackSettings:
        """Read the `[slack]` section and its environment variables; raise ConfigError naming
        the file, the key and the missing variable."""
        section = config.section("slack", SlackSection)
        if section is None:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(config.path),
                        "slack",
                        Msg("config.err.section_needed", platform="slack"),
                    )
                ]
            )
        teams = {c.room: c.team for c in config.file.channels if c.platform == "slack" and c.team}
        return cls.from_section(
            section,
            path=config.path,
            command_prefix=config.network.command_prefix,
            locale=config.network.locale,
            channel_teams=teams,
        )

    @classmethod
    def from_section(
        cls,
        section: SlackSection,
        *,
        path: Path | str = "config.toml",
        command_prefix: str = "!reseau",
        locale: str = "fr",
        channel_teams: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> SlackSettings:
        env = os.environ if environ is None else environ
        problems: list[ConfigProblem] = []

        def read(env_name: str | None, key: str, required: bool) -> str | None:
            if not env_name:
                if required:
                    problems.append(ConfigProblem(str(path), key, Msg("config.err.missing")))
                return None
            value = env.get(env_name)
            if not value and required:
                problems.append(
                    ConfigProblem(
                        str(path), key, Msg("config.err.env_missing", name=Code(text=env_name))
                    )
                )
            if value:
                register_secret(value)
            return value or None

        oauth: OAuthCredentials | None = None
        if section.client_id_env or section.client_secret_env:
            client_id = read(section.client_id_env, "slack.client_id_env", True)
            client_secret = read(section.client_secret_env, "slack.client_secret_env", True)
            if client_id and client_secret:
                oauth = OAuthCredentials(client_id, client_secret)
        bot_token = (
            None if oauth else read(section.bot_token_env, "slack.bot_token_env", not problems)
        )
        app_token = read(section.app_token_env, "slack.app_token_env", section.mode == "socket")
        signing_secret = read(
            section.signing_secret_env, "slack.signing_secret_env", section.mode == "http"
        )
        if problems:
            raise ConfigError(problems)
        return cls(
            mode=section.mode,
            bot_token=bot_token,
            app_token=app_token,
            signing_secret=signing_secret,
            oauth=oauth,
            slash_command=section.slash_command,
            command_prefix=command_prefix,
            http_host=section.http_host,
            http_port=section.http_port,
            api_base_url=section.api_base_url,
            locale=locale,
            channel_teams=dict(channel_teams or {}),
        )
