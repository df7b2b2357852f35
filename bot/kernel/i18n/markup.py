"""Text formats a message is rendered in: plain text and HTML here; a platform with a markup of
its own (Slack's mrkdwn) brings its `Markup` from its adapter."""

from __future__ import annotations

import html
import re
from typing import Protocol

__all__ = ["HTML", "PLAIN", "Markup", "inert_group_mentions"]

# A word joiner after "@" keeps "@room", "@channel", "@here", "@everyone" readable but inert:
# neither Matrix clients nor Slack treat "@\u2060room" as a group mention.
_GROUP_MENTION = re.compile(r"@(?=(room|channel|here|everyone)\b)", re.IGNORECASE)
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
"""The catalogs' one piece of markup: **bold**."""


def inert_group_mentions(text: str) -> str:
    return _GROUP_MENTION.sub("@\u2060", text)


class Markup(Protocol):
    """How one format writes the catalog's markup and makes member text inert. Templates are
    trusted, parameters are not: `escape` is applied to every text a member typed."""

    @property
    def name(self) -> str:
        """"plain", "html", "mrkdwn"…: what a mention renderer may branch on."""
        ...

    @property
    def line_break(self) -> str:
        """How a list's lines are separated."""
        ...

    def escape(self, text: str) -> str:
        """Member content made inert: no markup, no links, no group pings."""
        ...

    def template(self, text: str) -> str:
        """A trusted template (parameters held out) in this format: its **bold** and lines."""
        ...

    def link(self, url: str, label: str | None) -> str: ...

    def code(self, text: str) -> str: ...


class Plain:
    name = "plain"
    line_break = "\n"

    def escape(self, text: str) -> str:
        return inert_group_mentions(text)

    def template(self, text: str) -> str:
        return BOLD.sub(r"\1", text)

    def link(self, url: str, label: str | None) -> str:
        return url if label is None else f"{label} ({url})"

    def code(self, text: str) -> str:
        return text


class Html:
    name = "html"
    line_break = "<br>\n"

    def escape(self, text: str) -> str:
        # Line breaks a member typed (a multi-line charter) stay line breaks.
        return html.escape(inert_group_mentions(text), quote=True).replace("\n", "<br>\n")

    def template(self, text: str) -> str:
        return BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False)).replace("\n", "<br>\n")

    def link(self, url: str, label: str | None) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{self.escape(label or url)}</a>'

    def code(self, text: str) -> str:
        return f"<code>{html.escape(text)}</code>"


PLAIN: Markup = Plain()
HTML: Markup = Html()
