"""A date poll's table on Slack (FakeSlack): one row of buttons per slot (Oui, Si besoin, Non), kept by
the edits that count the answers, taken away by the close."""

from __future__ import annotations

from pathlib import Path

from bot.adapter import Outgoing
from bot.kernel.model import Edit, Post, Started
from bot.kernel.scenario import Capabilities
from scenarios.datepoll import KIND
from tests.integration.test_slack_adapter_kit import ALICE as SLACK_ALICE
from tests.integration.test_slack_adapter_kit import BOB as SLACK_BOB
from tests.integration.test_slack_adapter_kit import GENERAL, rig
from tests.unit.test_datepoll import SLOTS, START, parsed
from tests.unit.test_meeting_support import ALICE, Sim, context


def rows(blocks: list[dict[str, object]] | None) -> list[list[tuple[str, str]]]:
    return [[(e["value"], e["text"]["text"]) for e in b["elements"]]  # type: ignore[index, attr-defined]
            for b in blocks or [] if b["type"] == "actions"]


async def test_the_table_has_one_row_of_three_buttons_per_slot(tmp_path: Path) -> None:
    sim = Sim(KIND, context({}, capabilities=Capabilities(buttons=True)), START)
    (table,) = [a for a in sim.send(Started(by=ALICE, channel="general", params=parsed(SLOTS["fr"])))
                if isinstance(a, Post)]
    accounts = {"alice": SLACK_ALICE, "bob": SLACK_BOB}
    async with rig(tmp_path) as r:
        delivery = await r.adapter.perform(Outgoing(action=table, key="k-table", channel=GENERAL, accounts=accounts))
        ts = delivery.message_id or ""
        msg = r.fake.message(GENERAL, ts)
        assert msg is not None
        expected = [[(f"{n}.yes", f"✅ {n} · Oui"), (f"{n}.maybe", f"🤔 {n} · Si besoin"), (f"{n}.no", f"❌ {n} · Non")]
                    for n in (1, 2, 3)]
        assert rows(msg.blocks) == expected
        # An answer's edit keeps the rows; the close takes them away.
        edit = Edit(channel="general", ref=table.ref, text=table.text)  # type: ignore[arg-type]
        await r.adapter.perform(Outgoing(action=edit, key="k-e1", channel=GENERAL, message_id=ts, accounts=accounts))
        msg = r.fake.message(GENERAL, ts)
        assert msg is not None and rows(msg.blocks) == expected
        closed = Edit(channel="general", ref=table.ref, text=table.text, choices=[])  # type: ignore[arg-type]
        await r.adapter.perform(Outgoing(action=closed, key="k-e2", channel=GENERAL, message_id=ts, accounts=accounts))
        msg = r.fake.message(GENERAL, ts)
        assert msg is not None and rows(msg.blocks) == []
        assert r.fake.errors == []
