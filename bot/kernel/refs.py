"""`Ref`: a ritual's name for one of its messages or timers, in named parts, and its one encoding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

# The parts, in the order the encoding writes them.
FIELDS = ("role", "scope", "n", "version", "key", "channel", "member")
_INTS = frozenset({"n", "version"})


class Ref(BaseModel):
    """What one of a ritual's messages (or timers) is, as the ritual names it: a `role` word and
    the parts that tell it from its siblings. The engine stores it and hands it back on the
    events that concern it; rituals build it and match on its fields, never on a string:

        case Replied(ref=Ref(scope="election", role="proposed", n=n)): …

    Its text form (`encode`/`decode`, the store's and the outbox's) is written here only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1)
    """What it is for, a word of its ritual: "proposal", "ballot", "call", "deadline", "r"."""
    scope: str | None = None
    """The part of the ritual it belongs to when one ritual runs several ("election" beside
    the consent round it holds on a "candidate"; a consent round's timers)."""
    n: int | None = None
    """A number among its like: the election's attempt, a charter post's, a meeting reminder's."""
    version: int | None = None
    """The proposal's version it belongs to."""
    key: str | None = None
    """The item of the ritual's state it is about (a meeting occurrence's key)."""
    channel: str | None = None
    """Channel key, for one message posted in each of several channels."""
    member: str | None = None
    """Member key, for a message to (or a timer about) one member."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        # Outbox rows, ritual states and tests hold the encoded text.
        if isinstance(value, str):
            return _decode(value)
        return value

    @model_serializer(mode="plain")
    def _to_text(self) -> str:
        # Serialised as its text: outbox JSON and ritual states keep the strings they always had.
        return self.encode()

    def encode(self) -> str:
        """The text the store keeps: the string the release before typed refs wrote for the
        same message when it wrote one (`_WRITTEN_BEFORE`), else `?role=…&…` with every part
        percent-encoded. `decode(encode(r)) == r` for every `r`."""
        return _encode(self)

    @classmethod
    def decode(cls, text: str) -> Ref:
        """The ref a stored text names (any text: one no shape matches is a bare role)."""
        return _decode_ref(text)

    def parts(self) -> dict[str, str | int]:
        """The parts that are set, by name."""
        return {name: v for name in FIELDS if (v := getattr(self, name)) is not None}

    # Refs sort as their text, the order their strings had (timers due at one instant).
    def __lt__(self, other: Ref) -> bool:
        return self.encode() < other.encode()

    def __le__(self, other: Ref) -> bool:
        return self.encode() <= other.encode()

    def __gt__(self, other: Ref) -> bool:
        return self.encode() > other.encode()

    def __ge__(self, other: Ref) -> bool:
        return self.encode() >= other.encode()


# ---------------------------------------------------------------------------------------------
# The shapes the release before typed refs wrote. Rows in the store (message_refs,
# message_contents, pending_replies, timers), outbox actions and ritual states hold them: they
# decode to the same message, and the same ref encodes to the same string, so no row needs
# migrating. A closed list: refs of new roles need no entry, they take the generic form.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    template: str
    """Literal text with `{part}` holes."""
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Parts limited to these words."""
    implied: Mapping[str, str] = field(default_factory=dict)
    """Parts the text does not show, always this value."""
    free: frozenset[str] = frozenset()
    """Parts that may hold any text here (else a word, a number, an occurrence key)."""

    def holes(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.template)

    def regex(self) -> re.Pattern[str]:
        out = []
        for literal, hole in re.findall(r"([^{]*)(?:\{(\w+)\})?", self.template):
            out.append(re.escape(literal))
            if hole:
                out.append(f"(?P<{hole}>{self._hole(hole)})")
        return re.compile("".join(out), re.ASCII | re.DOTALL)

    def _hole(self, hole: str) -> str:
        if hole in self.words:
            return "|".join(re.escape(w) for w in self.words[hole])
        if hole in _INTS:
            return "[0-9]+"
        if hole in self.free:
            return ".+"
        return {"scope": "[a-z]+", "role": "[a-z_]+", "key": "[^|]+"}.get(hole, ".+")

    def names(self) -> frozenset[str]:
        return frozenset(self.holes()) | frozenset(self.implied)


