"""Slack adapter: Bolt (Socket Mode or HTTP) in, Web API out, one or several workspaces."""

from adapters.slack.adapter import CAPABILITIES, SlackAdapter, build
from adapters.slack.settings import BOT_SCOPES, OAuthCredentials, SlackSettings

__all__ = [
    "BOT_SCOPES",
    "CAPABILITIES",
    "OAuthCredentials",
    "SlackAdapter",
    "SlackSettings",
    "build",
]
