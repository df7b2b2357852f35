"""The `[slack]` section of the config, its refusals and the variables `run` reads for it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from bot.config import EnvNeed, PlatformConfig
from bot.config.values import EnvName, Refusal
from bot.kernel.i18n import Msg


class SlackSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["socket", "http"] = "socket"
    bot_token_env: EnvName | None = "SLACK_BOT_TOKEN"
    app_token_env: EnvName | None = "SLACK_APP_TOKEN"
    signing_secret_env: EnvName | None = "SLACK_SIGNING_SECRET"
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None
    slash_command: str = "/reseau"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    api_base_url: str | None = None
    """Only for tests against a local fake of Slack's Web API."""

    @model_validator(mode="after")
    def _oauth_pair(self) -> SlackSection:
        if bool(self.client_id_env) != bool(self.client_secret_env):
            raise Refusal(Msg("slack.config.oauth_pair"))
        return self


def needed_env(section: SlackSection) -> list[EnvNeed]:
    """The variables `run` reads for Slack: the bot token (or the OAuth client's pair, for
    several workspaces), then the app token (Socket Mode) or the signing secret (HTTP)."""
    wanted: list[tuple[str, str | None]] = []
    if section.client_id_env:  # several workspaces, installed through OAuth: no bot token
        wanted += [("slack.client_id_env", section.client_id_env),
                   ("slack.client_secret_env", section.client_secret_env)]
    else:
        wanted.append(("slack.bot_token_env", section.bot_token_env))
    wanted.append(("slack.app_token_env", section.app_token_env) if section.mode == "socket"
                  else ("slack.signing_secret_env", section.signing_secret_env))
    return [EnvNeed(key, (name,)) for key, name in wanted if name]


SLACK = PlatformConfig("slack", SlackSection, needed_env)
"""What Slack registers in the config: channels and accounts named `slack`, the `[slack]` section."""
