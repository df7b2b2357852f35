"""The café-réseau through the real engine and store: opt-ins kept across a restart, the scheduled
month pairs across organisations, the introductions go by direct message, the record is kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 1, 1, 9, 0, tzinfo=PARIS)

CONFIG = BASE_CONFIG + """
[[members]]
id = "dina"
name = "Dina"
accounts = ["console:dina"]
organisation = "Les Ateliers"
territoire = "Est"

[[rituals]]
id = "cafe"
kind = "cafe"
channels = ["general"]
rrule = "FREQ=MONTHLY;BYDAY=1MO"
time = "10:00"
"""


async def test_a_scheduled_month_pairs_the_opted_in_members_and_sends_the_introductions(
        sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, START, tmp_path) as h:
        answer = await h.say("alice: !reseau cafe oui")
        assert [s.recipient for s in answer] == ["alice"] and "C'est noté" in spaces(answer[0].text)
        for who in ("bob", "chloe", "dina"):
            await h.say(f"[dm] {who}: !reseau cafe oui")
        await h.say("[dm] chloe: !reseau cafe non")
        # The opt-ins are rows in the store: a restart forgets nothing.
        await h.restart()
        before = await h.advance_to(datetime(2027, 1, 4, 9, 59, tzinfo=PARIS))
        assert before == []
        month = await h.advance_to(datetime(2027, 1, 4, 10, 1, tzinfo=PARIS))
        assert all(s.kind == "dm" for s in month), month  # nothing in public
        told = {s.recipient: spaces(s.text) for s in month}
        assert set(told) == {"alice", "bob", "dina"}  # chloe said no
        texts = list(told.values())
        # Alice (La Ruche) meets Bob (Le Jardin) or Dina (Les Ateliers), never Chloé; odd: a trio.
        assert all(t.startswith("☕ Café-réseau de janvier 2027\nCe mois-ci, vous êtes trois") for t in texts)
        assert "• Bob (Le Jardin, Sud)" in told["alice"] and "• Dina (Les Ateliers, Est)" in told["alice"]
        assert "Chloé" not in "".join(texts)
        # The month's count, for the digest's « 1 café ce mois-ci ».
        assert h.store is not None
        async with h.store.read() as conn:
            rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "cafe"))).all()
        assert [(r.summary["cafes"], r.summary["trios"], r.summary["round"]) for r in rows] == [(1, 1, "2027-01-04")]


async def test_someone_who_joins_a_channel_is_a_newcomer_and_meets_a_member_of_long_standing(
        sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, START, tmp_path) as h:
        await h.say("+emma")  # joins the general channel: the ritual notes when
        for who in ("alice", "bob", "dina", "emma"):
            await h.say(f"[dm] {who}: !reseau cafe oui")
        month = await h.advance_to(datetime(2027, 1, 4, 10, 1, tzinfo=PARIS))
        told = {s.recipient: spaces(s.text) for s in month if s.kind == "dm"}
        assert set(told) == {"alice", "bob", "dina", "emma"}
        assert all(t.count("• ") == 1 for t in told.values())  # two pairs
        assert "(organisation non renseignée)" in "".join(told.values())  # Emma, who gave none yet
        assert h.store is not None
        async with h.store.read() as conn:
            (state,) = (await conn.execute(select(t.rituals.c.state).where(t.rituals.c.kind == "cafe"))).scalars()
        assert [a["member"] for a in state["arrived"]] == ["console:emma"]
        assert len(state["met"]) == 2 and state["rounds"] == 1
