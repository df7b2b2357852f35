"""The register's routes on the ops server: its pages, its export, and who may read them.

Public registers answer anyone. Members-only ones answer a browser that holds a personal link
(`!reseau registre`): the link's page checks it and keeps it in a cookie; every other page and
the export check the cookie. A link that is malformed, tampered with, expired or replaced gets
403; too many of those from one address get 429 for a while. Nothing answers 500 to a request
that has not shown a valid link: bad numbers get 400, unknown pages 404.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from html import unescape
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.config import Config, ConfigError, secret
from bot.engine.register_links import ACCESS_PATH, MIN_SECRET, read
from bot.kernel.i18n import Code
from bot.kernel.register import PAGE_PATHS, ROOT
from bot.kernel.scenario import Registry
from bot.store.ports import StorePort
from bot.web.register import pages
from bot.web.register.export import files, zipped
from bot.web.register.source import Source
from bot.web.register.words import Words

log = logging.getLogger("maillage.registre")

COOKIE = "maillage_registre"
FAILURES = 10
"""Refused links one address may present per window before it is told to wait (429)."""
WINDOW = 600.0
"""Seconds over which refused links are counted."""
MAX_NUMBER = 1_000_000
FOLDERS = {path: kind for kind, path in PAGE_PATHS.items()}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Tries:
    """Refused links per client address, in this process (bounded in memory)."""

    def __init__(self, limit: int = FAILURES, window: float = WINDOW, clock: Callable[[], float] = time.monotonic,
                 size: int = 10_000) -> None:
        self.limit, self.window, self.clock, self.size = limit, window, clock, size
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, who: str) -> deque[float]:
        times = self.seen.get(who, deque())
        now = self.clock()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, who: str) -> bool:
        return len(self._recent(who)) >= self.limit

    def failed(self, who: str) -> None:
        times = self._recent(who)
        times.append(self.clock())
        self.seen[who] = times
        self.seen.move_to_end(who)
        while len(self.seen) > self.size:
            self.seen.popitem(last=False)

    def retry_after(self, who: str) -> int:
        times = self._recent(who)
        return max(1, int(times[0] + self.window - self.clock()) + 1) if times else 1


class RegisterSite:
    """One network's register under /registre."""

    def __init__(self, store: StorePort, config: Config, network_id: int, registry: Registry | None,
                 now: Callable[[], datetime], tries: Tries | None = None) -> None:
        self.source = Source(store, config, network_id, registry)
        self.network = self.source.network
        self.now = now
        self.tries = tries or Tries()
        self.env = Environment(loader=PackageLoader("bot.web.register", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.key = self._secret(config)

    def _secret(self, config: Config) -> str | None:
        section = self.network.section
        if section is None or section.visibility != "members" or section.secret_env is None:
            return None
        try:
            key = secret(section.secret_env, "registre.secret_env", config.path)
        except ConfigError:
            key = ""
        if len(key) < MIN_SECRET:
            log.error("the register's secret (%s) is missing or shorter than %d characters: no link opens it",
                      section.secret_env, MIN_SECRET)
            return None
        return key

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(ROOT, self._safely(self.index))
        app.router.add_get(ROOT + "/", self._safely(self.index))
        app.router.add_get(ACCESS_PATH + "{token}", self._safely(self.access))
        app.router.add_get(ROOT + "/export.zip", self._safely(self.export))
        app.router.add_get(ROOT + "/{folder}/{number}", self._safely(self.page))
        app.router.add_get(ROOT + "/{tail:.*}", self._safely(self.unknown))

    def _safely(self, handler: Handler) -> Handler:
        """A failure (the store down, a record the pages cannot read) is a page saying the
        register does not answer, logged with its traceback: never a bare 500."""
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("the register could not answer %s", request.path)
                return self.error(503, "error.unavailable", "error.unavailable_text")
        return run

    # --- responses ------------------------------------------------------------------

    def words(self) -> Words:
        return Words(self.network.locale, self.network.tz, self.now())

    def html(self, w: Words, template: str, status: int = 200, **values: Any) -> web.Response:
        public = self.network.section is not None and self.network.section.visibility == "public"
        body = self.env.get_template(template).render(
            t=w.t, lang=self.network.locale, network=self.network.name, public=public,
            page_title=values.pop("page_title", str(w.t("site.title", network=self.network.name))),
            nav=values.pop("nav", None), page_url=values.pop("page_url", None), **values)
        headers = {
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "public, max-age=60" if public and status == 200 else "no-store",
        }
        return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=headers)

    def error(self, status: int, heading: str, text: str | None = None, **params: Any) -> web.Response:
        w = self.words()
        response = self.html(w, "error.html", status=status, heading=w.t(heading),
                             text=w.t(text, **params) if text else None,
                             page_title=str(w.t("error.title")))
        if status == 429:
            response.headers["Retry-After"] = str(params.get("retry", 60))
        return response

    def forbidden(self, heading: str = "error.forbidden") -> web.Response:
        days = self.network.section.link_days if self.network.section else 30
        return self.error(403, heading, "error.forbidden_text", days=days,
                          command=Code(text=f"{self.network.command_prefix} registre"))

    # --- who may read -----------------------------------------------------------------

    async def _check(self, token: str) -> str:
        """"ok", or why the link does not open the register ("tampered", "expired")."""
        if self.key is None:
            return "tampered"
        found = read(self.key, token)
        if found is None or found.network_id != self.network.id:
            return "tampered"
        if found.expired(self.now()):
            return "expired"
        async with self.source.store.reading() as unit:
            current = await unit.register.reader_generation(self.network.id, found.person_id)
        return "ok" if found.generation == current else "expired"

    async def _refused(self, request: web.Request, token: str | None) -> web.Response | None:
        """None when the request may read the register; else the page that says why not."""
        section = self.network.section
        if section is None:
            return self.error(404, "error.off", "error.off_text")
        if section.visibility == "public":
            return None
        who = request.remote or "?"
        if self.tries.blocked(who):
            return self.error(429, "error.too_many", "error.too_many_text", retry=self.tries.retry_after(who))
        if not token:
            return self.forbidden()
        try:
            status = await self._check(token)
        except Exception:
            log.exception("the register could not check a link")
            return self.error(503, "error.unavailable", "error.unavailable_text")
        if status == "ok":
            return None
        self.tries.failed(who)
        return self.forbidden("error.expired" if status == "expired" else "error.tampered")

    async def access(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        refused = await self._refused(request, token)
        if refused is not None:
            return refused
        response = web.HTTPSeeOther(ROOT)
        found = read(self.key, token) if self.key else None
        if found is not None:
            secure = bool(self.network.base_url and self.network.base_url.startswith("https://"))
            max_age = max(0, int(found.expires - self.now().timestamp()))
            response.set_cookie(COOKIE, token, max_age=max_age, path=ROOT, httponly=True, samesite="Lax",
                                secure=secure)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    # --- pages ------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request, request.cookies.get(COOKIE))) is not None:
            return refused
        view, people = await self.source.everything(details=False)
        w = self.words()
        page = pages.index(w, view.entries, people, await self.source.open_rituals(), self.now())
        nav = [{"href": f"#{a}", "label": w.t(k)} for a, k in (
            ("decisions", "index.taken"), ("tirages", "index.draws"), ("elections", "index.elections"),
            ("reunions", "index.meetings_next"))]
        return self.html(w, "index.html", page=page, charter=self.network.charter, nav=nav,
                         page_url=self._url(ROOT))

    async def page(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request, request.cookies.get(COOKIE))) is not None:
            return refused
        folder, raw = request.match_info["folder"], request.match_info["number"]
        kind = FOLDERS.get(folder)
        if kind is None:
            return self.error(404, "error.not_found", "error.not_found_text")
        as_json = kind == "draw" and raw.endswith(".json")
        digits = raw.removesuffix(".json") if as_json else raw
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= MAX_NUMBER:
            return self.error(400, "error.bad_request", "error.bad_request_text")
        number = int(digits)
        w = self.words()
        entry, people = await self.source.entry(kind, number, "consent" if kind == "decision" else None)
        if entry is None:
            return self.error(404, "error.not_found", f"{kind}.unknown", number=number)
        url = self._url(request.path)
        if kind == "decision":
            d = pages.decision(w, entry)
            return self.html(w, "decision.html", d=d, page_title=_plain(d["heading"]), page_url=url)
        if kind == "election":
            round_, _ = await self.source.entry("decision", number, "election")
            e = pages.election(w, entry, round_, people)
            return self.html(w, "election.html", e=e, page_title=_plain(e["heading"]), page_url=url)
        if kind == "meeting":
            m = pages.meeting(w, entry, people)
            return self.html(w, "meeting.html", m=m, page_title=_plain(m["heading"]), page_url=url)
        if as_json:
            record = entry.data.get("record")
            if not record:
                return self.error(404, "error.not_found", "draw.unknown", number=number)
            return web.Response(body=json.dumps(record, ensure_ascii=False, indent=1).encode(),
                                content_type="application/json", charset="utf-8",
                                headers={"Content-Disposition": f'attachment; filename="tirage-{number}.json"',
                                         "Cache-Control": "no-store"})
        d = pages.draw(w, entry, people)
        return self.html(w, "draw.html", d=d, page_title=_plain(d["heading"]), page_url=url)

    async def export(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request, request.cookies.get(COOKIE))) is not None:
            return refused
        view, people = await self.source.everything()
        body = zipped(files(view.entries, self.network.base_url, people.name))
        return web.Response(body=body, content_type="application/zip",
                            headers={"Content-Disposition": 'attachment; filename="registre.zip"',
                                     "Cache-Control": "no-store"})

    async def unknown(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request, request.cookies.get(COOKIE))) is not None:
            return refused
        return self.error(404, "error.not_found", "error.not_found_text")

    def _url(self, path: str) -> str | None:
        return self.network.base_url + path if self.network.base_url else None


def _plain(text: Any) -> str:
    """A heading as a page's title (the <title> escapes it again)."""
    return unescape(str(text)).replace("<br>", " ")
