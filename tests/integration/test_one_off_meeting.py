"""A one-off meeting works in any network, with no meeting series configured."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.store import schema as t
from tests.harness import BASE_CONFIG, Harness

PARIS = ZoneInfo("Europe/Paris")


async def test_reunion_without_a_configured_series(store_url: str, tmp_path: Path) -> None:
    config = BASE_CONFIG + """
[[channels]]
id = "comite"
platform = "console"
room = "comite"
name = "Comité"
"""
    async with Harness(config, store_url, datetime(2026, 12, 2, 9, 0, tzinfo=PARIS), tmp_path) as h:
        out = await h.say("[comite] alice: !reseau reunion « Comité » le 14 décembre à 18h à la Maison des associations")
        (announce,) = [s for s in out if s.kind == "post"]
        assert announce.where.lstrip("#") == "comite" and "Comité" in announce.text
        assert "14 décembre" in announce.text and "Maison des associations" in announce.text
        agenda = await h.say("[comite] bob: !reseau ordre-du-jour « Le budget »")
        assert not any("Aucun processus" in s.text for s in agenda), [s.text for s in agenda]
        reminders = await h.advance(timedelta(days=12, hours=9))
        # The reminders edit the announcement: no new post in the channel.
        assert not [s for s in reminders if s.kind == "post"], [s.text for s in reminders]
        assert any(s.kind == "edit" and "demain" in s.text and "Le budget" in s.text for s in reminders), \
            [(s.kind, s.text) for s in reminders]
        # A restart does not create a second implicit calendar.
        await h.restart()
        assert h.store is not None
        async with h.store.read() as conn:
            keys = [r[0] for r in (await conn.execute(select(t.rituals.c.key).where(
                t.rituals.c.kind == "meeting"))).all()]
        assert keys == ["auto:meeting"]
