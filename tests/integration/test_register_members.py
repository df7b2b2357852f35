"""A members-only register through the ops server of a running bot: nothing readable without a
personal link; the link `!reseau registre` sends opens it until it expires or is replaced or
revoked; a tampered link gets 403; too many refused links get 429; never a 500."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.web.ops import OpsServer
from tests.harness import Harness
from tests.integration.register_month import START, config

SECRET_ENV = "MAILLAGE_TEST_REGISTRE_SECRET"
LINK = re.compile(r"https://reseau\.example\.org(/registre/acces/[A-Za-z0-9_.-]+)")
CLOSED = ("/registre", "/registre/", "/registre/decisions/1", "/registre/export.zip", "/registre/tirages/1.json",
          "/registre/decisions/abc", "/registre/nulle-part")


async def _link(h: Harness, who: str = "bob") -> str:
    out = await h.say(f"{who}: !reseau registre")
    (dm,) = [s for s in out if s.kind == "dm"]
    assert [s.kind for s in out] == ["dm", "note"] and dm.recipient == who
    found = LINK.search(dm.text)
    assert found is not None, dm.text
    return found.group(1)


async def test_nothing_without_a_valid_link(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "4f" * 32)
    async with Harness(config("members", SECRET_ENV), sqlite_url, START, tmp_path) as h:
        out = await h.say("alice: !reseau decision « Adopter la charte v2 » jusqu'à mercredi 18h")
        (proposal,) = [s for s in out if s.kind == "post" and s.choices]
        await h.say(f"bob: ?{proposal.message_id} consent")
        await h.advance(timedelta(days=3))
        # mes-donnees counts what the register holds of the person, not the whole network's log:
        # Bob answered the decision and was expected at Tuesday's committee; Dina only the latter.
        (mine,) = await h.say("[dm] bob: !reseau mes-donnees")
        assert re.search(r"Événements enregistrés\s:\s2\b.*Réponses dans les processus\s:\s2\b", mine.text, re.S)
        (theirs,) = await h.say("[dm] dina: !reseau mes-donnees")
        assert re.search(r"Événements enregistrés\s:\s1\b.*Réponses dans les processus\s:\s1\b", theirs.text, re.S)
        assert h.engine is not None
        async with OpsServer([h.engine], port=0) as ops, aiohttp.ClientSession() as http:
            base = ops.url

            async def get(path: str, jar: dict[str, str] | None = None) -> tuple[int, str]:
                async with http.get(base + path, cookies=jar, allow_redirects=False) as r:
                    return r.status, (await r.read()).decode("utf-8", "replace")

            # Without a link: every page, the export and the record answer 403, in French.
            for path in CLOSED:
                status, body = await get(path)
                assert status == 403, path
                assert "réservé aux membres" in body and "!reseau registre" in body

            # The personal link opens the register and keeps it in a cookie for the pages.
            path = await _link(h)
            async with http.get(base + path, allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/registre"
                cookie = r.cookies["maillage_registre"]
                assert cookie["httponly"] and cookie["path"] == "/registre" and cookie["secure"]
            jar = {"maillage_registre": cookie.value}
            assert (await get("/registre", jar))[0] == 200
            status, body = await get("/registre/decisions/1", jar)
            assert status == 200 and "Adopter la charte v2" in body and "Bob Leroy" in body
            assert (await get("/registre/export.zip", jar))[0] == 200
            assert [(await get(p, jar))[0] for p in ("/registre/decisions/abc", "/registre/decisions/9",
                                                     "/registre/nulle-part")] == [400, 404, 404]

            # Tampered: any changed character breaks the signature.
            token = path.rsplit("/", 1)[1]
            tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
            for bad in (tampered, token.replace(".", ""), token + "." + token):
                status, body = await get("/registre/acces/" + bad)
                assert status == 403 and "pas valide" in body, bad
            assert (await get("/registre", {"maillage_registre": tampered}))[0] == 403

            # A new link replaces the old one; `registre revoquer` cancels every link.
            newer = await _link(h)
            assert (await get("/registre", jar))[0] == 403
            status, body = await get(newer)
            assert status == 303
            await h.say("bob: !reseau registre revoquer")
            status, body = await get(newer)
            assert status == 403 and "expiré ou a été remplacé" in body

            # Expired: a week later (link_days = 7) the link no longer opens the register.
            latest = await _link(h, "chloe")
            assert (await get(latest))[0] == 303
            await h.advance(timedelta(days=7, minutes=1))
            status, body = await get(latest)
            assert status == 403 and "expiré" in body

        # Refused links are limited: past ten from one address, 429 even for a valid one.
        async with OpsServer([h.engine], port=0) as ops, aiohttp.ClientSession() as http:
            fresh = await _link(h, "dina")
            statuses = []
            for i in range(11):
                async with http.get(f"{ops.url}/registre/acces/faux{i}.faux", allow_redirects=False) as r:
                    statuses.append(r.status)
            assert statuses == [403] * 10 + [429]
            async with http.get(ops.url + fresh, allow_redirects=False) as r:
                assert r.status == 429 and int(r.headers["Retry-After"]) > 0
