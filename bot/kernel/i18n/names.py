"""Proper names with their article ("le Réseau des tiers-lieux"), and the forms French sentences need ("du", "au")."""

from __future__ import annotations

__all__ = ["FORMS", "split_article", "with_preposition"]

FORMS = ("art", "of", "to")
"""What a template may ask of a proper name: `{network:art}` "le Réseau…", `{network:of}`
"du Réseau…", `{network:to}` "au Réseau…" (`{network}` alone is the bare name, for headings)."""

# Each article a name may be written with, and what "de" and "à" make of it.
_FRENCH: dict[str, tuple[str, str]] = {
    "le ": ("du ", "au "),
    "la ": ("de la ", "à la "),
    "les ": ("des ", "aux "),
    "l'": ("de l'", "à l'"),
    "l\u2019": ("de l\u2019", "à l\u2019"),
}
_ENGLISH = ("the ",)


def split_article(text: str) -> tuple[str, str] | None:
    """("le ", "Réseau des tiers-lieux") for "le Réseau des tiers-lieux" (the article in lower
    case, its space kept); None when `text` does not start with an article and a name."""
    for article in (*_FRENCH, *_ENGLISH):
        if text[: len(article)].lower() == article and text[len(article):].strip():
            return article, text[len(article):].strip()
    return None


def with_preposition(text: str, form: str, locale: str) -> str | None:
    """`text` ("le Réseau…") in `form` for `locale` ("du Réseau…"), or None when its article
    is not one of that language's (the caller then says it without article)."""
    found = split_article(text)
    if found is None:
        return None
    article, name = found
    if locale == "fr" and article in _FRENCH:
        of, to = _FRENCH[article]
        return {"art": article, "of": of, "to": to}[form] + name
    if locale == "en" and article in _ENGLISH:
        return {"art": "", "of": "of ", "to": "to "}[form] + article + name
    return None
