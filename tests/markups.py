"""Every text format a message is rendered in, by name: the kernel's and the platforms'."""

from __future__ import annotations

from adapters.slack.markup import MRKDWN
from bot.kernel.i18n import HTML, PLAIN, Markup

MARKUPS: dict[str, Markup] = {"plain": PLAIN, "html": HTML, "mrkdwn": MRKDWN}
