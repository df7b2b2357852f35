"""The register on the web, from a month of rituals run through the real engine: its pages in
headless Chromium (the DOM, a screenshot of each, axe-core), its addresses that are not pages,
the draw's record, and the export read back with Python's csv."""

from __future__ import annotations

import csv
import io
import json
import random
import tomllib
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from bot.cli import parser as cli_parser
from bot.cli.adapters import platform_configs
from bot.config import validate
from bot.store import Store, open_store
from bot.web.register.site import RegisterSite
from scenarios import registry
from scenarios.sortition.record import verify_record
from tests.fixtures.browser import axe_violations
from tests.integration.register_month import FORGOTTEN, PARIS, PEOPLE, Month, config, run_month

NOW = datetime(2027, 2, 28, 12, 0, tzinfo=PARIS)
NAMES = {key: name for key, name, _, _ in PEOPLE}
PSEUDONYM = "membre anonymisé·e #1"


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


class Served:
    def __init__(self, url: str, month: Month, store: Store, network_id: int, tmp: Path, db: str) -> None:
        self.url, self.month, self.store, self.network_id, self.tmp, self.db = url, month, store, network_id, tmp, db


@pytest_asyncio.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """The month's store (SQLite), and its register served by a real HTTP server."""
    tmp = tmp_path_factory.mktemp("registre")
    db = f"sqlite+aiosqlite:///{tmp / 'registre.db'}"
    month = await run_month(db, tmp)
    cfg = validate(tomllib.loads(config()), registry(), tmp / "config.toml", platform_configs())
    store = await open_store(db)
    async with store.reading() as unit:
        network_id = await unit.networks.find(cfg.network.name)
    assert network_id is not None
    app = web.Application()
    RegisterSite(store, cfg, network_id, registry(), lambda: NOW).add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(f"http://127.0.0.1:{port}", month, store, network_id, tmp, db)
    finally:
        await runner.cleanup()
        await store.close()


async def _final_panel(s: Served) -> list[str]:
    async with s.store.reading() as unit:
        draw = await unit.register.entry(s.network_id, "draw", 1)
    assert draw is not None
    return [NAMES[k] for k in draw.data["final_panel"]]


async def _check_page(page: Any, name: str, tmp: Path) -> str:
    """The page's text; its screenshot saved; no serious or critical axe-core violation."""
    shot = tmp / f"registre-{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    violations = [v for v in await axe_violations(page) if v.get("impact") in ("serious", "critical")]
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)[:3000]
    assert await page.get_attribute("html", "lang") == "fr"
    levels = [int(tag[1]) for tag in await page.eval_on_selector_all("h1, h2, h3, h4", "els => els.map(e => e.tagName)")]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels)), levels
    for table in await page.query_selector_all("table"):
        assert await table.query_selector("caption") is not None and await table.query_selector("th") is not None
    return plain(await page.inner_text("main"))


