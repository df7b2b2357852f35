"""Who may run what: every declared command by a member, an animateur, a stranger and another network's member."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.console import Sent
from bot.engine.core_commands import CORE_COMMANDS
from bot.kernel.commands import CommandSpec
from bot.kernel.i18n import Msg, render_plain
from bot.store import schema as t
from scenarios import registry
from tests.harness import BASE_CONFIG, Harness

START = datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
PREFIX = "!reseau"
NOT_MEMBER = render_plain(Msg("core.cmd.not_member"), "fr")
FAILED = render_plain(Msg("core.cmd.failed"), "fr")

OTHER_NETWORK = """
[network]
name = "Réseau voisin"
locale = "fr"
timezone = "Europe/Paris"

[[channels]]
id = "voisins"
platform = "console"
room = "voisins"

[[members]]
id = "zoe"
name = "Zoé"
accounts = ["console:zoe"]

[roles]
animateurs = ["zoe"]
"""


def not_animateur(spec: CommandSpec) -> str:
    return render_plain(Msg("core.cmd.not_animateur", command=spec.localized_name("fr")), "fr")


def sample(spec: CommandSpec) -> str:
    """A well-formed use of the command: its documented example, else its bare name (the
    commands without an example take no required argument)."""
    if spec.example_key:
        text = render_plain(Msg(spec.example_key), "fr")
        assert text.startswith(PREFIX + " "), text
        return text[len(PREFIX) + 1:]
    assert not any(a.required for a in spec.args), f"{spec.name}: give it an example"
    return spec.name


def specs(h: Harness) -> list[CommandSpec]:
    """The real grammar of the running engine: core commands and every kind's."""
    assert h.engine is not None
    return list(h.engine.grammar.specs)


def unsafe(sent: list[Sent]) -> list[str]:
    """Replies no user should ever see: a traceback, or the apology for a bug of ours."""
    return [s.text for s in sent if "Traceback" in s.text or FAILED in s.text]


async def type_in(h: Harness, line: str) -> list[Sent]:
    """One command a minute, as people type: the engine's flood guard is not what is tested."""
    timers = await h.advance(timedelta(minutes=1))
    assert unsafe(timers) == []
    return await h.say(line)


async def open_harness(config: str, url: str, tmp: Path, name: str) -> Harness:
    where = tmp / name
    where.mkdir()
    return await Harness(config, url, START, where).start()


@pytest.fixture
async def network_a(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await open_harness(BASE_CONFIG, sqlite_url, tmp_path, "a")
    yield h
    await h.close()


async def test_the_matrix_covers_every_declared_command(network_a: Harness) -> None:
    names = {s.name for s in specs(network_a)}
    # Core commands and at least one of each kind that declares commands.
    assert {"aide", "profil", "mes-donnees", "oublie-moi", "decision", "tirage", "election", "reunion"} <= names
    assert all(sample(s) for s in specs(network_a))


@pytest.mark.parametrize("where", ["", "[dm] "], ids=["channel", "dm"])
async def test_member_gets_a_polite_refusal_for_each_animateur_command(network_a: Harness, where: str) -> None:
    refusals = {NOT_MEMBER} | {not_animateur(s) for s in specs(network_a)}
    problems: list[str] = []
    for spec in specs(network_a):
        out = await type_in(network_a, f"{where}bob: {PREFIX} {sample(spec)}")
        texts = [s.text for s in out]
        problems += [f"{spec.name}: {u}" for u in unsafe(out)]
        if spec.animateur_only:
            # Privately, to bob only: a refusal is nobody else's business.
            if texts != [not_animateur(spec)] or out[0].recipient != "bob" or out[0].kind != "note":
                problems.append(f"{spec.name}: expected the private refusal, got {texts}")
        elif refusals & set(texts):
            problems.append(f"{spec.name}: a member was refused: {texts}")
    assert problems == []


async def test_animateur_is_never_refused(network_a: Harness) -> None:
    problems: list[str] = []
    for spec in specs(network_a):
        out = await type_in(network_a, f"alice: {PREFIX} {sample(spec)}")
        texts = [s.text for s in out]
        problems += [f"{spec.name}: {u}" for u in unsafe(out)]
        if not texts:
            problems.append(f"{spec.name}: no answer at all")
        if NOT_MEMBER in texts or not_animateur(spec) in texts:
            problems.append(f"{spec.name}: the animateur was refused: {texts}")
    assert problems == []


@pytest.mark.parametrize("where", ["", "[dm] "], ids=["channel", "dm"])
async def test_non_member_is_told_commands_are_for_members(network_a: Harness, where: str) -> None:
    # mallory is in no bound channel and not in the config.
    problems: list[str] = []
    for spec in specs(network_a):
        out = await type_in(network_a, f"{where}mallory: {PREFIX} {sample(spec)}")
        texts = [s.text for s in out]
        if texts != [NOT_MEMBER] or out[0].recipient != "mallory":
            problems.append(f"{spec.name}: {texts}")
    assert problems == []
    assert await rituals_of(network_a) == 0, "a stranger started nothing"


async def rituals_of(h: Harness) -> int:
    assert h.store is not None and h.engine is not None
    async with h.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.rituals).where(
            t.rituals.c.network_id == h.engine.network_id))).scalar_one())


