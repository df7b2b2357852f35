"""The fuzz campaign: thousands of generated commands through the real engine, store and console.

Not the parser alone: each line goes through the console adapter, the engine's transaction,
the scenarios and the outbox, from several members, on a fake clock whose timers fire as the
campaign goes. The commands are nasty on purpose: Unicode digits (², ٣, ６, 𝟗), numbers of
thousands of digits, strings past every limit, quotes of every kind left open, dates real and
impossible, every subcommand of the grammar with random arguments. What must hold:
- no exception escapes the engine, and every event is acknowledged (recorded once);
- each command gets exactly one answer: a reply, a note, or the ritual's own post(s) — from
  one source, never nothing, never an error beside a success;
- no dead letter (each one is a parsing bug: the class of input it shows is fixed, not the
  sample), no scenario failure logged, no traceback shown to anyone.
`MAILLAGE_FUZZ_SEED` replays one campaign; `MAILLAGE_FUZZ_SCALE` multiplies its length.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.engine.core_commands import CORE_COMMANDS
from bot.kernel.inputs import COMMAND, SECRET, TEXT, TITLE
from bot.store import schema as t
from scenarios import registry
from tests.fixtures.postgres import TempPostgres
from tests.harness import Harness

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
SCALE = float(os.environ.get("MAILLAGE_FUZZ_SCALE", "1"))
SEED = int(os.environ.get("MAILLAGE_FUZZ_SEED", "20260302"))

CONFIG = """
[network]
name = "Réseau fuzz"
locale = "fr"
timezone = "Europe/Paris"
charter = "Nous coopérons pour le territoire."

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[[channels]]
id = "comite"
platform = "console"
room = "comite"
name = "Comité"

[[members]]
id = "alice"
name = "Alice"
accounts = ["console:alice"]
organisation = "La Ruche"
territoire = "Nord"

[[members]]
id = "bob"
name = "Bob"
accounts = ["console:bob"]
organisation = "Le Jardin"
territoire = "Sud"

[[members]]
id = "chloe"
name = "Chloé"
accounts = ["console:chloe"]
organisation = "La Ruche"
territoire = "Sud"

[[members]]
id = "dina"
name = "Dina"
accounts = ["console:dina"]
organisation = "L'Atelier"
territoire = "Nord"

[[members]]
id = "emile"
name = "Émile"
accounts = ["console:emile"]
organisation = "Le Jardin"
territoire = "Est"

[roles]
animateurs = ["alice", "dina"]

[groups]
comite = ["alice", "bob", "chloe"]

