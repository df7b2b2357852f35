"""Message keys with parameters, the French and English catalogs, and their rendering."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from pydantic import BaseModel, ConfigDict, Field

from bot.kernel.i18n.markup import HTML as HTML
from bot.kernel.i18n.markup import PLAIN as PLAIN
from bot.kernel.i18n.markup import Markup as Markup
from bot.kernel.i18n.names import FORMS, with_preposition
from bot.kernel.i18n.templates import Field as Placeholder
from bot.kernel.i18n.templates import Nodes, Plural, TemplateError, parse
from bot.kernel.i18n.templates import parameters as parameters
from bot.kernel.i18n.templates import selectors as selectors
from bot.kernel.i18n.typography import french_punctuation, french_time

LOCALES: tuple[str, ...] = ("fr", "en")
DEFAULT_LOCALE = "fr"


class _Param(BaseModel):
    model_config = ConfigDict(frozen=True)


class When(_Param):
    """An instant, shown in the network's time zone; `style` is date, time, datetime or short."""

    t: Literal["when"] = "when"
    at: datetime
    style: Literal["date", "time", "datetime", "short", "day"] = "datetime"


class Day(_Param):
    """A calendar day with no time of day."""

    t: Literal["day"] = "day"
    on: date


class Month(_Param):
    """A month of a given year ("février 2027")."""

    t: Literal["month"] = "month"
    year: int
    month: int


class Duration(_Param):
    """A length of time, said the natural way ("3 jours")."""

    t: Literal["duration"] = "duration"
    seconds: float


class Mention(_Param):
    """A member, shown as a mention on platforms that have them (the adapter decides how)."""

    t: Literal["mention"] = "mention"
    member: str
    name: str


class ProperName(_Param):
    """A name said with its article in sentences (the network's): `{network:art}` "le Réseau
    des tiers-lieux", `{network:of}` "du Réseau…", `{network:to}` "au Réseau…"; `{network}`
    is the bare name (a heading). Without `with_article`, the catalog's `core.network.*`
    words say it ("du réseau « … »")."""

    t: Literal["proper"] = "proper"
    name: str
    with_article: str | None = None


class Link(_Param):
    """A link; the label is member content unless it is a Msg."""

    t: Literal["link"] = "link"
    url: str
    label: str | None = None


class Code(_Param):
    """Literal text shown as code (a command to type, an id, a hash)."""

    t: Literal["code"] = "code"
    text: str


class Lines(_Param):
    """Several values, one per line (or joined with `sep`)."""

    t: Literal["lines"] = "lines"
    items: list[Param]
    sep: str = "\n"


class Msg(_Param):
    """A user-facing text: a catalog key and its parameters. Plain `str` parameters are
    member content and are always escaped; only catalog templates carry markup."""

    t: Literal["msg"] = "msg"
    key: str
    params: dict[str, Param] = Field(default_factory=dict)

    def __init__(self, _key: str | None = None, /, **params: Any) -> None:
        # Msg("consent.adopted", title=...) in code; key=/params= when pydantic validates.
        if _key is None:
            super().__init__(**params)
        else:
            super().__init__(key=_key, params=params)


Param = Annotated[
    Union[str, int, float, When, Day, Month, Duration, Mention, ProperName, Link, Code, Lines, Msg],  # noqa: UP007
    Field(union_mode="smart"),
]
Lines.model_rebuild()
Msg.model_rebuild()


class MissingKey(KeyError):
    """A key absent from a catalog: a bug, caught by the catalog tests."""


# --- catalogs ---------------------------------------------------------------


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, Mapping):
            _flatten(key, value, out)
        elif isinstance(value, str):
            out[key] = value
        else:
            raise TypeError(f"catalog entry {key} must be a string")


CATALOG_ROOTS: tuple[str, ...] = ("bot", "scenarios", "adapters")
"""Packages searched for catalogs: each part keeps its words beside its code, in
`<package>/catalog/<locale>/<domain>.toml` (a ritual's in `scenarios/<kind>/catalog/`)."""


