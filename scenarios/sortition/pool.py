"""The pool of a draw (Person), its quotas (Quota), and their parsing and validation."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.kernel.commands import fold
from bot.kernel.i18n import Code, Lines, Msg
from bot.kernel.inputs import QUOTA, CommandError, looks_numeric, parse_int, shown

# Members' organisation lives in `Member.organisation`, not in `attributes`; networks call it
# "structure" as often as "organisation", so both names reach it.
ORGANISATION = "organisation"
_ORGANISATION_ALIASES = frozenset({"organisation", "organization", "structure", "org", "orga"})


class SortitionError(Exception):
    """A draw that cannot be made as asked; `msg` explains why, in the catalogs."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


@dataclass(frozen=True)
class Person:
    """Someone who may be drawn: an id (member key or CSV id) and attribute values."""

    id: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    def value(self, attribute: str) -> str | None:
        v = self.attributes.get(attribute)
        return v if v else None


@dataclass(frozen=True, order=True)
class Quota:
    """Bounds on how many of the panel share a value of an attribute. `value=None` applies the
    bounds to each value of the attribute separately ("one per territory")."""

    attribute: str
    value: str | None
    min: int = 0
    max: int | None = None

    def describe(self) -> Msg:
        target = (
            Msg("sortition.quota.each", attribute=self.attribute)
            if self.value is None
            else Msg("sortition.quota.one", attribute=self.attribute, value=self.value)
        )
        if self.max is None:
            bounds = Msg("sortition.quota.at_least", min=self.min)
        elif self.min == self.max:
            bounds = Msg("sortition.quota.exactly", n=self.min)
        elif self.min == 0:
            bounds = Msg("sortition.quota.at_most", max=self.max)
        else:
            bounds = Msg("sortition.quota.between", min=self.min, max=self.max)
        return Msg("sortition.quota.line", target=target, bounds=bounds)


@dataclass(frozen=True, order=True)
class Bound:
    """One expanded quota: how many of the panel may have `attribute == value`."""

    attribute: str
    value: str
    min: int
    max: int


# --- people -----------------------------------------------------------------


def people_from_rows(rows: Iterable[tuple[str, Mapping[str, str | None]]]) -> list[Person]:
    """Persons sorted by id, attribute values stripped, empty values dropped."""
    out: dict[str, Person] = {}
    for pid, attrs in rows:
        clean = {k.strip(): v.strip() for k, v in sorted(attrs.items()) if v and v.strip()}
        out[pid] = Person(pid, clean)
    return [out[k] for k in sorted(out)]


