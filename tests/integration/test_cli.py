"""The command line: config check, schedule in local time, db upgrade, bad input answered clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.store.migrate import head_revision
from tests.spaces import spaces

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_config_check_accepts_the_example() -> None:
    res = run("config", "check", "-c", str(ROOT / "config.example.toml"))
    assert res.returncode == 0, res.stderr
    assert "Configuration valide" in res.stdout


def test_config_check_names_file_key_and_expectation(tmp_path: Path) -> None:
    bad = (ROOT / "config.example.toml").read_text("utf-8").replace('timezone = "Europe/Paris"',
                                                                   'timezone = "Paris"')
    path = tmp_path / "bad.toml"
    path.write_text(bad, "utf-8")
    res = run("config", "check", "-c", str(path))
    assert res.returncode == 2
    assert "bad.toml" in res.stderr and "network.timezone" in res.stderr and "IANA" in res.stderr
    assert "Traceback" not in res.stderr
    res = run("--lang", "en", "config", "check", "-c", str(tmp_path / "missing.toml"))
    assert res.returncode == 2 and "file not found" in res.stderr


def test_schedule_lists_firings_in_local_time() -> None:
    res = run("schedule", "-c", str(ROOT / "config.example.toml"), "--from", "2026-03-01T00:00", "--count", "3")
    assert res.returncode == 0, res.stderr
    lines = [spaces(ln) for ln in res.stdout.splitlines() if "charte" in ln]
    # First Monday of March, April, May 2026 at 9:00 Paris time, before and after the DST change.
    assert "lundi 2 mars 2026 à 9 h" in lines[0]
    assert "lundi 6 avril 2026 à 9 h" in lines[1]
    assert "lundi 4 mai 2026 à 9 h" in lines[2]


def test_schedule_rejects_a_bad_date() -> None:
    res = run("schedule", "-c", str(ROOT / "config.example.toml"), "--from", "mardi prochain")
    assert res.returncode == 2 and "Date invalide" in res.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    cfg = (ROOT / "config.example.toml").read_text("utf-8")
    (tmp_path / "c.toml").write_text(cfg, "utf-8")
    res = run("db", "upgrade", "-c", str(tmp_path / "c.toml"))
    assert res.returncode == 0, res.stderr
    assert f"→ {head_revision()}" in res.stdout and (tmp_path / "maillage.db").exists()


def test_calendar_export_from_the_config_alone(tmp_path: Path) -> None:
    from icalendar import Calendar

    cfg = (ROOT / "config.example.toml").read_text("utf-8") + """
[[rituals]]
id = "reunions"
kind = "meeting"
channels = ["general"]
title = "Comité de pilotage"
rrule = "FREQ=MONTHLY;BYDAY=2TU"
time = "18:00"
place = "Maison des associations"
"""
    (tmp_path / "c.toml").write_text(cfg, "utf-8")
    res = run("calendar", "-c", str(tmp_path / "c.toml"), "--out", str(tmp_path / "r.ics"))
    assert res.returncode == 0, res.stderr
    cal = Calendar.from_ical((tmp_path / "r.ics").read_bytes())
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert events and "BYDAY" in events[0]["RRULE"].to_ical().decode()
    assert events[0]["DTSTART"].dt.hour == 18
    # A network whose config holds no meetings ritual has no calendar to export.
    without = tmp_path / "sans-reunions.toml"
    without.write_text(cfg.split("\n[[rituals]]\nid = \"agenda\"")[0], "utf-8")
    res = run("calendar", "-c", str(without))
    assert res.returncode == 1 and "pas de calendrier" in res.stderr


def test_run_names_a_missing_secret_instead_of_crashing(tmp_path: Path) -> None:
    cfg = (ROOT / "config.example.toml").read_text("utf-8").replace('platform = "console"', 'platform = "matrix"')
    cfg += ('\n[matrix]\nhomeserver = "http://127.0.0.1:9"\nuser_id = "@maillage:localhost"\n'
            'password_env = "MAILLAGE_TEST_NO_PASSWORD"\npickle_key_env = "MAILLAGE_TEST_NO_PICKLE_KEY"\n')
    (tmp_path / "c.toml").write_text(cfg, "utf-8")
    res = run("run", "-c", str(tmp_path / "c.toml"))
    assert res.returncode == 2, res.stderr
    assert "matrix.pickle_key_env" in res.stderr and "MAILLAGE_TEST_NO_PICKLE_KEY" in res.stderr
    assert "Traceback" not in res.stderr