_CONSENT_HEAD = ("proposal:v{version}:", "{scope}{n}:v{version}:")
_WRITTEN_BEFORE: tuple[_Shape, ...] = (
    # A consent round: "proposal" for a consent ritual's own, "candidate<n>" for an election's.
    *(_Shape(head + "{role}:{member}", {"role": ("ballot", "ask")}) for head in _CONSENT_HEAD),
    *(_Shape(head + "{channel}", implied={"role": "proposal"}) for head in _CONSENT_HEAD),
    # The election's own messages, and the timers of the election and of consent rounds.
    _Shape("{scope}:{role}:{channel}", {"scope": ("election",), "role": ("call", "reveal")}),
    _Shape("{scope}:{role}:{member}", {"scope": ("election",), "role": ("invite", "change", "dm")}),
    _Shape("{scope}:{role}:{n}", {"scope": ("election", "consent", "election-consent")}),
    _Shape("{scope}:{role}", {"scope": ("election", "consent", "election-consent")}),
    # A draw's private asks and their timers, the charter's posts, a welcome.
    _Shape("{role}:{member}", {"role": ("ask", "secret", "accept")}),
    _Shape("{role}:{n}", {"role": ("charter",)}),
    _Shape("{role}|{member}", {"role": ("welcome",)}),
    # A meeting occurrence's messages and timers.
    _Shape("{key}|{role}|{member}", {"role": ("dm",)}),
    _Shape("{key}|{role}{n}", {"role": ("r", "p")}),
    _Shape("{key}|{role}", {"role": ("att", "page", "new", "cancel", "end", "close")}),
    # A bare word ("announce", "post", "plan"), and the last resort: any text is a role.
    _Shape("{role}", free=frozenset({"role"})),
)
_PATTERNS = [(shape, shape.regex()) for shape in _WRITTEN_BEFORE]
_NAMES = [(shape, shape.names()) for shape in _WRITTEN_BEFORE]


def _decode(text: str) -> dict[str, Any]:
    if text.startswith("?"):
        generic = _generic_parts(text[1:])
        # Only the text `_generic` writes: any other is a bare role, so decoding stays exact.
        if generic is not None and _generic(generic) == text:
            return generic
    for shape, pattern in _PATTERNS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        parts: dict[str, Any] = dict(shape.implied)
        for name, value in m.groupdict().items():
            parts[name] = int(value) if name in _INTS else value
        return parts
    raise ValueError("an empty ref")


@lru_cache(maxsize=8192)
def _decode_ref(text: str) -> Ref:
    return Ref.model_validate(_decode(text))


@lru_cache(maxsize=8192)
def _encode(ref: Ref) -> str:
    parts = ref.parts()
    names = frozenset(parts)
    for shape, shape_names in _NAMES:
        if names != shape_names:
            continue
        if any(parts[k] != v for k, v in shape.implied.items()):
            continue
        if any(parts[k] not in ws for k, ws in shape.words.items()):
            continue
        text = shape.template.format(**parts)
        # Written only when it reads back as this ref: where the old shape cannot tell parts
        # apart (a channel named "ballot:x", a role holding ":"), the generic form is written.
        if _decode(text) == parts:
            return text
    return _generic(parts)


def _generic(parts: Mapping[str, str | int]) -> str:
    return "?" + "&".join(f"{name}={quote(str(parts[name]), safe='')}" for name in FIELDS if name in parts)


_INT = re.compile(r"-?[0-9]+", re.ASCII)


def _generic_parts(query: str) -> dict[str, Any] | None:
    parts: dict[str, Any] = {}
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        if not eq or name not in FIELDS or name in parts:
            return None
        try:
            text = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None
        if name in _INTS:
            if not _INT.fullmatch(text):
                return None
            parts[name] = int(text)
        else:
            parts[name] = text
    return parts if parts.get("role") else None
