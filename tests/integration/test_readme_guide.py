"""What the README promises works on the shipped example config: every `!reseau` example of the guide, and its console session, answered without an error; `schedule` and `calendar` list the meetings and the digest."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import ConsoleAdapter
from bot.adapter import Delivery, Outgoing
from bot.kernel.i18n import Msg, catalog, keys_used
from tests.harness import Harness
from tests.spaces import spaces

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
EXAMPLE = (ROOT / "config.example.toml").read_text("utf-8")
PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
"""A Tuesday morning: the guide's dates (« vendredi 18h », « le 12 décembre ») are ahead."""

GUIDE_SECTIONS = ("## Guide de l'animateur", "## Sortition and its verifiable seed")


def section(title: str) -> str:
    """A `## ` section of the README, up to the next one."""
    start = README.index(title + "\n")
    end = README.find("\n## ", start + len(title))
    return README[start:] if end < 0 else README[start:end]


def guide() -> str:
    return "\n".join(section(t) for t in GUIDE_SECTIONS)


def console_session() -> list[str]:
    """The lines of the guide's console session (its ```text block)."""
    part = section("## Guide de l'animateur")
    block = re.search(r"### Essayer avec la console\n.*?```text\n(.*?)```", part, re.S)
    assert block, "the guide has a console session"
    return [ln for ln in block.group(1).splitlines() if ln.strip()]


def inline_examples() -> list[str]:
    """Every `!reseau …` written in the guide's prose, as alice (the example's animatrice) types it."""
    spans = [" ".join(m.split()) for m in re.findall(r"`(!reseau [^`]+)`", guide())]
    return [f"alice: {m}" for m in spans if "…" not in m]  # `!reseau …` says how commands are written


def table_commands() -> list[str]:
    """The commands the guide's tables name, up to their first placeholder (`decisions [#N]` → decisions)."""
    found: list[str] = []
    for row in section("## Guide de l'animateur").splitlines():
        cells = row.split(" | ")
        if not row.startswith("| `") or len(cells) < 3:
            continue
        for span in re.findall(r"`([^`]+)`", cells[0]):
            words = re.split(r"\s*(?:[\[<«\"]|@x\b|#N\b)", span, maxsplit=1)[0].strip()
            if words:
                found.append(words)
    return found


# Catalog sections that hold what a command is answered when it cannot be done.
ERROR_SECTIONS = {"cmd", "error", "infeasible", "deadline", "when", "input"}
ERROR_WORDS = ("Aucun processus", "aucun processus", "Je ne connais pas", "Désolé", "Il manque",
               "je ne comprends pas", "n'existe pas", "not running", "No open")


def is_error(key: str) -> bool:
    domain, _, rest = key.partition(".")
    if domain == "timetext":
        return not rest.startswith("what.")
    section_name, _, name = rest.partition(".")
    if section_name == "input":  # the limits' answers say {what} was wrong; the rest are their labels
        return "{what}" in catalog("fr")[key]
    return section_name in ERROR_SECTIONS and not any(w in name for w in ("summary", "example", "usage"))


class Recording(ConsoleAdapter):
    """The console, keeping the catalog keys of what it sends beside the text."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.keys: list[set[str]] = []

    async def perform(self, out: Outgoing) -> Delivery:
        texts = [v for v in (getattr(out.action, "text", None), getattr(out.action, "fallback", None))
                 if isinstance(v, Msg)]
        self.keys.append(keys_used(texts))
        return await super().perform(out)


async def run_lines(lines: list[str], store_url: str, tmp: Path) -> list[str]:
    """Feed each line to the example network; the problems found in its answers."""
    h = Harness(EXAMPLE, store_url, START, tmp)
    rec = Recording(h.console.channels, h.members, prefix=h.config.network.command_prefix,
                    transcript=tmp / "recording.jsonl", write=h.lines.append)
    h.console = rec
    problems: list[str] = []
    async with h:
        for line in lines:
            # People type a line a minute or so: the flood guard of the bot is not what is tested.
            await h.advance(timedelta(minutes=1))
            before = len(rec.sent)
            out = await h.say(line)
            if not out and "!reseau" in line:
                problems.append(f"{line!r}: no answer")
            for sent, keys in zip(out, rec.keys[before:], strict=True):
                bad = sorted(k for k in keys if is_error(k))
                words = [w for w in ERROR_WORDS if w in sent.text]
                if bad or words:
                    problems.append(f"{line!r} → {bad or words}: {sent.text}")
    return problems


async def test_the_console_session_of_the_guide_runs_on_the_example(sqlite_url: str, tmp_path: Path) -> None:
    lines = console_session()
    assert len(lines) >= 20
    problems = await run_lines(lines, sqlite_url, tmp_path)
    assert not problems, "\n".join(problems)


async def test_every_example_written_in_the_guide_runs_on_the_example(sqlite_url: str, tmp_path: Path) -> None:
    examples = inline_examples()
    assert any("reunion « Comité » le" in e for e in examples) and any("tirage 3 parmi" in e for e in examples)
    problems = await run_lines(examples, sqlite_url, tmp_path)
    assert not problems, "\n".join(problems)


def test_every_command_of_the_tables_has_an_example_that_runs() -> None:
    """A row added to the guide's tables without a line in its console session fails here."""
    typed = [ln.split(": ", 1)[1].removeprefix("!reseau ") for ln in console_session() if "!reseau" in ln]
    typed += [e.split("!reseau ", 1)[1] for e in inline_examples()]
    commands = table_commands()
    assert {"aide", "decision", "tirage 3 parmi #comite", "reunion annuler"} <= set(commands), commands
    missing = [c for c in commands if not any(t.startswith(c) for t in typed)]
    assert not missing, missing


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_schedule_lists_the_meeting_series_and_the_digest() -> None:
    res = cli("schedule", "-c", str(ROOT / "config.example.toml"), "--from", "2026-12-01T09:00", "--count", "40")
    assert res.returncode == 0, res.stderr
    shown = spaces(res.stdout)
    assert "réunion « Comité de pilotage »" in shown and "« Plénière du réseau »" in shown
    assert "resume (digest) : résumé hebdomadaire" in shown
    assert "charte (charter)" in res.stdout


def test_calendar_lists_the_meeting_series_and_the_digest(tmp_path: Path) -> None:
    from icalendar import Calendar

    config = tmp_path / "config.toml"  # the store goes beside the config: not in the repository
    config.write_text(EXAMPLE, "utf-8")
    res = cli("calendar", "-c", str(config), "--out", str(tmp_path / "reunions.ics"))
    assert res.returncode == 0, res.stderr
    cal = Calendar.from_ical((tmp_path / "reunions.ics").read_bytes())
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Comité de pilotage", "Plénière du réseau", "Résumé de la semaine"}
    digest = events["Résumé de la semaine"]
    # The digest's slot: Fridays at 16:00 in the network's zone, shown free in the agenda.
    assert digest["RRULE"].to_ical().decode() == "FREQ=WEEKLY;BYDAY=FR"
    start = digest["DTSTART"].dt
    assert (start.weekday(), start.hour, start.minute, str(start.tzinfo)) == (4, 16, 0, "Europe/Paris")
    assert str(digest["TRANSP"]) == "TRANSPARENT"
    # Its time zone describes summer time well past 2038, where icalendar's default stops.
    zone = cal.walk("VTIMEZONE")[0]
    rdates = [part["RDATE"] for part in zone.walk("DAYLIGHT") if "RDATE" in part]
    summers = [d.dt.year for group in rdates for lists in (group if isinstance(group, list) else [group])
               for d in lists.dts]
    assert max(summers) >= 2060
