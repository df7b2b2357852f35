"""A draw through the real engine, store and console adapter, on a fake clock."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.cli import draw as cli_draw
from bot.store import schema as t
from scenarios.sortition.record import verify_record
from scenarios.sortition.seed import commitment_of
from tests.harness import Harness
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)

# Nine members in three territories and six organisations; Alice animates.
PEOPLE = [
    ("alice", "La Ruche", "Nord"), ("bob", "Le Jardin", "Sud"), ("chloe", "La Ruche", "Sud"),
    ("dina", "Le Four", "Est"), ("eloi", "Le Four", "Est"), ("fanny", "La Grange", "Nord"),
    ("gael", "Le Jardin", "Sud"), ("hugo", "L'Atelier", "Est"), ("ines", "La Forge", "Nord"),
]
CONFIG = """
[network]
name = "Réseau test"
locale = "fr"
timezone = "Europe/Paris"

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[roles]
animateurs = ["alice"]

[defaults.draw]
min_contributors = 2
commit_hours = 24
reveal_hours = 12
accept_hours = 48
rotation = 1
""" + "".join(
    f'\n[[members]]\nid = "{m}"\nname = "{m.capitalize()}"\naccounts = ["console:{m}"]\n'
    f'organisation = "{org}"\nterritoire = "{terr}"\n'
    for m, org, terr in PEOPLE
)


async def _draw_records(h: Harness) -> list[dict[str, Any]]:
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(t.log.c.summary).where(t.log.c.kind == "draw")
                                   .order_by(t.log.c.id))).all()
    return [dict(r.summary) for r in rows]


async def test_a_draw_from_command_to_complete_panel(store_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, store_url, MONDAY, tmp_path) as h:
        out = await h.say('alice: !reseau tirage 3 territoire=1 structure<=1 role "délégué"')
        (announce,) = [s for s in out if s.kind == "post" and s.choices]
        assert "délégué" in announce.text and "chaque territoire : exactement 1" in spaces(announce.text)
        assert "contribute" in announce.choices

        # Bob contributes through the button and a private phrase; Chloé with her own commitment.
        out = await h.say(f"bob: ?{announce.message_id} contribute")
        assert [s.kind for s in out] == ["dm"]
        out = await h.say("[dm] bob: les poules ont des dents")
        assert any(commitment_of("les poules ont des dents") in s.text for s in out if s.kind == "post")
        out = await h.say(f"chloe: !reseau tirage graine {commitment_of('tournesol')}")
        assert any("Chloe s'est engagé·e" in s.text for s in out)

        # Commitments close at their deadline; Chloé reveals; the draw happens.
        out = await h.advance(timedelta(hours=24, minutes=1))
        assert any("Engagements clos" in s.text and "Chloe" in s.text for s in out)
        out = await h.say("chloe: !reseau tirage révéler tournesol")
        # The result edits the announcement (no post of its own); the seed is in its thread.
        result = next(s for s in out if s.kind == "edit" and s.target == announce.message_id and "tiré·es au sort" in s.text)
        assert not any(s.kind == "post" and s.target is None for s in out)
        seed = next(s for s in out if s.kind == "post" and s.target is not None and "Le hasard" in s.text)
        asks = [s for s in out if s.kind == "dm" and s.choices]
        assert len(asks) == 3 and all(set(s.choices) == {"accept", "decline"} for s in asks)

        # One declines: the next on the reserve list who keeps the quotas is asked.
        first, *others = asks
        out = await h.say(f"[dm] {first.recipient}: ?{first.message_id} decline")
        new_asks = [s for s in out if s.kind == "dm" and s.choices]
        assert len(new_asks) == 1 and new_asks[0].recipient != first.recipient
        for s in [*others, *new_asks]:
            out = await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
        assert any("au complet" in s.text for s in out)
        assert "Le hasard" not in result.text and "Comment vérifier ce résultat" in seed.text

        records = await _draw_records(h)
        assert [r["status"] for r in records] == ["drawn", "done"]
        final = records[-1]
        verdict = verify_record(final["record"])
        assert verdict.ok, verdict.problems
        assert final["final_panel"] == verdict.record.final_panel if verdict.record else False
        assert len(final["record"]["replacements"]) == 1

    # Anyone with the config can export the record from the store and replay it.
    config = tmp_path / "reseau.toml"
    config.write_text(CONFIG + f'\n[store]\nurl = "{store_url}"\n', "utf-8")
    record_file = tmp_path / "tirage.json"
    parser = argparse.ArgumentParser()
    cli_draw.register(parser.add_subparsers())
    for argv in (["draw", "export", "-c", str(config), "1", "--out", str(record_file)],
                 ["draw", "verify", str(record_file)]):
        args = parser.parse_args(argv)
        assert await args.func(args) == 0
    assert json.loads(record_file.read_text("utf-8"))["final_panel"] == final["final_panel"]


async def test_rotation_leaves_out_the_last_panel_and_the_log_feeds_it(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, MONDAY, tmp_path) as h:
        panels: list[list[str]] = []
        for round_ in range(3):
            out = await h.say('alice: !reseau tirage 3 territoire=1 role "délégué"')
            assert any(s.choices for s in out), [s.text for s in out]
            for who, secret in (("bob", f"b{round_}"), ("chloe", f"c{round_}")):
                await h.say(f"{who}: !reseau tirage graine {commitment_of(secret)}")
            await h.say("alice: !reseau tirage clore")
            await h.say(f"bob: !reseau tirage révéler b{round_}")
            out = await h.say(f"chloe: !reseau tirage révéler c{round_}")
            asks = [s for s in out if s.kind == "dm" and s.choices]
            for s in asks:
                await h.say(f"[dm] {s.recipient}: ?{s.message_id} accept")
            records = await _draw_records(h)
            panel = records[-1]["final_panel"]
            assert records[-1]["status"] == "done" and len(panel) == 3
            if panels:
                assert not set(panel) & set(panels[-1]), "rotation=1: nobody from the previous panel"
                assert records[-1]["record"]["excluded"]
            panels.append(panel)
