"""`oublie-moi confirmer` forgets for real, `mes-donnees` sends exactly the person's own data: a
person with a distinctive name and accounts on three platforms objects with a reason, says they
will come to a meeting and comes, is nominated with a reason and elected (a mandate),
contributes to a draw and is drawn; then a scan of every text and JSON column of every table (from the schema's metadata)
finds none of their names or account ids, and the draw still verifies from its record."""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, String, Text, select

from adapters.console import Sent
from bot.cli import draw as cli_draw
from bot.store import schema
from scenarios.sortition.record import verify_record
from scenarios.sortition.seed import commitment_of
from tests.harness import Harness

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 2, 1, 9, 0, tzinfo=PARIS)
NAME = "Zéphyrine Quatrebarbes"
ACCOUNTS = ["console:zq", "slack:U0ZEPHQ42", "matrix:@zephyrine.q:example.org"]
SECRETS = [NAME, "zq", "U0ZEPHQ42", "@zephyrine.q:example.org", "slack:U0ZEPHQ42"]
OTHERS = [("alice", "Alice Martin", "Nord"), ("bob", "Bob Leroy", "Sud"), ("chloe", "Chloé Petit", "Sud"),
          ("dina", "Dina Haddad", "Est")]

CONFIG = """
[network]
name = "Réseau des tiers-lieux"
locale = "fr"
timezone = "Europe/Paris"

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[roles]
animateurs = ["alice"]

[roles."trésorerie"]
term = "1 an"
renew_by = "election"

[defaults.draw]
min_contributors = 1
commit_hours = 24
reveal_hours = 12
accept_hours = 48

[defaults.election]
change = "1j"

[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
leads = ["1d"]
personal_leads = []

[[rituals.series]]
id = "comite"
title = "Comité"
rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
time = "18:00"
start = "2027-02-01"
place = "Maison des associations"
""" + "".join(f'\n[[members]]\nid = "{k}"\nname = "{n}"\naccounts = ["console:{k}"]\nterritoire = "{t}"\n'
              for k, n, t in OTHERS) + (
    f'\n[[members]]\nid = "zq"\nname = "{NAME}"\naccounts = {json.dumps(ACCOUNTS)}\n'
    'organisation = "La Grange aux Zèbres"\nterritoire = "Ouest"\n')


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 2, d, hour, minute, tzinfo=PARIS)


def _proposal(out: list[Sent]) -> str:
    (p,) = [s for s in out if s.kind == "post" and s.choices]
    return p.message_id


async def _month(h: Harness) -> None:
    # A decision: an objection with its reason.
    d = _proposal(await h.say("alice: !reseau decision « Ouvrir le samedi » jusqu'à mercredi 18h"))
    await h.say(f"zq: ?{d} objection")
    await h.say(f"zq: > {d} le samedi nous sommes fermés")
    await h.say(f"bob: ?{d} consent")
    # The committee's reminder: they will come (an RSVP); the committee meets; they came.
    out = await h.advance_to(day(1, 18, 1))
    (reminder,) = [s for s in out if s.kind == "post" and "yes" in s.choices]
    await h.say(f"zq: ?{reminder.message_id} yes")
    out = await h.advance_to(day(2, 20, 1))
    (question,) = [s for s in out if s.kind == "post" and "Qui était là" in s.text]
    for who in ("alice", "zq"):
        await h.say(f"{who}: ?{question.message_id} came")
    await h.advance_to(day(4, 10))
    # An election: nominated with a reason, proposed, consented: a mandate.
    await h.say("alice: !reseau election « trésorerie » jusqu'à lundi 18h")
    await h.say("[dm] bob: !reseau election nommer zq parce qu'elle tient déjà les comptes")
    await h.say("[dm] zq: !reseau election nommer dina parce qu'elle est rigoureuse")
    await h.advance_to(day(8, 18, 2))
    await h.advance_to(day(9, 18, 2))
    ballot = _proposal(await h.say("alice: !reseau election proposer zq"))
    for who in ("alice", "bob", "chloe", "dina"):
        await h.say(f"{who}: ?{ballot} consent")
    await h.advance_to(day(13, 10))
    # A draw of everyone in the channel: they contribute to the seed, are drawn, accept.
    out = await h.say("alice: !reseau tirage 5")
    (announce,) = [s for s in out if s.kind == "post" and s.choices]
    await h.say(f"zq: !reseau tirage graine {commitment_of('les zèbres rayés')}")
    await h.say(f"bob: !reseau tirage graine {commitment_of('tournesol')}")
    await h.advance_to(day(14, 10, 1))
    await h.say("zq: !reseau tirage révéler les zèbres rayés")
    out = await h.say("bob: !reseau tirage révéler tournesol")
    for s in [s for s in h.sent if s.kind == "dm" and s.choices and s.recipient]:
        await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
    assert announce.message_id