async def test_every_page_in_a_browser(browser: Any, served: Served, tmp_path: Path) -> None:
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    try:
        # The index: the charter, decisions, the draw, the election, who does what, meetings.
        response = await page.goto(served.url + "/registre")
        assert response is not None and response.status == 200
        text = await _check_page(page, "index", tmp_path)
        assert plain(await page.inner_text("h1")) == "Registre du réseau « Réseau des tiers-lieux »"
        assert "Nous coopérons pour que chaque territoire" in text
        found = [(plain(await a.inner_text()), await a.get_attribute("href"))
                 for a in await page.query_selector_all("main table a")]
        links = dict(found)
        assert links["Adopter la charte v2"] == "/registre/decisions/1"
        assert links["Budget 2027, chiffré poste par poste"] == "/registre/decisions/2"
        assert links["Changer de nom"] == "/registre/decisions/3"
        assert links["délégué·e régional·e"] == "/registre/tirages/1"
        assert links["trésorier·e"] == "/registre/elections/1"
        assert [h for t, h in found if t == "Comité"] == ["/registre/reunions/2", "/registre/reunions/1"]
        assert "Dina Haddad" in text and "trésorerie" in text and "4/8" in text
        assert FORGOTTEN not in await page.content()

        # A decision amended after an objection: its versions, the objection and what followed.
        await page.click("text=Budget 2027, chiffré poste par poste")
        text = await _check_page(page, "decision-2", tmp_path)
        assert plain(await page.inner_text("h1")) == "Décision #2 : Budget 2027, chiffré poste par poste"
        assert [plain(h) for h in await page.eval_on_selector_all("main h3", "els => els.map(e => e.innerText)")] == [
            "Version 1 : Budget 2027", "Version 2 : Budget 2027, chiffré poste par poste"]
        assert "Objection — Bob Leroy : le budget n'est pas chiffré" in text
        assert "Suite donnée : la version 2 (« Budget 2027, chiffré poste par poste »)" in text
        assert "Titre : « Budget 2027 » devient « Budget 2027, chiffré poste par poste »" in text
        who = plain(await page.inner_text("section[aria-labelledby=v2] table:last-of-type"))
        assert "Bob Leroy" in who and "Chloé Petit" in who and PSEUDONYM in who and FORGOTTEN not in who

        # A réserve and its reason.
        await page.goto(served.url + "/registre/decisions/1")
        text = await _check_page(page, "decision-1", tmp_path)
        assert "Consentement avec réserve — Chloé Petit : le calendrier est serré" in text

        # An anonymous round: the counts, nobody's name.
        await page.goto(served.url + "/registre/decisions/3")
        text = await _check_page(page, "decision-3", tmp_path)
        assert "Tour anonyme : seuls les totaux sont publiés" in text
        counts = plain(await page.inner_text("table"))
        assert "Consentement\t2" in counts and "Objection\t1" in counts
        assert not any(name in text for name in ("Bob Leroy", "Chloé Petit", "Dina Haddad"))
        assert "Objection : trop tôt pour en décider" in text

        # The draw: quotas, chances, commitments, seed, declines, the final panel, the record.
        await page.goto(served.url + "/registre/tirages/1")
        text = await _check_page(page, "tirage", tmp_path)
        final = [plain(t) for t in await page.eval_on_selector_all("#final-panel li", "els => els.map(e => e.innerText)")]
        assert final == await _final_panel(served)
        assert "maillage draw verify tirage-1.json" in text and "Graine : " in text and "a refusé" in text
        assert "Sièges : 2. Personnes tirables : 8." in text
        assert await page.get_attribute("a[download]", "href") == "/registre/tirages/1.json"

        # The election: nominations with their reasons, the change, the consent round.
        await page.goto(served.url + "/registre/elections/1")
        text = await _check_page(page, "election", tmp_path)
        assert "Bob Leroy propose Dina Haddad : « elle tient déjà les comptes »" in text
        assert "Éloi Garnier propose maintenant Dina Haddad" in text
        assert "Personne élue : Dina Haddad" in text and "Consentement\t5" in text

        # A meeting: date, place, agenda, minutes, attendance by organisation.
        await page.goto(served.url + "/registre/reunions/1")
        text = await _check_page(page, "reunion", tmp_path)
        assert "Le mardi 2 février 2027" in text and "Maison des associations, Voiron" in text
        assert "Budget 2027" in text and "https://pad.example.org/comite-fevrier" in text
        rows = plain(await page.inner_text("table"))
        assert "La Ruche\t1\t2" in rows and "Le Four\t1\t2" in rows
        assert PSEUDONYM in text and FORGOTTEN not in await page.content()
    finally:
        await context.close()


def test_chat_links_outcomes_draws_and_the_digest_to_their_pages(served: Served) -> None:
    posts = [plain(p) for p in served.month.posts]
    site = "https://reseau.example.org/registre"
    assert any("Adopter la charte v2" in p and f"Le détail dans le registre : {site}/decisions/1" in p for p in posts)
    assert any(f"Le détail dans le registre : {site}/elections/1" in p for p in posts)
    record = f"Le procès-verbal dans le registre : {site}/tirages/1"
    assert not [p for p in posts if record in p], "the result edits the announcement: no post of its own"
    results = [plain(e) for e in served.month.edits if "tiré·es au sort" in plain(e)]
    assert results and all(record in e for e in results), "the result, edited into the announcement"
    finals = [plain(e) for e in served.month.edits if "le panel est au complet" in plain(e)]
    assert finals and all(record in e for e in finals), "the final panel, edited into the same post"
    assert any("Résumé de la semaine" in p and f"{site}/decisions/2" in p for p in posts)


async def test_pages_fit_a_phone_and_print(browser: Any, served: Served, tmp_path: Path) -> None:
    context = await browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740}, is_mobile=True)
    page = await context.new_page()
    try:
        for path in ("/registre", "/registre/decisions/2", "/registre/tirages/1", "/registre/elections/1",
                     "/registre/reunions/1"):
            await page.goto(served.url + path)
            wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 1, (path, wide)
        await page.screenshot(path=str(tmp_path / "registre-phone.png"), full_page=True)
        # Printed: no navigation nor download links, the page's address at its foot.
        await page.goto(served.url + "/registre")
        shown = "sel => getComputedStyle(document.querySelector(sel)).display"
        assert [await page.evaluate(shown, s) for s in ("header nav", ".download", ".printed")] == [
            "block", "block", "none"]
        await page.emulate_media(media="print")
        assert [await page.evaluate(shown, s) for s in ("header nav", ".download", ".printed")] == [
            "none", "none", "block"]
        assert "Imprimé depuis https://reseau.example.org/registre" in plain(await page.inner_text("footer"))
        pdf = tmp_path / "registre-index.pdf"
        await page.pdf(path=str(pdf))
        print(f"printed: {pdf}")
        assert pdf.stat().st_size > 1000
    finally:
        await context.close()


