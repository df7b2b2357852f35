"""Catalog templates read into parts: text, `{param}`, `{param:form}` and plural selectors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from babel import Locale

__all__ = ["CATEGORIES", "Field", "Nodes", "Plural", "TemplateError", "parameters", "parse", "plural_category",
           "proper_names", "selectors"]

CATEGORIES = ("zero", "one", "two", "few", "many", "other")
"""CLDR plural categories; a selector may also name an exact number (`=0`)."""

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FORM = re.compile(r"[a-z]+")
_SELECTOR = re.compile(r"=[0-9]+|" + "|".join(CATEGORIES))


class TemplateError(ValueError):
    """A template the parser cannot read: a bug of the catalog, caught by the catalog tests."""


@dataclass(frozen=True)
class Field:
    """`{name}`, or `{name:form}` (a proper name with its article: `art`, `of`, `to`)."""

    name: str
    form: str | None = None


@dataclass(frozen=True)
class Plural:
    """`{name, plural, one {…} other {…}}`: the branch of the number's CLDR category (or of
    its exact value, `=0 {…}`), "other" when the language has no branch for it."""

    name: str
    branches: tuple[tuple[str, Nodes], ...]

    def branch(self, value: float, locale: str) -> Nodes:
        chosen = dict(self.branches)
        exact = f"={int(value)}" if float(value).is_integer() else None
        if exact is not None and exact in chosen:
            return chosen[exact]
        return chosen.get(plural_category(value, locale), chosen["other"])


Node = str | Field | Plural
Nodes = tuple[Node, ...]


@cache
def _locale(locale: str) -> Locale:
    return Locale.parse(locale)


def plural_category(value: float, locale: str) -> str:
    """The CLDR plural category of `value` in `locale` (Babel's rules): in French 0 and 1 are
    "one", in English only 1 is."""
    return str(_locale(locale).plural_form(abs(value)))


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, what: str) -> TemplateError:
        return TemplateError(f"{what} at {self.i} in template {self.text!r}")

    def skip_spaces(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t\n":
            self.i += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(char, self.i):
            raise self.fail(f"{char!r} expected")
        self.i += 1

    def word(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_spaces()
        m = pattern.match(self.text, self.i)
        if m is None:
            return None
        self.i = m.end()
        return m.group(0)

    def nodes(self, inside: bool) -> Nodes:
        """Text and placeholders up to the end, or up to the `}` closing a plural branch."""
        out: list[Node] = []
        text: list[str] = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "}" and inside:
                break
            placeholder = self.placeholder() if char == "{" else None
            if placeholder is None:
                text.append(char)
                self.i += 1
                continue
            if text:
                out.append("".join(text))
                text = []
            out.append(placeholder)
        if text:
            out.append("".join(text))
        return tuple(out)

    def placeholder(self) -> Field | Plural | None:
        """A placeholder at `{`, or None when the brace opens none (it is then text)."""
        start = self.i
        m = _NAME.match(self.text, start + 1)
        if m is None:
            return None
        self.i = m.end()
        name = m.group(0)
        after = self.text[self.i:self.i + 1]
        if after == "}":
            self.i += 1
            return Field(name)
        if after == ":":
            self.i += 1
            form = _FORM.match(self.text, self.i)
            if form is None or self.text[form.end():form.end() + 1] != "}":
                raise self.fail("a form such as {network:of} expected")
            self.i = form.end() + 1
            return Field(name, form.group(0))
        if after != ",":
            self.i = start
            return None
        self.i += 1
        if self.word(re.compile("plural")) is None:
            raise self.fail("'plural' expected after the comma")
        self.expect(",")
        branches: list[tuple[str, Nodes]] = []
        while True:
            self.skip_spaces()
            if self.text.startswith("}", self.i):
                self.i += 1
                break
            selector = self.word(_SELECTOR)
            if selector is None:
                raise self.fail(f"a selector ({', '.join(CATEGORIES)} or =N) expected")
            self.expect("{")
            branches.append((selector, self.nodes(inside=True)))
            self.expect("}")
        if "other" not in dict(branches):
            raise self.fail(f"plural of {name!r} without its 'other' branch")
        return Plural(name, tuple(branches))


@cache
def parse(template: str) -> Nodes:
    """`template` read into its parts. A brace that opens no placeholder is text."""
    return _Reader(template).nodes(inside=False)


def _walk(nodes: Nodes) -> Iterator[Field | Plural]:
    for node in nodes:
        if isinstance(node, str):
            continue
        yield node
        if isinstance(node, Plural):
            for _, branch in node.branches:
                yield from _walk(branch)


def parameters(template: str) -> set[str]:
    """The names of every parameter a template uses (plural selectors included)."""
    return {node.name for node in _walk(parse(template))}


def selectors(template: str) -> set[str]:
    """The parameters a template selects a plural form by (they must be numbers)."""
    return {node.name for node in _walk(parse(template)) if isinstance(node, Plural)}


def proper_names(template: str) -> set[str]:
    """The parameters a template asks a form of (`{network:of}`: they must be ProperNames)."""
    return {node.name for node in _walk(parse(template)) if isinstance(node, Field) and node.form is not None}
