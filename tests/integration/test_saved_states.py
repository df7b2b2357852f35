"""A ritual's state kept in memory after this process saved it: used only while the store holds
exactly that state, whoever else writes the round."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.adapters import platform_configs
from bot.config import validate
from bot.engine.states import SavedStates
from bot.kernel.clock import SystemClock
from bot.kernel.model import InboundCommand, InboundReaction
from scenarios import registry
from scenarios.consent.state import RoundState
from tests.shared_engines import processes

MEMBERS = 12
KEYS = {"✅": "consent", "⚠️": "concern", "🙊": "stand_aside"}


def _config() -> str:
    out = ['[network]\nname = "Partagé"\n', '[[channels]]\nid = "general"\nplatform = "console"\nroom = "general"\n',
           '[roles]\nanimateurs = ["m0"]\n']
    for i in range(MEMBERS):
        out.append(f'[[members]]\nid = "m{i}"\naccounts = ["console:m{i}"]\n')
    return "\n".join(out)


async def test_two_engines_answering_one_round_in_turns_count_every_answer_once(store_url: str,
                                                                                tmp_path: Path) -> None:
    config = validate(tomllib.loads(_config()), registry(), tmp_path / "c.toml", platform_configs())
    async with processes(store_url, config, SystemClock(), MEMBERS) as both:
        engines, consoles, stores = both.engines, both.consoles, both.stores
        await engines[0].seed_members()  # everyone is in the channel: in the round's circle
        deadline = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT18:00")
        await engines[0].submit(InboundCommand(platform="console", event_id="start", channel="general", sender="m0",
                                               text=f'decision "Partage" jusqu\'à {deadline}'))
        await engines[0].drain_outbox()
        proposal = next(s.message_id for s in consoles[0].sent if s.choices)
        # Each member answers, then changes their mind, through the other engine each time:
        # each engine's kept state is stale after the other one's commit.
        latest: dict[str, str] = {}
        for i in range(4 * MEMBERS):
            member, key = f"m{i % MEMBERS}", list(KEYS)[(i // MEMBERS + i) % len(KEYS)]
            await engines[i % 2].submit(InboundReaction(platform="console", event_id=f"r{i}", channel="general",
                                                        sender=member, target=proposal, key=key,
                                                        reaction_id=f"re{i}"))
            latest[member] = KEYS[key]
        async with stores[0].unit() as unit:
            row = next(r for r in await unit.rituals.open(engines[0].network_id) if r.kind == "consent")
        expected = Counter(latest.values())
        assert row.state["counts"] == {c: expected.get(c, 0) for c in ("consent", "concern", "objection",
                                                                         "stand_aside")}
        # What the last engine kept is what the store holds, validated again: equal.
        last = engines[(4 * MEMBERS - 1) % 2]
        kept = last.rituals.saved.take(row.id, row.version, row.state)
        assert kept is not None
        assert kept == RoundState.model_validate(row.state)
        # The other engine's is stale: it reads the store again.
        assert engines[(4 * MEMBERS) % 2].rituals.saved.take(row.id, row.version, row.state) is None


def test_a_kept_state_is_taken_once_and_only_for_exactly_the_row_saved() -> None:
    saved = SavedStates(size=2)
    state = RoundState(title="Budget", counts={"consent": 2, "concern": 0, "objection": 0, "stand_aside": 0})
    dumped = state.model_dump(mode="json")
    saved.put(7, 3, dumped, state)
    # Same version, other content (a commit that failed, then another process's save).
    other = {**dumped, "counts": {**dumped["counts"], "consent": 3}}
    assert saved.take(7, 3, other) is None
    assert saved.take(7, 3, dumped) is None  # the entry went with the first look
    saved.put(7, 3, dumped, state)
    assert saved.take(7, 4, dumped) is None  # another version
    saved.put(7, 3, dumped, state)
    assert saved.take(7, 3, state.model_dump(mode="json")) is state
    # Bounded: the least recently saved goes first.
    for rid in (1, 2, 3):
        saved.put(rid, 1, dumped, state)
    assert saved.take(1, 1, dumped) is None
    assert saved.take(3, 1, dumped) is state