async def _text_values(h: Harness) -> list[tuple[str, str, str]]:
    """(table, column, text) of every text and JSON value of the store."""
    assert h.store is not None
    out: list[tuple[str, str, str]] = []
    async with h.store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not cols:
                continue
            for row in (await conn.execute(select(*cols))).all():
                for c, v in zip(cols, row, strict=True):
                    if v is not None:
                        out.append((table.name, c.name, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)))
    return out


def _draw_record(values: list[tuple[str, str, str]]) -> dict[str, Any]:
    for table, col, text in values:
        if table == "register_entries" and col == "data" and '"maillage-draw/' in text:
            record: dict[str, Any] = json.loads(text)["record"]
            return record
    raise AssertionError("no draw in the register")


async def test_forgetting_leaves_no_name_nor_account_and_the_draw_still_verifies(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, START, tmp_path) as h:
        await _month(h)
        before = await _text_values(h)
        found = {s for s in SECRETS for _, _, text in before if s in text}
        assert {NAME, "zq"} <= found  # the scan below can fail: they are there before
        record = _draw_record(before)
        assert "zq" in record["final_panel"] and any(c["member"] == "zq" for c in record["contributions"])
        assert verify_record(record).ok

        # mes-donnees: a file with their data and no one else's.
        (note,) = await h.say("[dm] zq: !reseau mes-donnees")
        assert note.attachment and note.attachment.endswith(".json") and note.attachment in note.text
        assert note.attachment_b64 is not None
        mine = json.loads(base64.b64decode(note.attachment_b64))
        assert mine["person"]["name"] == NAME and mine["person"]["organisation"] == "La Grange aux Zèbres"
        assert {f"{a['platform']}:{a['user_id']}" for a in mine["accounts"]} == set(ACCOUNTS)
        assert {s["field"] for s in mine["profile_sources"]} >= {"name", "organisation", "attribute"}
        reasons = {a["reason"] for a in mine["answers"]}
        assert "le samedi nous sommes fermés" in reasons and "elle est rigoureuse" in reasons
        assert {a["topic"] for a in mine["answers"]} >= {"consent", "rsvp", "attendance", "nomination",
                                                          "contribution", "acceptance"}
        assert [m["role"] for m in mine["mandates"]] == ["trésorerie"]
        assert {e["kind"] for e in mine["register"]} >= {"decision", "election", "meeting"}
        text = json.dumps(mine, ensure_ascii=False)
        for key, name, _ in OTHERS:
            assert name not in text and f'"{key}"' not in text
        assert "elle tient déjà les comptes" not in text  # Bob's reason for naming them is Bob's

        out = await h.say("[dm] zq: !reseau oublie-moi confirmer")
        assert any("membre anonymisé·e #1" in s.text for s in out), [s.text for s in out]
        after = await _text_values(h)
        left = [(table, col, s, text[max(0, text.find(s) - 80):text.find(s) + 80])
                for table, col, text in after for s in SECRETS if s in text]
        assert left == [], "\n".join(map(str, left))
        # Their answers and their mandate stay, under the pseudonym; the mandate without the organisation.
        assert h.store is not None
        async with h.store.engine.connect() as conn:
            (pid,) = (await conn.execute(select(schema.persons.c.id).where(
                schema.persons.c.key == "forgotten:1"))).one()
            topics = {r[0] for r in (await conn.execute(select(schema.answers.c.topic).where(
                schema.answers.c.person_id == pid))).all()}
            mandates = (await conn.execute(select(schema.mandates.c.role, schema.mandates.c.organisation).where(
                schema.mandates.c.person_id == pid))).all()
        assert topics >= {"consent", "rsvp", "attendance", "nomination", "contribution", "acceptance"}
        assert [tuple(m) for m in mandates] == [("trésorerie", None)]
        # The draw they contributed to and were drawn in verifies from its record, in the
        # register and through the command line.
        record = _draw_record(after)
        assert "forgotten:1" in record["final_panel"] and record["sealed"].keys() == {"forgotten:1"}
        assert verify_record(record).ok, verify_record(record).problems
        path = tmp_path / "tirage-1.json"
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        p = argparse.ArgumentParser(prog="maillage")
        cli_draw.register(p.add_subparsers(dest="command", required=True))
        args = p.parse_args(["draw", "verify", str(path)])
        assert await args.func(args) == 0
        # A restart: the config still names them, and brings no one back.
        await h.restart()
        again = await _text_values(h)
        assert [(table, col) for table, col, text in again for s in SECRETS if s in text] == []
        (reply,) = await h.say("alice: !reseau qui trésorerie")
        assert NAME not in reply.text and "membre anonymisé·e #1" in reply.text