[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité"
rrule = "FREQ=WEEKLY;BYDAY=TU"
time = "18:00"

[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
rrule = "FREQ=WEEKLY;BYDAY=FR"
time = "16:00"
"""

MEMBERS = ["alice", "bob", "chloe", "dina", "emile"]
CHANNELS = ["general", "comite"]

SPECS = [*CORE_COMMANDS, *(spec for _, spec in registry().commands())]
NAMES = sorted({name for spec in SPECS for name in (spec.name, *spec.aliases)})

# --- what members type ------------------------------------------------------------------

UNICODE_DIGITS = ["²", "³", "¹", "٣", "١٢", "６", "１２", "𝟗", "𝟏𝟐", "৩", "५", "๓", "½", "Ⅻ", "五", "⑦", "⁰"]
ODD_NUMBERS = ["0", "-1", "+3", "−2", "00007", "1e9", "1E3", "1_000", "3.5", "3,5", "NaN", "inf", "-inf", "0x1F",
               "99999999999999999999999", "9" * 40, "1" * 4400, "1" * 5000, "١" * 300, "4294967296",
               "9223372036854775808", "-9223372036854775809"]
QUOTES = ["«", "»", "“", "”", "„", '"', "« non fermé", "“ouvert", "„bas", '"droit', "« »", '""', "«»", "'",
          "« imbriqué « deux » »", "“ mêlé »"]
DATES = ["vendredi 18h", "demain midi", "dans 3 jours", "mardi prochain", "2026-12-04T18:00", "2026-13-45",
         "dans 99999999999 jours", "dans ³ jours", "dans ٣ jours", "à ١٨h", "à ６h", "dans 9999 semaines",
         "9999-12-31T23:59-14:00", "0001-01-01", "12 décembre 9999 minuit", "31 février à 18h", "hier",
         "le 12 décembre à 18h à la Maison des associations", "25:61", "18h99", "dans -3 jours",
         "dans 1e9 minutes", "24h", "minuit", "dans 2,5 jours", "lundi 8 h", "12/12/2026", "99/99/9999",
         "le 1er avril à 10h https://visio.example.org/x", "ce soir", "10000-01-01", "dans " + "9" * 400 + " jours"]
OPTIONS = ["quorum=50%", "quorum=", "quorum=150%", "quorum=abc", "quorum=٥٠%", "quorum=1/0", "quorum=1e400",
           "quorum=nan", "quorum=0", "quorum=2/3", "quorum=0,5", "quorum=" + "9" * 5000, "anonyme", "nominatif",
           "groupe=comite", "groupe=inconnu", "salons=general,comite", "salons=,,,", "salons=#nulle-part",
           "questions=demain", "questions=dans ² jours", "changement=1j", "changement=1e400j",
           "changement=99999999999999999999j", "changement=²j", "changement=0j", "changement=9999j",
           "rotation=2", "rotation=²", "rotation=99999999999999999999", "rotation=-1", "rotation=", "équilibre",
           "territoire=1", "territoire=٣", "structure<=1", "genre>=1", "college=1-2", "territoire:Nord=2",
           "territoire=99999999999", "territoire=1-99999999999999", "territoire=3-1", "=1", "territoire=",
           "couleur=bleu", "k=", "=", "<=", ">=2", "x" * 300 + "=1", "territoire:" + "y" * 300 + "=1"]
WORDS = ["parmi", "from", "#general", "#comite", "comite", "general", "role", "pour", "délégué", "jusqu'à",
         "until", "@alice", "@bob", "@Chloé", "@dina", "@emile", "@Amina", "@", "@room", "<@U123>",
         "@bob:example.org", "parce", "que", "because", "confirmer", "confirm", "langue", "fr", "en", "de",
         "🙂", "✅", "✋", "é", "\u00a0", "\u200b", "\u202e", "\x00", "\\", "``", "*gras*", "<b>", "&amp;",
         "https://pad.example.org/x", "http://", "je", "décline", "garder", "keep", "suivant", "aide", "help",
         "decision", "tirage", "%", "#", "##", "#-1", "#0", "#1", "#2", "#3"]
SHA = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfb3e4d0d6ff2e"


def long_text(rng: random.Random) -> str:
    """Text around and past the stated limits, of letters, spaces and odd characters."""
    size = rng.choice([TITLE.chars, TITLE.chars + 1, TEXT.chars, TEXT.chars + 1, SECRET.chars + 1,
                       COMMAND.chars - 20, COMMAND.chars + 1, rng.randint(1, 6000)])
    alphabet = rng.choice(["ab cd ", "é«»“ ", "²٣６ 𝟗", "x", "0123456789", " "])
    chunk = "".join(rng.choices(alphabet, k=97))
    return (chunk * (size // len(chunk) + 1))[:size]


def number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return str(rng.randint(0, 6))
    if roll < 0.7:
        return rng.choice(UNICODE_DIGITS)
    return rng.choice(ODD_NUMBERS)


def word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return number(rng)
    if roll < 0.3:
        return rng.choice(QUOTES)
    if roll < 0.45:
        return rng.choice(DATES)
    if roll < 0.6:
        return rng.choice(OPTIONS)
    if roll < 0.63:
        return long_text(rng)
    if roll < 0.66:
        return "#" + number(rng)
    if roll < 0.68:
        return SHA
    return rng.choice(WORDS)


def quoted(rng: random.Random, text: str) -> str:
    left, right = rng.choice([("«\u00a0", "\u00a0»"), ("“", "”"), ('"', '"'), ("„", "“"), ("« ", ""), ('"', "")])
    return left + text + right


def typed_name(rng: random.Random, name: str) -> str:
    return rng.choice([name, name.upper(), name.title(), name.replace("e", "é"), name.replace("é", "e")])


# Commands as an animateur would type them, to reach the rituals' later steps: a share of the
# campaign opens rounds, draws and elections that the random commands then poke at.
def plausible(rng: random.Random) -> str:
    title = rng.choice(["Charte v2", "Budget 2027", "Local ² étage", "x" * rng.choice([5, 200, 201])])
    return rng.choice([
        f"decision {quoted(rng, title)} {rng.choice(['', 'jusqu’à ' + rng.choice(DATES)])} "
        f"{rng.choice(['', rng.choice(OPTIONS)])}",
        f"tirage {rng.choice(['2', '1', '3', number(rng)])} parmi {rng.choice(['#general', 'comite', '#comite'])} "
        f"{rng.choice(['', 'territoire=1', 'structure<=1', rng.choice(OPTIONS)])} "
        f"{rng.choice(['', 'role ' + quoted(rng, 'délégué'), 'rotation=' + number(rng)])}",
        f"election {quoted(rng, rng.choice(['délégué', 'trésorière', title]))} "
        f"{rng.choice(['', 'jusqu’à ' + rng.choice(DATES), rng.choice(OPTIONS)])}",
        f"election nommer @{rng.choice(MEMBERS)} parce que {rng.choice(['elle écoute', long_text(rng)])}",
        f"election proposer @{rng.choice(MEMBERS)} {rng.choice(['', rng.choice(DATES)])}",
        "election suivant", "tirage clore", "tirage probabilité",
        f"tirage graine {rng.choice([SHA, SHA.upper(), 'abc', long_text(rng)])}",
        f"tirage révéler {rng.choice(['secret', 'exemple', long_text(rng)])}",
        f"objection {rng.choice(['trop cher', long_text(rng), ''])}",
        f"amender {quoted(rng, title)} {rng.choice(['', 'jusqu’à ' + rng.choice(DATES)])}",
        f"reunion {quoted(rng, title)} {rng.choice(DATES)}",
        f"ordre-du-jour {rng.choice(['Budget', long_text(rng), quoted(rng, 'point ' + number(rng))])}",
        f"reunion annuler {rng.choice(['', 'grève', long_text(rng)])}",
        f"reunion cr {rng.choice(['https://pad.example.org/cr', 'pas-un-lien', long_text(rng)])}",
        f"decisions {rng.choice(['', number(rng), '#' + number(rng), 'beaucoup'])}",
        f"retirer {rng.choice(['', '#' + number(rng)])}",
        f"profil {rng.choice(['', 'langue fr', 'langue en', 'langue ' + number(rng), long_text(rng)])}",
    ])


def random_command(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return plausible(rng)
    parts = [typed_name(rng, rng.choice(NAMES))]
    if rng.random() < 0.3:
        parts.append("#" + number(rng))
    parts += [word(rng) for _ in range(rng.randint(0, 7))]
    sep = rng.choice([" ", "  ", "\t", "\u00a0", " \u3000 "])
    return sep.join(parts)


@dataclass
class Campaign:
    commands: int = 0
    other_events: int = 0
    escaped: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    no_answer: list[str] = field(default_factory=list)
    mixed_answers: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)

    def problems(self) -> dict[str, list[str]]:
        return {name: values[:10] for name, values in (
            ("escaped", self.escaped), ("unacknowledged", self.unacknowledged), ("no_answer", self.no_answer),
            ("mixed_answers", self.mixed_answers), ("tracebacks", self.tracebacks)) if values}


_SOURCE = re.compile(r"^mlg:\d+:(q|err|refused|form|fail|r\d+v\d+):")


def source_of(key: str) -> str:
    """Which handling path wrote an outbox entry: the engine's answer to a query (q), its
    refusal of a command (err), a ritual's refusal of its launch (refused), a ritual's actions
    (r<id>v<version>), a form, a failure."""
    m = _SOURCE.match(key)
    return m.group(1) if m else key


def shown(line: str) -> str:
    return line if len(line) < 160 else line[:150] + f"… ({len(line)} chars)"


@dataclass
class Fed:
    line: str
    outbox: list[tuple[int, str]]
    """The outbox entries its transaction wrote: (id, idempotency key)."""


class Feeder:
    """Feeds lines one by one (each its own transaction) and reads back, after each, the outbox
    entries that its transaction wrote: that is the command's answer, committed with it. The
    outbox is sent in batches, as the engine's sender does, and each answer checked sent."""

    def __init__(self, h: Harness, c: Campaign) -> None:
        self.h, self.c = h, c
        self.last_id = 0
        self.batch: list[Fed] = []

    async def feed(self, line: str, command: bool) -> None:
        assert self.h.engine is not None and self.h.store is not None
        try:
            fresh = await self.h.console.feed(line)
        except Exception as exc:  # the campaign's point: nothing may escape the engine
            self.c.escaped.append(f"{shown(line)} → {type(exc).__name__}: {str(exc)[:200]}")
            return
        if not fresh:
            self.c.unacknowledged.append(shown(line))
        async with self.h.store.read() as conn:
            rows = (await conn.execute(select(t.outbox.c.id, t.outbox.c.idem_key)
                                       .where(t.outbox.c.id > self.last_id).order_by(t.outbox.c.id))).all()
        if rows:
            self.last_id = rows[-1].id
        if command:
            self.batch.append(Fed(line, [(r.id, r.idem_key) for r in rows]))

    async def skip(self) -> None:
        """Leave out what was written since (timers firing as time moves): no command's answer."""
        assert self.h.store is not None
        async with self.h.store.read() as conn:
            self.last_id = (await conn.execute(select(func.max(t.outbox.c.id)))).scalar() or 0

    async def send(self) -> None:
        """Send what the batch wrote, then judge each command's answer."""
        assert self.h.engine is not None and self.h.store is not None
        try:
            await self.h.engine.drain_outbox()
        except Exception as exc:
            self.c.escaped.append(f"sending → {type(exc).__name__}: {str(exc)[:200]}")
        ids = [i for fed in self.batch for i, _ in fed.outbox]
        async with self.h.store.read() as conn:
            status = dict((await conn.execute(select(t.outbox.c.id, t.outbox.c.status)
                                              .where(t.outbox.c.id.in_(ids)))).all()) if ids else {}
        for fed in self.batch:
            sources = {source_of(key) for _, key in fed.outbox}
            if not any(status.get(i) == "sent" for i, _ in fed.outbox):
                self.c.no_answer.append(f"{shown(fed.line)} → {[status.get(i) for i, _ in fed.outbox]}")
            elif len(sources) > 1:
                self.c.mixed_answers.append(f"{shown(fed.line)} → {sorted(sources)}")
            for s in sources:
                self.c.answers[re.sub(r"\d+", "N", s)] += 1
        self.batch = []


BATCH = 20


async def campaign(h: Harness, commands: int, rng: random.Random) -> Campaign:
    """Until `commands` commands were typed, with other events among them."""
    c = Campaign()
    feeder = Feeder(h, c)
    i = -1
    while c.commands < commands:
        i += 1
        who = rng.choice(MEMBERS)
        # Mostly commands; now and then what surrounds them: replies in a thread of a bot
        # message (objection reasons, questions), direct messages (nominations, secrets),
        # reactions.
        roll = rng.random()
        recent = [s.message_id for s in h.sent[-30:] if s.kind in ("post", "dm")]
        if roll < 0.05 and recent:
            line = f"{who}: > {rng.choice(recent)} {rng.choice([word(rng), long_text(rng), 'objection ' + long_text(rng)])}"
        elif roll < 0.09:
            line = f"[dm] {who}: {rng.choice([word(rng), long_text(rng), '@bob parce que ' + long_text(rng), 'je décline', 'secret ' + number(rng)])}"
        elif roll < 0.12 and recent:
            line = f"{who}: {rng.choice(['+', '-'])}{rng.choice(['✅', '⚠️', '✋', '🙊', '🔕', '❌', '²'])} {rng.choice(recent)}"
        else:
            where = rng.choice(["", "", "[#comite] ", "[dm] "])
            thread = f"> {rng.choice(recent)} " if recent and rng.random() < 0.15 else ""
            line = f"{where}{who}: {thread}!reseau {random_command(rng)}"
            c.commands += 1
            await feeder.feed(line, command=True)
            line = ""
        if line:
            c.other_events += 1
            await feeder.feed(line, command=False)
        if i % BATCH == BATCH - 1:
            # A batch is typed within the same instant (at most a handful per member, under
            # the flood limit); then the outbox is sent and time moves on, now and then far
            # enough for deadlines, reminders and reveals to fire.
            await feeder.send()
            step = timedelta(seconds=rng.randint(60, 240))
            if rng.random() < 0.2:
                step = timedelta(hours=rng.choice([1, 6, 26]))
            try:
                await h.advance(step)  # each timer fires at its own due time
            except Exception as exc:
                c.escaped.append(f"timers → {type(exc).__name__}: {str(exc)[:200]}")
            await feeder.skip()
    await feeder.send()
    try:
        await h.advance(timedelta(days=4))  # every deadline and reveal of the campaign falls due
    except Exception as exc:
        c.escaped.append(f"final timers → {type(exc).__name__}: {exc}")
    for s in h.sent:
        if "Traceback" in s.text or re.search(r"\b\w+Error\b", s.text):
            c.tracebacks.append(s.text[:200])
    return c


async def dead_letters(h: Harness) -> list[str]:
    """The engine's dead letters (an event or timer that failed deterministically)."""
    table = getattr(t, "dead_letters", None)
    if table is None:  # pragma: no cover - before the engine kept dead letters
        return []
    assert h.store is not None
    async with h.store.read() as conn:
        rows = (await conn.execute(select(table.c.kind, table.c.error, table.c.event))).all()
    return [f"{r.kind}: {r.error} ← {str((r.event or {}).get('text', ''))[:150]!r}" for r in rows]


async def run_campaign(store_url: str, tmp_path: Path, commands: int, seed: int,
                       caplog: pytest.LogCaptureFixture) -> Campaign:
    """`commands` commands (times MAILLAGE_FUZZ_SCALE), among about 12% other events."""
    commands = max(1, int(commands * SCALE))
    rng = random.Random(seed)
    began = time.monotonic()
    with caplog.at_level(logging.ERROR):
        async with Harness(CONFIG, store_url, START, tmp_path) as h:
            c = await campaign(h, commands, rng)
            letters = await dead_letters(h)
            assert h.store is not None
            async with h.store.read() as conn:
                recorded = (await conn.execute(select(func.count()).select_from(t.inbound_events))).scalar_one()
                # How deep the campaign went: what the rituals recorded (outcomes, draws…).
                reached = dict((await conn.execute(select(t.log.c.kind, func.count()).group_by(t.log.c.kind))).all())
    elapsed = time.monotonic() - began
    failures = [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records if r.levelno >= logging.ERROR]
    print(f"\nfuzz seed={seed}: {c.commands} commands, {c.other_events} other events in {elapsed:.1f} s; "
          f"answers by source {dict(c.answers)}; recorded {reached}; {len(letters)} dead letters")
    assert c.problems() == {}
    assert letters == [], f"{len(letters)} dead letters:\n" + "\n".join(letters[:20])
    assert failures == [], "\n".join(failures[:20])
    # Every event the campaign fed was recorded (acknowledged) once.
    assert recorded >= c.commands + c.other_events - len(c.escaped)
    assert c.commands >= commands
    return c


async def test_fuzz_campaign_quick(sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """500 commands: in the quick suite."""
    await run_campaign(sqlite_url, tmp_path, 500, SEED, caplog)


@pytest.mark.slow
async def test_fuzz_campaign_full(sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """5,000 commands, another seed."""
    await run_campaign(sqlite_url, tmp_path, 5000, SEED + 1, caplog)


@pytest.mark.slow
@pytest.mark.postgres
async def test_fuzz_campaign_postgres(pg_server: TempPostgres, tmp_path: Path,
                                      caplog: pytest.LogCaptureFixture) -> None:
    """About 1,500 commands on PostgreSQL (its JSON, its integer widths, its row locks)."""
    url = pg_server.create_database("fuzz_campaign")
    await run_campaign(url, tmp_path, 1500, SEED + 2, caplog)
