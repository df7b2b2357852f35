"""Config validation: each problem names the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.adapters import platform_configs
from bot.config import ConfigError, load
from bot.kernel.i18n import render_plain
from scenarios import registry
from tests.spaces import spaces

GOOD = """
[network]
name = "Réseau"
timezone = "Europe/Paris"

[[channels]]
id = "general"
platform = "console"
room = "general"

[[members]]
id = "alice"
accounts = ["console:alice"]
territoire = "Nord"

[roles]
animateurs = ["alice"]

[[rituals]]
id = "charte"
kind = "charter"
channels = ["general"]
rrule = "FREQ=MONTHLY;BYDAY=1MO"
time = "09:00"
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        load(path, registry(), platform_configs())
    return [spaces(render_plain(m)) for m in err.value.messages()]


def test_example_config_is_valid() -> None:
    cfg = load(Path(__file__).resolve().parents[2] / "config.example.toml", registry(), platform_configs())
    assert cfg.network.locale == "fr"


def test_good_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD, "utf-8")
    cfg = load(path, registry(), platform_configs())
    assert cfg.file.members[0].attributes == {"territoire": "Nord"}



DIGEST = """
[[rituals]]
id = "resume"
kind = "digest"
channels = ["general"]
"""


@pytest.mark.parametrize(("extra", "where"), [
    ("", "post"),                                   # no digest: said nowhere unless posted
    (DIGEST, "digest"),                             # a digest: said in it (issue 15)
    ('where = "digest"\n', "digest"),              # asked for: kept even without a digest
])
def test_charter_is_said_in_the_digest_only_where_there_is_one(tmp_path: Path, extra: str, where: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD + extra, "utf-8")
    cfg = load(path, registry(), platform_configs())
    assert cfg.ritual_options["charte"]["where"] == where

@pytest.mark.parametrize(("change", "key", "words"), [
    (('timezone = "Europe/Paris"', 'timezone = "Europe/Lutece"'), "network.timezone", "fuseau horaire « Europe/Lutece » inconnu"),
    (('rrule = "FREQ=MONTHLY;BYDAY=1MO"', 'rrule = "FREQ=MONTHLY;BYDAY=1XX"'), "rituals[0].rrule", "invalid RRULE"),
    (('time = "09:00"', 'time = "neuf heures"'), "rituals[0].time", "HH:MM"),
    (('kind = "charter"', 'kind = "charte"'), "rituals[0].kind", "inconnu"),
    (('channels = ["general"]', 'channels = ["bureau"]'), "rituals[0].channels[0]", "non déclaré"),
    (('animateurs = ["alice"]', 'animateurs = ["zoe"]'), "roles.animateurs[0]", "ni une personne déclarée"),
    (('platform = "console"', 'platform = "irc"'), "channels[0].platform", "attendue parmi"),
    (('name = "Réseau"', 'nom = "Réseau"'), "network.name", "manquante"),
])
def test_errors_name_file_key_and_expectation(tmp_path: Path, change: tuple[str, str], key: str, words: str) -> None:
    problems = _problems(tmp_path, GOOD.replace(*change))
    assert any(key in p and words in p and "c.toml" in p for p in problems), problems


def test_not_toml(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "[network\nname=")
    assert "TOML" in problems[0]


def test_secret_comes_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import secret

    monkeypatch.delenv("MAILLAGE_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError) as err:
        secret("MAILLAGE_TEST_TOKEN", "matrix.access_token_env", tmp_path / "c.toml")
    assert "MAILLAGE_TEST_TOKEN" in render_plain(err.value.messages()[0])


def test_command_only_kinds_are_refused_in_rituals(tmp_path: Path) -> None:
    text = GOOD + '\n[[rituals]]\nid = "t"\nkind = "draw"\nchannels = ["general"]\n'
    problems = _problems(tmp_path, text)
    assert any("rituals[1].kind" in p and "[defaults.draw]" in p for p in problems), problems
