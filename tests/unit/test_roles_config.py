"""The `[roles]` section: lists of holders (as before) beside declared roles (seats, term,
renewal), each refusal naming the role's key in French and English; declared roles bring the
mandates ritual among the configured ones."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli.adapters import platform_configs
from bot.config import Config, ConfigError, validate
from bot.kernel.i18n import render_plain
from bot.kernel.mandates import QuotaSpec
from scenarios import registry

BASE = """
[network]
name = "Réseau"

[[channels]]
id = "general"
platform = "console"
room = "general"

[[channels]]
id = "comite"
platform = "console"
room = "comite"

[[members]]
id = "alice"
accounts = ["console:alice"]
territoire = "Nord"

[[members]]
id = "bob"
accounts = ["console:bob"]
territoire = "Sud"

[groups]
bureau = ["alice", "bob"]

[roles]
animateurs = ["alice"]
"délégué" = ["bob"]
"""
ROLE = '\n[roles."délégué·e au comité régional"]\n'


def _validate(text: str) -> Config:
    return validate(tomllib.loads(text), registry(), Path("reseau.toml"), platform_configs())


def _problems(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as err:
        _validate(text)
    return [(p.key, render_plain(m, "fr"), render_plain(m, "en"))
            for p, m in zip(err.value.problems, err.value.messages(), strict=True)]


def test_declared_roles_and_lists_are_read_together() -> None:
    config = _validate(BASE + ROLE + """seats = 2
term = "1 an"
renew_by = "draw"
pool = ["general"]
quotas = ["territoire<=1", {attribute = "organisation", max = 1}]
max_consecutive = 2
notice = "6 semaines"
auto = true

[roles."trésorerie"]
term = "2 ans"
group = "bureau"
""")
    assert config.file.roles == {"animateurs": ["alice"], "délégué": ["bob"]}
    assert config.animateurs() == ["alice"]
    delegate = config.declared_roles["délégué·e au comité régional"]
    assert (delegate.seats, delegate.term, delegate.renew_by, delegate.pool, delegate.notice, delegate.auto) == (
        2, timedelta(days=365), "tirage", "general", timedelta(weeks=6), True)
    assert delegate.max_consecutive == 2
    assert delegate.quotas == (QuotaSpec("territoire", None, 0, 1), QuotaSpec("organisation", None, 0, 1))
    treasury = config.declared_roles["trésorerie"]
    assert (treasury.seats, treasury.renew_by, treasury.group, treasury.notice, treasury.auto,
            treasury.max_consecutive) == (1, "election", "bureau", timedelta(days=30), False, None)
    # The roles bring the mandates ritual, whose options change with them.
    assert [(r.id, r.kind) for r in config.rituals] == [("mandats", "mandates")]
    assert set(config.ritual_options["mandats"]["roles"]) == {"délégué·e au comité régional", "trésorerie"}


def test_without_declared_roles_nothing_changes() -> None:
    config = _validate(BASE)
    assert config.declared_roles == {} and config.rituals == [] and "mandats" not in config.ritual_options


@pytest.mark.parametrize(("table", "key", "french", "english"), [
    ('term = "1 an"\nsieges = 2', 'roles."délégué·e au comité régional".sieges', "clé inconnue", "unknown key"),
    ("seats = 2", 'roles."délégué·e au comité régional".term', "clé obligatoire manquante", "missing"),
    ('term = "un siècle"', 'roles."délégué·e au comité régional".term', "siècle", "siècle"),
    ('term = "1 an"\nseats = 0', 'roles."délégué·e au comité régional".seats', "supérieur ou égal à 1",
     "greater than or equal to 1"),
    ('term = "1 an"\nrenew_by = "vote"', 'roles."délégué·e au comité régional".renew_by', "'tirage' or 'election'",
     "'tirage' or 'election'"),
    ('term = "1 mois"\nnotice = "6 semaines"', 'roles."délégué·e au comité régional".notice',
     "préavis doit être plus court", "notice must be shorter"),
    ('term = "1 an"\npool = "atelier"', 'roles."délégué·e au comité régional".pool', "salon « atelier » non déclaré",
     "atelier"),
    ('term = "1 an"\npool = ["general", "comite"]', 'roles."délégué·e au comité régional".pool',
     "un seul salon est attendu", "one channel is expected"),
    ('term = "1 an"\ngroup = "ca"', 'roles."délégué·e au comité régional".group', "groupe « ca » non déclaré",
     "group \"ca\" is not declared"),
    ('term = "1 an"\ngroup = "bureau"\npool = "general"', 'roles."délégué·e au comité régional".group',
     "pool ou group, pas les deux", "pool or group, not both"),
    ('term = "1 an"\nquotas = ["territoire<=x"]', 'roles."délégué·e au comité régional".quotas', "territoire<=x",
     "territoire<=x"),
    ('term = "1 an"\nmax_consecutive = 0', 'roles."délégué·e au comité régional".max_consecutive',
     "supérieur ou égal à 1", "greater than or equal to 1"),
])
def test_a_declared_role_is_refused_naming_its_key(table: str, key: str, french: str, english: str) -> None:
    problems = _problems(BASE + ROLE + table + "\n")
    assert [p[0] for p in problems] == [key], problems
    _, fr, en = problems[0]
    assert french in fr.replace("\u00a0", " ") and english in en


def test_one_role_written_two_ways_is_refused() -> None:
    problems = _problems(BASE + '\n[roles."Délégué·e"]\nterm = "1 an"\n')
    assert [(k, "désignent le même rôle" in fr) for k, fr, _ in problems] == [('roles."Délégué·e"', True)]


def test_the_animateurs_list_cannot_be_a_table() -> None:
    text = BASE.replace('animateurs = ["alice"]\n', "") + '\n[roles.animateurs]\nterm = "1 an"\n'
    problems = _problems(text)
    assert [k for k, _, _ in problems] == ['roles."animateurs"']
    assert "animateurs = [" in problems[0][1]


def test_a_role_refusal_is_listed_with_the_rest_of_the_file() -> None:
    # A problem elsewhere in the file does not hide the roles' own.
    text = BASE.replace('name = "Réseau"', 'name = "Réseau"\ntimezone = "Paris/Nord"') + ROLE + "seats = 2\n"
    keys = [k for k, _, _ in _problems(text)]
    assert keys == ["network.timezone", 'roles."délégué·e au comité régional".term']