def catalog_files(locale: str) -> list[Traversable]:
    """Every catalog file of one locale, in a stable order (by domain)."""
    found: list[Traversable] = []

    def walk(folder: Traversable, depth: int) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.is_dir() or entry.name.startswith((".", "_")):
                continue
            if entry.name == "catalog":
                here = entry / locale
                if here.is_dir():
                    found.extend(f for f in here.iterdir() if f.name.endswith(".toml"))
            elif depth < 4:
                walk(entry, depth + 1)

    for root in CATALOG_ROOTS:
        try:
            walk(resources.files(root), 0)
        except ModuleNotFoundError:
            continue
    return sorted(found, key=lambda f: f.name)


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """All keys of one locale: every catalog file's keys, prefixed by its domain (its name)."""
    out: dict[str, str] = {}
    domains: set[str] = set()
    for entry in catalog_files(locale):
        domain = entry.name.removesuffix(".toml")
        if domain in domains:
            raise ValueError(f"catalog domain {domain!r} declared twice ({locale})")
        domains.add(domain)
        _flatten(domain, tomllib.loads(entry.read_text("utf-8")), out)
    return out


def has_key(key: str, locale: str = DEFAULT_LOCALE) -> bool:
    return key in catalog(locale)


def normalize_locale(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    short = locale.replace("-", "_").split("_")[0].lower()
    return short if short in LOCALES else DEFAULT_LOCALE


# --- escaping ---------------------------------------------------------------


def escape_member_text(text: str, markup: Markup) -> str:
    """Make member content inert in the target format: no markup, no links, no group pings."""
    return markup.escape(text)


# --- templates --------------------------------------------------------------

_HOLE = re.compile("\x00(\\d+)\x00")

# Times are "HH:mm" here; in French they are said "18 h" and "18 h 30" (typography.french_time).
_DATE_PATTERNS: dict[str, dict[str, str]] = {
    "fr": {
        "datetime": "EEEE d MMMM y 'à' HH:mm",
        "short": "EEE d MMM 'à' HH:mm",
        "date": "EEEE d MMMM y",
        "day": "EEEE d MMMM",
        "time": "HH:mm",
        "short+year": "EEE d MMM y 'à' HH:mm",
        "day+year": "EEEE d MMMM y",
        "month": "LLLL y",
    },
    "en": {
        "datetime": "EEEE d MMMM y 'at' HH:mm",
        "short": "EEE d MMM 'at' HH:mm",
        "date": "EEEE d MMMM y",
        "day": "EEEE d MMMM",
        "time": "HH:mm",
        "short+year": "EEE d MMM y 'at' HH:mm",
        "day+year": "EEEE d MMMM y",
        "month": "LLLL y",
    },
}
_CLOCK = "HH:mm"


def _pattern(style: str, locale: str, day: int) -> str:
    pattern = _DATE_PATTERNS[locale][style]
    if locale == "fr" and day == 1:
        pattern = pattern.replace("d MMM", "d'er' MMM")  # "1er décembre"
    return pattern


# Styles that leave the year out: they show it when the instant is in another year than the
# reference instant ("now" for whoever reads the message). Every renderer of the bot is given
# one (tests/unit/test_dates_rendered.py checks it); without it a year-less style stays so.
_YEARLESS = ("short", "day")


def format_when(at: datetime, style: str, locale: str, tz: ZoneInfo, now: datetime | None = None) -> str:
    """An instant in the network's time zone, the French (or English) way. `now` is the
    reference instant: a date in another year than its own carries its year."""
    if at.tzinfo is None:
        raise ValueError("naive datetime in a message: every instant must be timezone-aware")
    local = at.astimezone(tz)
    if style in _YEARLESS and now is not None and local.year != now.astimezone(tz).year:
        style = f"{style}+year"
    pattern = _pattern(style, locale, local.day)
    if locale == "fr" and pattern.endswith(_CLOCK):
        head = pattern.removesuffix(_CLOCK)
        return (format_datetime(at, head, tzinfo=tz, locale=locale) if head else "") + french_time(local)
    if style == "time":
        return format_time(at, pattern, tzinfo=tz, locale=locale)
    return format_datetime(at, pattern, tzinfo=tz, locale=locale)


def format_day(on: date, locale: str) -> str:
    """A calendar day ("mercredi 1er décembre 2027")."""
    return format_date(on, _pattern("date", locale, on.day), locale=locale)


MentionRenderer = Callable[[Mention, Markup], str]


def _default_mention(m: Mention, markup: Markup) -> str:
    return markup.escape(m.name)


class Renderer:
    """Renders messages for one network: its locale, time zone and the platform's markup."""

    def __init__(
        self,
        locale: str,
        tz: ZoneInfo,
        markup: Markup = PLAIN,
        mention: MentionRenderer = _default_mention,
        *,
        now: datetime | None = None,
    ) -> None:
        self.locale = normalize_locale(locale)
        self.tz = tz
        self.markup = markup
        self.mention = mention
        # The reader's "now" (passed in, never read from a clock: scenarios render too):
        # dates of another year than its own show their year.
        self.now = now

    def __call__(self, msg: Msg) -> str:
        return self.render(msg)

    def render(self, msg: Msg) -> str:
        try:
            template = catalog(self.locale)[msg.key]
        except KeyError:
            raise MissingKey(f"{msg.key} ({self.locale})") from None
        return self._fill(template, msg.params)

    def _fill(self, template: str, params: Mapping[str, Param]) -> str:
        # Templates are trusted, parameters are not: the template's own text (its plural
        # branches chosen) gets French typography and its markup (**bold**, which may span a
        # parameter) with each parameter held by an inert placeholder; then the placeholders
        # are replaced by the parameters, escaped for the format and left as they were typed.
        values: list[str] = []

        def given(name: str) -> Param:
            if name not in params:
                raise MissingKey(f"parameter {name!r} missing for template {template!r}")
            return params[name]

        def text(nodes: Nodes) -> str:
            out: list[str] = []
            for node in nodes:
                if isinstance(node, str):
                    out.append(node)
                elif isinstance(node, Placeholder):
                    values.append(self.field(given(node.name), node.form))
                    out.append(f"\x00{len(values) - 1}\x00")
                else:
                    out.append(text(self.branch(node, given(node.name))))
            return "".join(out)

        filled = text(parse(template))
        if self.locale == "fr":
            filled = french_punctuation(filled)
        marked = self.markup.template(filled)
        return _HOLE.sub(lambda m: values[int(m.group(1))], marked)

    def branch(self, plural: Plural, value: Param) -> Nodes:
        """The branch of a plural selector for `value`, a number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"plural selector {plural.name!r} needs a number, not {value!r}")
        return plural.branch(value, self.locale)

    def field(self, value: Param, form: str | None) -> str:
        """One parameter, in the form the template asks (`{network:of}`)."""
        if form is None:
            return self.param(value)
        if form not in FORMS or not isinstance(value, ProperName):
            raise TemplateError(f"form {form!r} of {value!r}: only a ProperName takes one of {FORMS}")
        said = with_preposition(value.with_article, form, self.locale) if value.with_article else None
        if said is not None:
            return self.markup.escape(said)
        return self.render(Msg(f"core.network.{form}", name=value.name))

    def param(self, value: Param) -> str:
        match value:
            case bool():
                return str(value)
            case int():
                return format_number(value, self.locale)
            case float():
                return format_number(value, self.locale)
            case str():
                return self.markup.escape(value)
            case When(at=at, style=style):
                return format_when(at, style, self.locale, self.tz, self.now)
            case Day(on=on):
                return format_day(on, self.locale)
            case Month(year=year, month=month):
                return format_date(date(year, month, 1), _DATE_PATTERNS[self.locale]["month"], locale=self.locale)
            case Duration(seconds=s):
                return format_timedelta(
                    timedelta(seconds=s), locale=self.locale, threshold=1.1, format="long"
                )
            case Mention():
                return self.mention(value, self.markup)
            case ProperName(name=name):
                return self.markup.escape(name)
            case Link(url=url, label=label):
                return self.markup.link(url, label)
            case Code(text=text):
                return self.markup.code(text)
            case Lines(items=items, sep=sep):
                sep_out = self.markup.line_break if sep == "\n" else sep
                return sep_out.join(self.param(i) for i in items)
            case Msg():
                return self.render(value)
        raise TypeError(f"unsupported message parameter {value!r}")


def format_number(value: float, locale: str) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=normalize_locale(locale)))


def render_plain(msg: Msg, locale: str = DEFAULT_LOCALE, tz: str = "Europe/Paris",
                 now: datetime | None = None) -> str:
    """Plain text in one locale: for the console, logs and tests."""
    return Renderer(locale, ZoneInfo(tz), PLAIN, now=now).render(msg)


def keys_used(msgs: Iterable[Msg]) -> set[str]:
    """Every key a tree of messages refers to (for catalog tests)."""
    found: set[str] = set()

    def walk(p: Param) -> None:
        if isinstance(p, Msg):
            found.add(p.key)
            for v in p.params.values():
                walk(v)
        elif isinstance(p, Lines):
            for v in p.items:
                walk(v)

    for m in msgs:
        walk(m)
    return found
