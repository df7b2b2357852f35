"""The `[directory]` section: the attributes members give about themselves, and their allowed values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config.problems import ConfigProblem
from bot.kernel.commands import fold
from bot.kernel.i18n import Code, Msg

__all__ = ["ATTRIBUTE_NAME", "FIELD_WORDS", "VALUE_MAX", "Attributes", "DirectorySection", "FieldName",
           "check_directory"]

FieldName = Literal["name", "organisation", "locale"]
"""The person's own fields besides the declared attributes."""

FIELD_WORDS: Mapping[str, FieldName] = {
    "nom": "name", "name": "name",
    "organisation": "organisation", "organization": "organisation", "structure": "organisation",
    "org": "organisation", "orga": "organisation",
    "langue": "locale", "language": "locale", "lang": "locale", "locale": "locale",
}
"""Words members type for those fields (folded). An attribute cannot take one of these names:
`profil nom …` must always mean the name, and draws already read "structure" as the organisation."""

_OTHER_RESERVED = frozenset({"id", "accounts", "comptes", "compte", "account", "roles", "role"})

ATTRIBUTE_NAME = re.compile(r"[^\W\d_][\w-]{0,49}\Z")
"""An attribute's name: one word of at most 50 letters, digits, - or _, starting with a letter."""
VALUE_MAX = 100
"""The longest value of an attribute (as long as a name given in a command option)."""


class DirectorySection(BaseModel):
    """`[directory]`: `attributes = ["territoire", "college"]` and, where the network wants,
    `[directory.values] territoire = ["Nord", "Sud"]`."""

    model_config = ConfigDict(extra="forbid")

    attributes: list[str] = Field(default_factory=list)
    values: dict[str, list[str]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Attributes:
    """What members may say about themselves: the declared attributes (in the file's order)
    and, for some, the allowed values. Without a `[directory]` section, the attributes the
    members' entries use, with any value."""

    names: tuple[str, ...] = ()
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declared: bool = False

    def find(self, word: str) -> str | None:
        """The declared attribute a typed word names (case and accents aside)."""
        wanted = fold(word)
        return next((n for n in self.names if fold(n) == wanted), None)

    def value(self, attribute: str, typed: str) -> str | None:
        """The value as the network spells it, or None when the attribute has allowed values
        and `typed` is none of them."""
        allowed = self.allowed.get(attribute)
        if not allowed:
            return typed
        wanted = fold(typed.strip())
        return next((v for v in allowed if fold(v) == wanted), None)


def _reserved(name: str) -> bool:
    return fold(name) in FIELD_WORDS or fold(name) in _OTHER_RESERVED


def attributes_of(section: DirectorySection | None, member_attributes: Sequence[Mapping[str, str]]) -> Attributes:
    if section is None:
        seen: dict[str, str] = {}
        for attrs in member_attributes:
            for name in attrs:
                seen.setdefault(fold(name), name)
        return Attributes(names=tuple(sorted(seen.values(), key=fold)))
    allowed = {n: tuple(section.values[n]) for n in section.attributes if section.values.get(n)}
    return Attributes(names=tuple(section.attributes), allowed=allowed, declared=True)


def check_directory(section: DirectorySection | None, members: Sequence[tuple[str, Mapping[str, str]]],
                    file: str) -> list[ConfigProblem]:
    """The section's own problems, then each member's attribute that the section does not
    declare or whose value it does not allow. `members`: (id, attributes) in the file's order."""
    if section is None:
        return []
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for i, name in enumerate(section.attributes):
        key = f"directory.attributes[{i}]"
        if not ATTRIBUTE_NAME.match(name):
            problems.append(ConfigProblem(file, key, Msg("config.err.attribute_name", value=name)))
        elif _reserved(name):
            problems.append(ConfigProblem(file, key, Msg("config.err.attribute_reserved", value=name)))
        elif fold(name) in seen:
            problems.append(ConfigProblem(file, key, Msg("config.err.duplicate", value=name)))
        seen.add(fold(name))
    for name, values in section.values.items():
        key = f"directory.values.{name}"
        if name not in section.attributes:
            problems.append(ConfigProblem(file, key, Msg("config.err.values_undeclared", value=name)))
            continue
        if not values:
            problems.append(ConfigProblem(file, key, Msg("config.err.values_empty")))
        known: set[str] = set()
        for j, value in enumerate(values):
            if not value.strip() or len(value) > VALUE_MAX:
                problems.append(ConfigProblem(file, f"{key}[{j}]", Msg("config.err.value_length", limit=VALUE_MAX)))
            elif fold(value.strip()) in known:
                problems.append(ConfigProblem(file, f"{key}[{j}]", Msg("config.err.duplicate", value=value)))
            known.add(fold(value.strip()))
    declared = attributes_of(section, [])
    for i, (member, attrs) in enumerate(members):
        for attr, value in attrs.items():
            key = f"members[{i}].{attr}"
            if attr not in declared.names:
                names = Code(text=", ".join(declared.names)) if declared.names else Msg("config.err.no_attributes")
                problems.append(ConfigProblem(file, key, Msg("config.err.attribute_undeclared", value=attr,
                                                             member=member, declared=names)))
            elif declared.value(attr, value) is None:
                problems.append(ConfigProblem(file, key, Msg(
                    "config.err.value_not_allowed", value=value, allowed=Code(text=", ".join(declared.allowed[attr])))))
    return problems