async def test_another_networks_animateur_cannot_drive_this_network(sqlite_url: str, tmp_path: Path) -> None:
    # Two networks in one store: zoe is an animateur of B and known to A not at all.
    a = await open_harness(BASE_CONFIG, sqlite_url, tmp_path, "a")
    b = await open_harness(OTHER_NETWORK, sqlite_url, tmp_path, "b")
    try:
        assert a.engine is not None and b.engine is not None
        assert a.engine.network_id != b.engine.network_id
        problems: list[str] = []
        for spec in specs(a):
            # In A's channel: a stranger there, whatever her role elsewhere.
            out = await type_in(a, f"zoe: {PREFIX} {sample(spec)}")
            if [s.text for s in out] != [NOT_MEMBER]:
                problems.append(f"A {spec.name}: {[s.text for s in out]}")
            # Through A's console, from B's room: A has not bound it, so nothing happens.
            out = await type_in(a, f"[voisins] zoe: {PREFIX} {sample(spec)}")
            if out:
                problems.append(f"A via voisins {spec.name}: {[s.text for s in out]}")
            # And A's animateur is a stranger in B.
            out = await type_in(b, f"alice: {PREFIX} {sample(spec)}")
            if [s.text for s in out] != [NOT_MEMBER]:
                problems.append(f"B by alice {spec.name}: {[s.text for s in out]}")
        assert problems == []
        assert await rituals_of(a) == 0 and await rituals_of(b) == 0
        # The refusals come from the network boundary, not from zoe's role: in B she may.
        out = await type_in(b, f'zoe: {PREFIX} decision "Mutualiser la salle" jusqu\'à vendredi 18h')
        assert out and all(NOT_MEMBER not in s.text for s in out)
        assert await rituals_of(b) == 1 and await rituals_of(a) == 0
    finally:
        await b.close()
        await a.close()


# Anything a member may type after the prefix, declared commands first.
_words = st.sampled_from(["#1", "#99", "3", "0", "-1", "parmi", "#comite", "territoire=1", "quorum=50%",
                          "anonyme", "vendredi", "18h", "jusqu'à", "demain", "@alice", "@Bob", "«", "»", '"',
                          "langue", "en", "confirmer", "https://x.example", "🙂", "✅"]) | st.text(max_size=10)


_names = sorted({n for s in (*CORE_COMMANDS, *(c for _, c in registry().commands())) for n in (s.name, *s.aliases)})


@st.composite
def typed_commands(draw: st.DrawFn) -> tuple[str, str]:
    who = draw(st.sampled_from(["alice", "bob", "mallory"]))
    words = draw(st.lists(_words, max_size=6))
    text = " ".join([draw(st.sampled_from(_names)), *words]).replace("\n", " ").replace("\r", " ")
    return who, text


@settings(max_examples=max(1, int(60 * float(os.environ.get("MAILLAGE_FUZZ_SCALE", "1")))), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(typed_commands())
async def test_whatever_is_typed_nobody_sees_a_traceback(network_a: Harness, typed: tuple[str, str]) -> None:
    # One network for all examples: earlier commands leave rituals open for later ones.
    who, text = typed
    out = await type_in(network_a, f"{who}: {PREFIX} {text}")
    assert unsafe(out) == []
    assert out, "every command gets an answer"