def parse_people_csv(text: str, source: str = "") -> list[Person]:
    """A people CSV: an `id` column and one column per attribute."""
    rows = _read_csv(text, source)
    if not rows:
        raise SortitionError(Msg("sortition.csv.empty", file=source))
    header = [h.strip() for h in rows[0]]
    folded = [fold(h) for h in header]
    if "id" not in folded:
        raise SortitionError(
            Msg("sortition.csv.no_id_column", file=source, columns=Code(text=", ".join(header)))
        )
    if len(set(folded)) != len(folded):
        dup = sorted({h for h, f in zip(header, folded, strict=True) if folded.count(f) > 1})
        raise SortitionError(Msg("sortition.csv.duplicate_column", file=source, column=dup[0]))
    id_col = folded.index("id")
    seen: set[str] = set()
    result: list[tuple[str, dict[str, str | None]]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise SortitionError(
                Msg("sortition.csv.ragged", file=source, line=line, found=len(row), expected=len(header))
            )
        pid = row[id_col].strip()
        if not pid:
            raise SortitionError(Msg("sortition.csv.empty_id", file=source, line=line))
        if pid in seen:
            raise SortitionError(Msg("sortition.csv.duplicate_id", file=source, line=line, id=pid))
        seen.add(pid)
        attrs: dict[str, str | None] = {
            header[i]: row[i] for i in range(len(header)) if i != id_col
        }
        result.append((pid, attrs))
    if not result:
        raise SortitionError(Msg("sortition.csv.empty", file=source))
    return people_from_rows(result)


_QUOTA_HEADER = ("attribute", "value", "min", "max")


def parse_quotas_csv(text: str, source: str = "") -> list[Quota]:
    """A quotas CSV: `attribute,value,min,max`; an empty or `*` value means each value,
    an empty max means no maximum."""
    rows = _read_csv(text, source)
    if not rows:
        return []
    header = tuple(fold(h.strip()) for h in rows[0])
    if header != _QUOTA_HEADER:
        raise SortitionError(
            Msg(
                "sortition.csv.quota_header",
                file=source,
                found=Code(text=",".join(h.strip() for h in rows[0])),
                expected=Code(text=",".join(_QUOTA_HEADER)),
            )
        )
    quotas: list[Quota] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(_QUOTA_HEADER):
            raise SortitionError(
                Msg("sortition.csv.ragged", file=source, line=line, found=len(row), expected=4)
            )
        attribute, value, lo, hi = (c.strip() for c in row)
        if not attribute:
            raise SortitionError(Msg("sortition.csv.quota_no_attribute", file=source, line=line))
        lo_n = _csv_int(lo or "0", source, line, "min")
        hi_n = None if hi == "" else _csv_int(hi, source, line, "max")
        quotas.append(Quota(attribute, None if value in ("", "*") else value, lo_n, hi_n))
    return quotas


def _csv_int(text: str, source: str, line: int, column: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise SortitionError(
            Msg("sortition.csv.not_integer", file=source, line=line, column=column, value=text)
        ) from None
    if n < 0:
        raise SortitionError(
            Msg("sortition.csv.not_integer", file=source, line=line, column=column, value=text)
        )
    return n


def _read_csv(text: str, source: str) -> list[list[str]]:
    text = text.lstrip("\ufeff")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for row in csv.reader(io.StringIO(text), dialect) if row]
    except csv.Error as e:
        raise SortitionError(Msg("sortition.csv.malformed", file=source, detail=str(e))) from None


# --- quotas typed in a command ------------------------------------------------

# `territoire=1`, `structure<=1`, `genre>=1`, `college=1-2`, `territoire:Nord=2`. The numbers
# are matched loosely here and read by `parse_int`, which takes the digits 0 to 9 only and
# says the range: "territoire=٣" or "territoire=99999999999" get that answer.
_QUOTA_TOKEN = re.compile(
    r"^(?P<attr>[^=<>:]+?)(?::(?P<value>[^=<>]+?))?\s*(?P<op><=|>=|=)\s*(?P<lo>[^\s\-]+)(?:-(?P<hi>[^\s\-]+))?$"
)


def looks_like_quota(text: str) -> bool:
    return bool(re.search(r"(<=|>=|=)", text))


def parse_quota_token(text: str) -> Quota:
    m = _QUOTA_TOKEN.match(text.strip())
    if not m:
        raise SortitionError(Msg("sortition.quota.bad_syntax", text=shown(text)))
    attr = m.group("attr").strip()
    value = m.group("value").strip() if m.group("value") else None
    numbers = [n for n in (m.group("lo"), m.group("hi")) if n is not None]
    if not all(looks_numeric(n) for n in numbers):
        raise SortitionError(Msg("sortition.quota.bad_syntax", text=shown(text)))
    try:
        lo = parse_int(m.group("lo"), QUOTA)
        hi = parse_int(m.group("hi"), QUOTA) if m.group("hi") else None
    except CommandError as e:
        raise SortitionError(e.msg) from None
    op = m.group("op")
    if hi is not None:
        if op != "=":
            raise SortitionError(Msg("sortition.quota.bad_syntax", text=shown(text)))
        return Quota(attr, value, lo, hi)
    if op == "<=":
        return Quota(attr, value, 0, lo)
    if op == ">=":
        return Quota(attr, value, lo, None)
    return Quota(attr, value, lo, lo)


# --- validation -------------------------------------------------------------


def attribute_names(people: Sequence[Person]) -> list[str]:
    return sorted({a for p in people for a in p.attributes})


def resolve_attribute(name: str, people: Sequence[Person]) -> str:
    """The pool's spelling of an attribute typed by a member (case and accents ignored)."""
    known = attribute_names(people)
    by_fold = {fold(a): a for a in known}
    wanted = fold(name.strip())
    if wanted in by_fold:
        return by_fold[wanted]
    if wanted in _ORGANISATION_ALIASES:
        for alias in sorted(_ORGANISATION_ALIASES):
            if alias in by_fold:
                return by_fold[alias]
    raise SortitionError(
        Msg(
            "sortition.quota.unknown_attribute",
            attribute=name,
            known=Code(text=", ".join(known)) if known else Msg("sortition.quota.no_attributes"),
        )
    )


def values_of(attribute: str, people: Sequence[Person]) -> list[str]:
    return sorted({v for p in people if (v := p.value(attribute)) is not None})


def merge_quotas(base: Sequence[Quota], override: Sequence[Quota]) -> list[Quota]:
    """Quotas of the command replace the configured ones for the same attribute."""
    overridden = {fold(q.attribute) for q in override}
    return [q for q in base if fold(q.attribute) not in overridden] + list(override)


def expand_quotas(quotas: Sequence[Quota], people: Sequence[Person], k: int) -> list[Bound]:
    """Per-value bounds, named as the pool spells them, sorted; several quotas on the same
    value are intersected. Raises SortitionError for unknown attributes and values, and for
    bounds that contradict each other."""
    bounds: dict[tuple[str, str], tuple[int, int]] = {}
    for q in quotas:
        attr = resolve_attribute(q.attribute, people)
        values = values_of(attr, people)
        if q.value is None:
            targets = values
        else:
            match = [v for v in values if fold(v) == fold(q.value)]
            if not match:
                raise SortitionError(
                    Msg(
                        "sortition.quota.unknown_value",
                        attribute=attr,
                        value=q.value,
                        known=Code(text=", ".join(values)),
                    )
                )
            targets = match
        hi = k if q.max is None else q.max
        if q.min > hi:
            raise SortitionError(Msg("sortition.quota.min_above_max", quota=q.describe()))
        for v in targets:
            lo0, hi0 = bounds.get((attr, v), (0, k))
            lo1, hi1 = max(lo0, q.min), min(hi0, hi)
            if lo1 > hi1:
                raise SortitionError(
                    Msg("sortition.quota.contradictory", attribute=attr, value=v, min=lo1, max=hi1)
                )
            bounds[(attr, v)] = (lo1, hi1)
    return [Bound(a, v, lo, hi) for (a, v), (lo, hi) in sorted(bounds.items())]


def check_counts(people: Sequence[Person], bounds: Sequence[Bound], k: int) -> None:
    """Checks that need no solver: each one names the constraint that cannot hold."""
    if k <= 0:
        raise SortitionError(Msg("sortition.error.k_not_positive", k=k))
    if k > len(people):
        raise SortitionError(Msg("sortition.error.k_above_pool", k=k, n=len(people)))
    problems: list[Msg] = []
    by_attr: dict[str, list[Bound]] = {}
    for b in bounds:
        by_attr.setdefault(b.attribute, []).append(b)
        available = sum(1 for p in people if p.value(b.attribute) == b.value)
        if b.min > available:
            problems.append(
                Msg(
                    "sortition.infeasible.not_enough",
                    attribute=b.attribute,
                    value=b.value,
                    min=b.min,
                    available=available,
                )
            )
    for attr in sorted(by_attr):
        group = by_attr[attr]
        mins = sum(b.min for b in group)
        if mins > k:
            problems.append(Msg("sortition.infeasible.mins_above_k", attribute=attr, total=mins, k=k))
        constrained = {b.value: b for b in group}
        room = 0
        for p in people:
            v = p.value(attr)
            if v is None or v not in constrained:
                room += 1
        room += sum(
            min(b.max, sum(1 for p in people if p.value(attr) == b.value)) for b in group
        )
        if room < k:
            problems.append(Msg("sortition.infeasible.maxes_below_k", attribute=attr, total=room, k=k))
    if problems:
        raise SortitionError(Msg("sortition.infeasible.header", details=Lines(items=list(problems))))
