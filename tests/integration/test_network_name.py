"""The network's name with its article (`[network] name_with_article`): checked by the config, and
said in sentences ("Vous avez rejoint le Réseau…", "Bienvenue dans le Réseau…") by the running bot."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.adapters import platform_configs
from bot.config import ConfigError, validate
from bot.kernel.i18n import render_plain
from scenarios import registry
from tests.harness import BASE_CONFIG, Harness
from tests.spaces import spaces

WITH_ARTICLE = BASE_CONFIG.replace('name = "Réseau test"\n',
                                   'name = "Réseau test"\nname_with_article = "le Réseau test"\n') + """
[[rituals]]
id = "accueil"
kind = "welcome"
channels = ["general"]
"""


def refusals(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        validate(tomllib.loads(text), registry(), tmp_path / "c.toml", platform_configs())
    return [spaces(render_plain(m)) for m in err.value.messages()]


@pytest.mark.parametrize("written", ["le Réseau test", "La Fédération", "l'Atelier", "les Tiers-lieux", "the Network"])
def test_an_article_and_a_name_are_accepted(written: str, tmp_path: Path) -> None:
    text = BASE_CONFIG.replace('name = "Réseau test"\n', f'name = "Réseau test"\nname_with_article = "{written}"\n')
    config = validate(tomllib.loads(text), registry(), tmp_path / "c.toml", platform_configs())
    assert config.network.name_with_article == written


@pytest.mark.parametrize("written", ["Réseau test", "le", "du Réseau test"])
def test_a_name_without_its_article_is_refused(written: str, tmp_path: Path) -> None:
    text = BASE_CONFIG.replace('name = "Réseau test"\n', f'name = "Réseau test"\nname_with_article = "{written}"\n')
    [problem] = refusals(text, tmp_path)
    assert "network.name_with_article" in problem and "le nom précédé de son article est attendu" in problem


async def test_a_newcomer_joins_the_network_said_with_its_article(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(WITH_ARTICLE, sqlite_url, datetime(2027, 2, 1, 9, 0, tzinfo=UTC), tmp_path) as h:
        await h.say("+emma")
        said = spaces("\n".join(h.lines))
    assert "Vous avez rejoint le Réseau test." in said
    assert "Votre fiche" in said  # the invitation to complete one's profile, in the same message
    assert "réseau « Réseau test »" not in said and "de Réseau test" not in said