async def test_addresses_that_are_no_page_get_400_or_404_and_the_record_verifies(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        for path, status in (("/registre/decisions/0", 400), ("/registre/decisions/abc", 400),
                             ("/registre/decisions/99999999999", 400), ("/registre/decisions/%C3%A9", 400),
                             ("/registre/decisions/7", 404), ("/registre/autre/1", 404), ("/registre/x", 404),
                             ("/registre/tirages/2.json", 404), ("/registre/reunions/1.json", 400)):
            async with http.get(served.url + path) as r:
                assert r.status == status, path
                assert "text/html" in r.headers["Content-Type"] and "<html lang=\"fr\">" in await r.text()
        async with http.get(served.url + "/registre/tirages/1.json") as r:
            assert r.status == 200
            record = json.loads(await r.read())
    verdict = verify_record(record)
    assert verdict.ok, verdict.problems


async def test_no_address_under_the_register_gets_a_500(served: Served) -> None:
    rng = random.Random(7)
    alphabet = "aé09-_.%/~!'()*,;=:@#? \u00a0"
    paths = ["/registre/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(200)]
    paths += [f"/registre/{folder}/{junk}" for folder in ("decisions", "tirages", "elections", "reunions")
              for junk in ("1.json", "-1", "1e3", "٣", "00001", "1" * 30, "%2e%2e", "1/2")]
    async with aiohttp.ClientSession() as http:
        for path in paths:
            async with http.get(served.url + quote(path, safe="/")) as r:
                assert r.status in (200, 400, 404), (path, r.status)


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    raw = (folder / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with its byte order mark"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


async def test_the_export_holds_every_decision_and_every_answer_once(served: Served) -> None:
    cfg = served.tmp / "reseau.toml"
    cfg.write_text(config() + f'\n[store]\nurl = "{served.db}"\n', "utf-8")
    out = served.tmp / "export"
    args = cli_parser().parse_args(["registre", "export", "-c", str(cfg), "--out", str(out)])
    assert await args.func(args) == 0
    decisions = _read(out, "decisions.csv")
    versions = Counter((r["election"], r["number"], r["version"]) for r in decisions)
    assert versions == Counter({("", "1", "1"): 1, ("", "2", "1"): 1, ("", "2", "2"): 1, ("", "3", "1"): 1,
                                ("1", "1", "1"): 1})
    assert {r["number"]: r["final_outcome"] for r in decisions if not r["election"]} == {
        "1": "adopted", "2": "adopted", "3": "lapsed"}
    answers = _read(out, "answers.csv")
    mine = [(int(r["number"]), int(r["version"]), r["person"], r["choice"]) for r in answers if r["kind"] == "decision"]
    expected = [(n, v, "pseudonym" if NAMES[k] == FORGOTTEN else NAMES[k], c)
                for (n, v), given in served.month.answers.items() for k, c in given.items()]
    seen = [(n, v, "pseudonym" if p.startswith(PSEUDONYM) else p, c) for n, v, p, c in mine]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert not [r for r in answers if r["kind"] == "decision" and r["number"] == "3"], "anonymous: counts only"
    nominations = [(r["person"], r["names"]) for r in answers if r["kind"] == "election" and r["choice"] == "nomination"]
    assert sorted(nominations) == sorted((NAMES[a], NAMES[b]) for a, b in served.month.nominations)
    attendance = _read(out, "attendance.csv")
    came = {(r["meeting"], r["person"]) for r in attendance if r["present"] == "true"}
    assert len(came) == sum(len(p) for p in served.month.present.values())
    draws = _read(out, "draws.csv")
    assert [(r["number"], r["status"], r["final_panel"]) for r in draws] == [
        ("1", "done", "; ".join(await _final_panel(served)))]
    assert len(_read(out, "meetings.csv")) == 2 and len(_read(out, "elections.csv")) == 1
    for name in ("decisions", "answers", "elections", "draws", "meetings", "attendance"):
        assert len(json.loads((out / f"{name}.json").read_text("utf-8"))) == len(_read(out, f"{name}.csv"))
    async with aiohttp.ClientSession() as http, http.get(served.url + "/registre/export.zip") as r:
        assert r.status == 200
        with zipfile.ZipFile(io.BytesIO(await r.read())) as z:
            assert z.read("registre/decisions.csv") == (out / "decisions.csv").read_bytes()
