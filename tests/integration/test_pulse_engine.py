"""The satisfaction pulse through the real engine and store (SQLite and PostgreSQL): the question by
direct message, answers typed in a DM, a change, one reminder, the close, the next digest; then a
scan of every row of every table (from the schema's metadata) finds no row that ties a member to a
score or a comment."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, select

from bot.store import schema
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 1, 1, 9, 0, tzinfo=PARIS)
OPENS = datetime(2027, 1, 4, 10, 0, tzinfo=PARIS)
REMINDS = datetime(2027, 1, 7, 10, 0, tzinfo=PARIS)
CLOSES = datetime(2027, 1, 10, 10, 0, tzinfo=PARIS)
DIGEST = datetime(2027, 1, 15, 16, 0, tzinfo=PARIS)
EXTRA = [("dina", "Dina", "Les Ateliers", "Est"), ("emma", "Emma", "Le Jardin", "Nord"),
         ("farid", "Farid", "Les Ateliers", "Sud"), ("gaby", "Gaby", "La Ruche", "Est")]
CONFIG = BASE_CONFIG + "".join(
    f'\n[[members]]\nid = "{k}"\nname = "{n}"\naccounts = ["console:{k}"]\norganisation = "{o}"\nterritoire = "{t}"\n'
    for k, n, o, t in EXTRA) + """
[[rituals]]
id = "meteo"
kind = "pulse"
channels = ["general"]

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"
"""
PEOPLE = {"alice": "Alice", "bob": "Bob", "chloe": "Chloé", **{k: n for k, n, _, _ in EXTRA}}
COMMENTS = {"alice": "Zébulon aime le café-réseau", "dina": "Trop de réunions Quokka", "emma": "Bravo Wapiti"}


async def _rows(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table, each value as stored (text and JSON as text)."""
    assert h.store is not None
    out: list[tuple[str, dict[str, Any]]] = []
    async with h.store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings().all():
                values = {c.name: (json.dumps(row[c.name], ensure_ascii=False)
                                   if isinstance(c.type, JSON) and row[c.name] is not None else row[c.name])
                          for c in table.columns}
                out.append((table.name, values))
    return out


def _names_a_member(table: str, row: dict[str, Any], persons: set[int]) -> bool:
    """Whether a row says who someone is: a person's id in a column that refers to persons,
    or a member's key, account or name in a text or JSON value."""
    for col, v in row.items():
        if col in ("person_id", "subject_id") and v is not None:
            return True
        if table == "persons" and col == "id" and v in persons:
            return True
        if isinstance(v, str) and any(f'"{k}"' in v or f"console:{k}" in v or v == k or name in v
                                      for k, name in PEOPLE.items()):
            return True
    return False


async def test_a_month_of_the_pulse_through_the_engine_leaves_totals_and_no_link(store_url: str,
                                                                                 tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, START, tmp_path) as h:
        for who in PEOPLE:
            await h.say(f"+{who}")
        asked = await h.advance_to(OPENS)
        assert sorted(s.recipient or "" for s in asked if s.kind == "dm") == sorted(PEOPLE)
        assert all(s.kind == "dm" for s in asked)  # nothing in public
        assert spaces(asked[0].text).startswith("🌦 Météo du réseau — janvier 2027\n")
        for who, typed in (("alice", f"meteo 2 « {COMMENTS['alice']} »"), ("bob", "meteo 4"), ("chloe", "meteo 4"),
                           ("dina", f"meteo 3 « {COMMENTS['dina']} »"), ("emma", f"pulse 5 \"{COMMENTS['emma']}\"")):
            (thanks,) = await h.say(f"[dm] {who}: !reseau {typed}")
            assert thanks.recipient == who and spaces(thanks.text) == "🌦 Merci, c'est noté."
        (changed,) = await h.say("[dm] alice: !reseau meteo 5")  # the comment stays
        assert spaces(changed.text) == "🌦 Merci, c'est noté."
        await h.restart()
        reminded = await h.advance_to(REMINDS)
        assert sorted(s.recipient or "" for s in reminded) == ["farid", "gaby"]
        await h.say("[dm] farid: !reseau meteo 1")
        assert await h.advance_to(CLOSES) == []  # the close says nothing, to anyone
        digest = [s for s in await h.advance_to(DIGEST) if s.kind != "dm"]
        assert digest and all("🌦 Météo du réseau de janvier 2027 : 3,7 sur 5 (6 réponses sur 7)" in spaces(s.text)
                              for s in digest)
        said = spaces(digest[0].text)
        assert all(f"« {c} »" in said for c in COMMENTS.values())
        assert "Par organisation" not in said  # groups of 1 and 2 answers: not shown
        assert digest[0].image_alt and "Météo du réseau, note moyenne" in digest[0].image_alt

        rows = await _rows(h)
        pulse_ids = {r["id"] for t, r in rows if t == "rituals" and r["kind"] == "pulse"}
        persons = {r["id"] for t, r in rows if t == "persons"}
        # The answers are gone, superseded ones too.
        assert [r for t, r in rows if t == "answers" and r["ritual_id"] in pulse_ids] == []
        for table, row in rows:
            texts = " ".join(v for v in row.values() if isinstance(v, str))
            if _names_a_member(table, row, persons):
                # A row that says who someone is says nothing they answered: no comment, no
                # command they typed, and the pulse's messages to them are the question, the
                # thanks and the reminder, none with a score.
                assert not any(c in texts for c in COMMENTS.values()), (table, row)
                assert "meteo " not in texts and "pulse " not in texts, (table, row)
                if table == "outbox" and row["ritual_id"] in pulse_ids:
                    text = json.loads(row["action"])["text"]
                    assert text["key"] in ("pulse.ask.one", "pulse.answer.noted", "pulse.remind.body"), row
                    assert set(text["params"]) <= {"month", "closes", "count"}, row
                    assert text["params"].get("count", 1) == 1
            if any(c in texts for c in COMMENTS.values()):
                # Where the comments are (the pulse's record and the digest posted in the channel):
                # totals only, no member.
                assert table in ("log", "outbox"), table
                assert not _names_a_member(table, row, persons), (table, row)
        # The scan reads what it must: the pulse's messages to each member are rows that name them.
        checked = [r for t, r in rows if t == "outbox" and r["ritual_id"] in pulse_ids and _names_a_member(t, r, persons)]
        assert len(checked) == len(PEOPLE) + 5 + 1 + 2 + 1  # questions, thanks (and the change), reminders, Farid's
        (record,) = [r for t, r in rows if t == "log" and r["kind"] == "pulse"]
        summary = json.loads(record["summary"])
        assert summary["counts"] == [{"1": 1, "2": 0, "3": 1, "4": 2, "5": 2}] and summary["tenths"] == [37]
        state = next(r["state"] for t, r in rows if t == "rituals" and r["id"] in pulse_ids)
        assert not any(k in state for k in PEOPLE)
