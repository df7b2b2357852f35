"""`maillage --help` and every command's help: French by default, English when asked, every text from the cli catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import parser
from bot.cli.help import help_keys, locale_in, tree
from bot.kernel.i18n import has_key

ROOT = Path(__file__).resolve().parents[2]
NBSP = "\u00a0"


def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILLAGE_LANG"}
    if lang is not None:
        env["MAILLAGE_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_help_is_french_by_default_and_english_when_asked() -> None:
    fr = run("--help")
    assert fr.returncode == 0, fr.stderr
    assert fr.stdout.startswith(f"usage{NBSP}: maillage")
    assert f"Maillage{NBSP}: les rituels d'un réseau" in fr.stdout
    assert "afficher cette aide et quitter" in fr.stdout and "faire tourner le robot" in fr.stdout
    assert "show this help" not in fr.stdout and "run the bot" not in fr.stdout
    en = run("--lang", "en", "--help")
    assert en.returncode == 0, en.stderr
    assert en.stdout.startswith("usage: maillage") and "show this help and exit" in en.stdout
    assert "run the bot" in en.stdout and "afficher" not in en.stdout


def test_the_variable_chooses_and_the_option_wins() -> None:
    assert "sortition from CSV files" in run("--help", lang="en").stdout
    assert "tirage au sort à partir de fichiers CSV" in run("--lang", "fr", "draw", "--help", lang="en").stdout


def test_a_wrong_line_is_answered_in_french() -> None:
    res = run("schedule")
    assert res.returncode == 2
    assert f"usage{NBSP}: maillage schedule" in res.stderr and f"maillage schedule{NBSP}: erreur{NBSP}:" in res.stderr


@pytest.mark.parametrize(("argv", "env", "expected"), [
    ([], None, "fr"),
    (["--lang", "en", "demo"], None, "en"),
    (["draw", "verify", "r.json", "--lang=en"], None, "en"),
    ([], "en", "en"),
    (["--lang", "fr"], "en", "fr"),
    ([], "de_DE.UTF-8", "fr"),
])
def test_the_language_is_read_before_the_parser_exists(monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                                       env: str | None, expected: str) -> None:
    monkeypatch.delenv("MAILLAGE_LANG", raising=False)
    if env is not None:
        monkeypatch.setenv("MAILLAGE_LANG", env)
    assert locale_in(argv) == expected


def test_every_command_and_option_has_its_words_in_both_languages() -> None:
    """A new command or option without its catalog text fails here, not silently in English."""
    missing = [keys[0] for keys in help_keys(parser(locale="fr"))
               for loc in ("fr", "en") if not any(has_key(k, loc) for k in keys)]
    assert not missing, missing


def pages(locale: str) -> dict[tuple[str, ...], str]:
    return {path: p.format_help() for path, p in tree(parser(locale=locale))}


def test_each_command_help_is_in_the_chosen_language() -> None:
    fr, en = pages("fr"), pages("en")
    assert set(fr) >= {(), ("run",), ("config", "check"), ("schedule",), ("calendar",), ("db", "upgrade"),
                       ("db", "dead-letters"), ("demo",), ("draw", "run"), ("draw", "verify")}
    for path, text in fr.items():
        assert text.startswith(f"usage{NBSP}: maillage"), path
        assert f"options{NBSP}:" in text and "afficher cette aide et quitter" in text, (path, text)
        assert "show this help" not in text, path
    for path, text in en.items():
        assert text.startswith("usage: maillage") and "show this help and exit" in text, path
    assert "les prochains déclenchements de chaque rituel" in fr[("schedule",)]
    assert "nombre de déclenchements par rituel" in fr[("schedule",)]
    assert "firings per ritual" in en[("schedule",)]
    assert "le fichier de configuration (TOML)" in fr[("run",)]
    assert "CSV des quotas" in fr[("draw", "run")] and "quotas CSV" in en[("draw", "run")]

