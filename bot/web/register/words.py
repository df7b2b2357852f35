"""The register's words for one page: catalog keys rendered to HTML in the network's locale."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.kernel.i18n import HTML, Msg, Renderer, When, format_number

DOMAIN = "register_page"


class Words:
    """`t("decision.heading", number=3, title=…)` → safe HTML (member content escaped)."""

    def __init__(self, locale: str, tz: ZoneInfo, now: datetime) -> None:
        self.locale = locale
        self.renderer = Renderer(locale, tz, HTML, now=now)

    def msg(self, key: str, **params: Any) -> Msg:
        return Msg(f"{DOMAIN}.{key}", **params)

    def t(self, key: str, **params: Any) -> Markup:
        return Markup(self.renderer.render(self.msg(key, **params)))  # rendered escaped

    def render(self, msg: Msg) -> Markup:
        return Markup(self.renderer.render(msg))  # rendered escaped

    def when(self, at: datetime | None, style: str = "datetime") -> Markup:
        if at is None:
            return Markup("—")
        return Markup(self.renderer.param(When(at=at, style=style)))  # a date, escaped

    def number(self, value: float) -> str:
        return format_number(value, self.locale)

    def percent(self, part: float, whole: float) -> str:
        return f"{format_number(round(100 * part / whole) if whole else 0, self.locale)}\u00a0%"

    def outcome(self, status: str | None) -> Markup:
        known = ("adopted", "objections", "no_quorum", "withdrawn", "lapsed", "cancelled", "amended", "elected",
                 "no_nominations", "drawn", "done", "incomplete", "held", "scheduled", "attendance", "recorded")
        return self.t(f"outcome.{status}" if status in known else "outcome.unknown")

    def choice(self, choice: str) -> Markup:
        return self.t(f"choice.{choice}")
