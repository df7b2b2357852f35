"""The meeting, digest and welcome catalogs: same keys and parameters in French and English,
every key the code names exists, and templates keep parameters out of bold markers."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.kernel.i18n import catalog, catalog_files, parameters
from scenarios.digest.kind import KNOWN_OUTCOMES
from scenarios.meeting.messages import ATTENDANCE_EMOJI, RSVP_EMOJI

DOMAINS = ("meeting", "digest", "welcome")
SOURCES = Path(__file__).resolve().parents[2] / "scenarios"


def domain_keys(locale: str, domain: str) -> dict[str, str]:
    return {k: v for k, v in catalog(locale).items() if k.startswith(domain + ".")}


@pytest.mark.parametrize("domain", DOMAINS)
def test_french_and_english_have_the_same_keys_and_parameters(domain: str) -> None:
    fr, en = domain_keys("fr", domain), domain_keys("en", domain)
    assert fr and set(fr) == set(en)
    for key in fr:
        assert parameters(fr[key]) == parameters(en[key]), key


@pytest.mark.parametrize("domain", DOMAINS)
def test_catalog_files_parse(domain: str) -> None:
    for locale in ("fr", "en"):
        [source] = [f for f in catalog_files(locale) if f.name == f"{domain}.toml"]
        assert tomllib.loads(source.read_text("utf-8"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_parameter_inside_bold(domain: str) -> None:
    # The renderer applies **bold** to template text between parameters only.
    for locale in ("fr", "en"):
        for key, template in domain_keys(locale, domain).items():
            for bold in re.findall(r"\*\*(.+?)\*\*", template):
                assert "{" not in bold, (locale, key)


def test_every_key_named_in_the_code_exists() -> None:
    named: set[str] = set()
    for domain in DOMAINS:
        for path in (SOURCES / domain).glob("*.py"):
            named.update(re.findall(rf'"((?:{"|".join(DOMAINS)})\.[a-z_]+(?:\.[a-z_]+)*)"', path.read_text("utf-8")))
    # Keys built from a prefix and a value.
    named.update(f"meeting.choice.{c}" for c in [*RSVP_EMOJI, *ATTENDANCE_EMOJI, "mute"])
    named.update(f"meeting.when.{r}" for r in ("no_time", "no_date", "past"))
    named.update(f"digest.outcome.{o}" for o in KNOWN_OUTCOMES)
    named.update(f"digest.selection.{k}" for k in ("draw", "election"))
    named = {k for k in named if not k.endswith(".")}
    missing = {k for k in named for loc in ("fr", "en") if k not in catalog(loc)}
    assert missing == set()
    assert len(named) > 60
