"""Good French in every message: every key rendered with sample parameters (0, 1 and 2 for plural
selectors) has real plural forms, French typography, one inclusive-writing convention and one
number style; the English catalog has its plurals too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.i18n import PLAIN, Msg, Param, ProperName, Renderer, catalog
from bot.kernel.i18n.templates import Nodes, Plural, parameters, parse, proper_names, selectors

PARIS = ZoneInfo("Europe/Paris")
NETWORKS = (ProperName(name="Réseau des tiers-lieux", with_article="le Réseau des tiers-lieux"),
            ProperName(name="Réseau des tiers-lieux"))


def samples(key: str) -> Iterator[dict[str, Param]]:
    """Parameters for `key`, built from its placeholders in both languages: each plural
    selector at 0, 1 and 2 (all together), proper names with and without their article,
    any other parameter a word without punctuation (member content is not checked here)."""
    fr, en = catalog("fr")[key], catalog("en")[key]
    names = parameters(fr) | parameters(en)
    numbers = selectors(fr) | selectors(en)
    proper = proper_names(fr) | proper_names(en)
    for n in (0, 1, 2) if numbers else (None,):
        for network in NETWORKS if proper else NETWORKS[:1]:
            params: dict[str, Param] = {}
            for name in names:
                if name in numbers:
                    params[name] = n if n is not None else 0
                elif name in proper:
                    params[name] = network
                else:
                    params[name] = "Aliso"
            yield params


def rendered(locale: str) -> Iterator[tuple[str, str]]:
    render = Renderer(locale, PARIS, PLAIN)
    for key in sorted(catalog(locale)):
        for params in samples(key):
            yield key, render.render(Msg(key, **params))


FRENCH = list(rendered("fr"))
ENGLISH = list(rendered("en"))


def offenders(texts: list[tuple[str, str]], pattern: str) -> list[str]:
    return sorted({f"{key}: {text!r}" for key, text in texts if re.search(pattern, text)})


def test_every_key_renders_in_both_languages() -> None:
    assert {k for k, _ in FRENCH} == set(catalog("fr")) == set(catalog("en")) == {k for k, _ in ENGLISH}


@pytest.mark.parametrize("texts", [FRENCH, ENGLISH], ids=["fr", "en"])
def test_no_parenthesised_plural_or_feminine(texts: list[tuple[str, str]]) -> None:
    # "personne(s)", "élu(e)", "draw(s)": a plural selector or the point médian instead.
    assert offenders(texts, r"\((?:e|s|es|x|ne|le|ses)\)") == []


def test_high_punctuation_has_its_no_break_space() -> None:
    # U+00A0 before ":", U+202F before ";", "!" and "?" — where they end a clause, not in
    # "!reseau", "?m3", "https://" or "plateforme:identifiant".
    assert offenders(FRENCH, r"(?<!\u00a0):(?=\s|$)") == []
    assert offenders(FRENCH, r"(?<!\u202f)[;!?](?=\s|$|[)»\"])") == []
    assert offenders(FRENCH, r"[ \u202f][:»]|\u00a0[;!?](?=\s|$)|«(?!\u00a0)|(?<!\u00a0)»") == []


def test_one_number_style() -> None:
    # "#3" everywhere (members type "decisions #3"), never "n° 3".
    assert offenders(FRENCH, r"(?i)\bn[°º]") == []
    assert offenders(ENGLISH, r"\b[Nn]o\. ?[0-9…]") == []


# Masculine-only words for people, and what the catalog writes instead: the point médian for
# agreement ("élu·e", plural "élu·es"), épicène wording for people by their function.
MASCULINE_ONLY = [
    (r"\bélus?\b(?!·)", "élu·e"),
    (r"\btirés? au sort", "tiré·e au sort"),
    (r"\bd'être tiré\b(?!·)", "d'être tiré·e"),
    (r"\bsollicités?\b(?!·)", "sollicité·e"),
    (r"\brelancés?\b(?!·)", "relancé·e"),
    (r"\bnommés?\b(?!·)", "nommé·e"),
    (r"\bêtes proposé\b(?!·)|\bété proposé\b(?!·)", "proposé·e"),
    (r"\b(?:les|des) (?:présents|absents)\b|\b(?:présents|absents)(?=,| :| \()", "présent·es, absent·es"),
    (r"\bnouveaux venus\b", "les personnes arrivées"),
    (r"\b(?:les|des|un|aux|seuls les) animateurs?\b", "l'équipe d'animation"),
    (r"\banimateurs et animatrices\b|\bauteur ou autrice\b|\bchacun et chacune\b", "one form, not a doublet"),
    (r"\bchacun\b(?!·)", "chacun·e"),
    (r"\bdu membre\b|\ble membre\b|\bun membre déclaré", "une personne"),
]


@pytest.mark.parametrize(("pattern", "instead"), MASCULINE_ONLY)
def test_one_inclusive_writing_convention(pattern: str, instead: str) -> None:
    assert offenders(FRENCH, pattern) == [], f"write {instead!r}"


def text_of(key: str, locale: str = "fr", **params: Param) -> str:
    return Renderer(locale, PARIS, PLAIN).render(Msg(key, **params)).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("n", "french", "english"), [
    (0, "0 contribution, au moins 2 attendues", "0 contributions, at least 2 expected"),
    (1, "1 contribution, au moins 2 attendues", "1 contribution, at least 2 expected"),
    (2, "2 contributions, au moins 2 attendues", "2 contributions, at least 2 expected"),
])
def test_plural_forms_follow_cldr(n: int, french: str, english: str) -> None:
    # French CLDR: 0 and 1 are "one"; English: only 1.
    params: dict[str, Param] = {"member": "Aliso", "commitment": "abc", "count": n, "needed": 2}
    assert french in text_of("sortition.seed.committed", **params)
    assert english in text_of("sortition.seed.committed", "en", **params)


@pytest.mark.parametrize(("yes", "no", "shown"), [
    (0, 2, "0 présent·e, 2 absent·es"),
    (1, 1, "1 présent·e, 1 absent·e"),
    (2, 0, "2 présent·es, 0 absent·e"),
])
def test_meeting_counts(yes: int, no: int, shown: str) -> None:
    assert shown in text_of("meeting.answers.counts", yes=yes, no=no, maybe=0)


def test_exact_values_before_categories() -> None:
    open_line = {"number": 3, "title": "Budget", "deadline": "vendredi"}
    assert "(aucune réponse pour l'instant)" in text_of("consent.decisions.open_line", answered=0, **open_line)
    assert "(1 réponse pour l'instant)" in text_of("consent.decisions.open_line", answered=1, **open_line)
    assert "(no answers yet)" in text_of("consent.decisions.open_line", "en", answered=0, **open_line)
    assert "(2 answers so far)" in text_of("consent.decisions.open_line", "en", answered=2, **open_line)


def plurals(nodes: Nodes) -> Iterator[Plural]:
    for node in nodes:
        if isinstance(node, Plural):
            yield node
            for _, branch in node.branches:
                yield from plurals(branch)


def test_every_plural_selector_changes_the_words() -> None:
    # A selector whose branches all say the same would be a plural left undone.
    same = [f"{locale} {key} {p.name}" for locale in ("fr", "en") for key, template in catalog(locale).items()
            for p in plurals(parse(template)) if len({branch for _, branch in p.branches}) < 2]
    assert same == []


def test_the_network_is_named_with_its_article() -> None:
    greeting = {"who": "Aliso", "sections": ""}
    with_article = ProperName(name="Réseau des tiers-lieux", with_article="le Réseau des tiers-lieux")
    assert "Vous avez rejoint le Réseau des tiers-lieux." in text_of("welcome.greeting", network=with_article, **greeting)
    bare = ProperName(name="Réseau des tiers-lieux")
    assert "Vous avez rejoint le réseau « Réseau des tiers-lieux »." in text_of("welcome.greeting", network=bare, **greeting)
    assert "You have joined Réseau des tiers-lieux." in text_of("welcome.greeting", "en", network=with_article, **greeting)
    invite = text_of("core.directory.invite", network=ProperName(name="Fédération", with_article="la Fédération"),
                     lines="x")
    assert invite.startswith("Bienvenue dans la Fédération !")
