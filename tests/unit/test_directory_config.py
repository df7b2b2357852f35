"""The `[directory]` section: declared attributes and their allowed values, refused in a sentence naming the key; members' own attributes checked against it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli.adapters import platform_configs
from bot.config import Config, ConfigError, validate
from bot.kernel.i18n import render_plain
from scenarios import registry

BASE = """
[network]
name = "Réseau"

[[channels]]
id = "general"
platform = "console"
room = "general"

[[members]]
id = "alice"
accounts = ["console:alice"]
organisation = "La Ruche"
territoire = "Nord"

[[members]]
id = "bob"
accounts = ["console:bob"]
territoire = "sud"
college = "associations"
"""


def _validate(text: str) -> Config:
    return validate(tomllib.loads(text), registry(), Path("reseau.toml"), platform_configs())


def _problems(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as err:
        _validate(text)
    return [(p.key, render_plain(m, "fr"), render_plain(m, "en"))
            for p, m in zip(err.value.problems, err.value.messages(), strict=True)]


def test_without_a_section_the_attributes_are_those_the_members_use() -> None:
    attrs = _validate(BASE).attributes
    assert attrs.names == ("college", "territoire") and not attrs.declared and not attrs.allowed
    assert attrs.value("territoire", "Creuse") == "Creuse"  # any value


def test_a_section_declares_attributes_and_allowed_values_spelled_by_the_network() -> None:
    cfg = _validate(BASE + """
[directory]
attributes = ["territoire", "college", "genre"]

[directory.values]
territoire = ["Nord", "Sud", "Creuse"]
""")
    attrs = cfg.attributes
    assert attrs.names == ("territoire", "college", "genre") and attrs.declared
    assert attrs.find("Territoire") == "territoire" and attrs.find("couleur") is None
    # Case and accents aside, a value is the network's spelling; others are not allowed.
    assert attrs.value("territoire", "creuse") == "Creuse" and attrs.value("territoire", "Bretagne") is None
    assert attrs.value("genre", "f") == "f"
    # The organisation is a field of its own, not an attribute.
    assert cfg.file.members[0].own_attributes == {"territoire": "Nord"}


@pytest.mark.parametrize(("section", "key", "fr", "en"), [
    ('attributes = ["territoire", "nom"]', "directory.attributes[1]", "ne peut pas être un attribut",
     "cannot be an attribute"),
    ('attributes = ["territoire", "Structure"]', "directory.attributes[1]", "organisation", "organisation"),
    ('attributes = ["territoire", "2e collège"]', "directory.attributes[1]", "commençant par une lettre",
     "starting with a letter"),
    ('attributes = ["territoire", "Territoire"]', "directory.attributes[1]", "utilisé deux fois", "used twice"),
    ('attributes = ["territoire"]\n[directory.values]\ncollege = ["a"]', "directory.values.college",
     "n'est pas dans directory.attributes", "not in directory.attributes"),
    ('attributes = ["territoire"]\n[directory.values]\nterritoire = []', "directory.values.territoire",
     "au moins une valeur", "at least one value"),
    ('attributes = ["territoire"]\n[directory.values]\nterritoire = ["Nord", "nord", "Sud"]',
     "directory.values.territoire[1]", "utilisé deux fois", "used twice"),
    ('attributes = ["territoire"]\n[directory.values]\nterritoire = ["Nord", " "]',
     "directory.values.territoire[1]", "non vide", "non-empty"),
    ('attributes = ["territoire"]\ncouleur = "bleu"', "directory.couleur", "clé inconnue", "unknown key"),
])
def test_a_wrong_section_is_refused_naming_the_key(section: str, key: str, fr: str, en: str) -> None:
    found = [p for p in _problems(BASE.replace('college = "associations"\n', "") + f"\n[directory]\n{section}\n")
             if p[0] == key]
    assert found, key
    assert fr in found[0][1] and en in found[0][2], found


def test_members_attributes_must_be_declared_and_allowed() -> None:
    problems = _problems(BASE + """
[directory]
attributes = ["territoire"]

[directory.values]
territoire = ["Nord", "Centre"]
""")
    by_key: dict[str, Any] = {k: (fr, en) for k, fr, en in problems}
    fr, en = by_key["members[1].territoire"]
    assert "«\u00a0sud\u00a0» n'est pas une valeur permise" in fr and "Nord, Centre" in fr
    assert "“sud” is not an allowed value" in en
    fr, en = by_key["members[1].college"]
    assert "«\u00a0college\u00a0» de bob n'est pas déclaré" in fr and "territoire" in fr
    assert "members[0].territoire" not in by_key, "an allowed value passes"


def test_the_example_declares_its_directory() -> None:
    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text("utf-8")
    attrs = _validate(example).attributes
    assert attrs.declared and {"territoire", "college"} <= set(attrs.names)
    assert attrs.allowed["territoire"]
