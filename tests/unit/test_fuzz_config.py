"""The config loader fuzzed: any TOML-ish input validates or gives problems that render, never a crash."""

from __future__ import annotations

import os
import tomllib
import types
import typing
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.matrix.config import MatrixSection
from adapters.slack.config import SlackSection
from bot.cli.adapters import platform_configs
from bot.config import (
    ChannelEntry,
    ConfigError,
    MemberEntry,
    NetworkSection,
    load,
    validate,
)
from bot.kernel.i18n import render_plain
from scenarios import registry

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
EXAMPLE_RAW = tomllib.loads(EXAMPLE.read_text("utf-8"))
PATH = Path("fuzz.toml")
REGISTRY = registry()
PLATFORMS = platform_configs()
KINDS = sorted(REGISTRY.kinds)
SCALE = float(os.environ.get("MAILLAGE_FUZZ_SCALE", "1"))
"""Multiplies every example count: MAILLAGE_FUZZ_SCALE=20 for a deep run before a release."""


def examples(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# Values a person might type in each kind of field: valid ones and near misses.
WORDS = ["general", "alice", "bob", "console:alice", "matrix:@alice:example.org", "slack:U0123",
         "irc:x", "console:", ":x", "", " ", "Nord", "comite", "#comite", "é", "\u00a0", "🙂"]
TIMES = ["18:00", "09:00", "9h", "25:00", "18:61", "", "noon", "18:00:00", "T18:00"]
DURATIONS = ["P7D", "PT1H", "7d", "1 day", "2 jours", "1h30", "-P1D", "", "0", "P99999999D", "soon"]
RRULES = ["FREQ=WEEKLY;BYDAY=TU", "FREQ=MONTHLY;BYDAY=1MO", "FREQ=DAILY", "FREQ=YEARLY;BYMONTH=13",
          "FREQ=NEVER", "RRULE:FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=-1", "", "DTSTART:2026", "FREQ=HOURLY"]
ZONES = ["Europe/Paris", "UTC", "America/Cayenne", "Mars/Olympus", "", "../../etc/passwd", "europe/paris"]
URLS = ["sqlite+aiosqlite:///maillage.db", "postgresql+asyncpg://u@h/db", "", "nope", "sqlite://"]

toml_scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(WORDS + TIMES + DURATIONS + RRULES),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(timezones=st.just(UTC)) | st.datetimes(),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # One value in six is anything at all: most examples then get past the type checks and
    # reach the kinds' own validators, where the interesting failures are.
    return st.integers(min_value=0, max_value=5).flatmap(lambda n: toml_values if n == 0 else plausible)


def _for_annotation(ann: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Plausible values for a pydantic field type, now and then anything TOML can hold."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_for_annotation(a, depth) for a in args if a is not type(None)])
    if origin is typing.Literal:
        return _mostly(st.sampled_from(args))
    if origin is list:
        return _mostly(st.lists(_for_annotation(args[0], depth + 1), max_size=3))
    if origin is dict:
        return _mostly(st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=8),
                                       _for_annotation(args[1], depth + 1), max_size=3))
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return model_tables(ann, depth + 1) if depth < 3 else toml_values
    plausible: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(min_value=-5, max_value=50) | st.integers(),
        float: st.floats(min_value=-1, max_value=200) | st.floats(),
        str: st.sampled_from(WORDS + TIMES + DURATIONS + RRULES + ZONES),
        timedelta: st.sampled_from(DURATIONS) | st.integers(min_value=-10, max_value=10**7),
        time: st.sampled_from(TIMES) | st.times(),
        datetime: st.datetimes(timezones=st.just(UTC)),
        date: st.dates(),
    }
    return _mostly(plausible.get(ann, toml_values))


def model_tables(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Tables near `model`: any subset of its fields, plausible values, sometimes a stray key."""
    fields = {name: _for_annotation(f.annotation, depth) for name, f in model.model_fields.items()}
    stray = st.integers(min_value=0, max_value=5).flatmap(
        lambda n: st.dictionaries(st.text(max_size=10), toml_values, min_size=1, max_size=1) if n == 0
        else st.just({}))
    return st.builds(lambda known, extra: {**known, **extra}, st.fixed_dictionaries({}, optional=fields), stray)


def kind_options(kind_name: str) -> st.SearchStrategy[dict[str, Any]]:
    kind = REGISTRY.kinds.get(kind_name)
    model = kind.config_model if kind is not None else None
    return model_tables(model) if model is not None else st.just({})


def _ritual(kind_name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda head, opts: {**opts, **head},
        st.fixed_dictionaries({"id": st.sampled_from(["charte", "r1", "r2", ""]), "kind": st.just(kind_name)},
                              optional={"channels": st.lists(st.sampled_from(WORDS), max_size=3)}),
        kind_options(kind_name),
    )


defaults_tables = st.lists(
    st.sampled_from([*KINDS, "nope"]).flatmap(lambda k: st.tuples(st.just(k), kind_options(k))), max_size=2,
).map(dict)


rituals = st.sampled_from([*KINDS, "nope", ""]).flatmap(_ritual)
near_schema = st.builds(
    lambda known, wrong: {**known, **wrong},
    st.fixed_dictionaries(
        {"network": model_tables(NetworkSection)},
        optional={
            "store": st.fixed_dictionaries({}, optional={"url": st.sampled_from(URLS), "url_env": st.text(max_size=8)}),
            "matrix": model_tables(MatrixSection),
            "slack": model_tables(SlackSection),
            "channels": st.lists(model_tables(ChannelEntry), max_size=3),
            "members": st.lists(model_tables(MemberEntry), max_size=3),
            "roles": st.dictionaries(st.sampled_from(["animateurs", "animateur", "tresorerie"]),
                                     st.lists(st.sampled_from(WORDS), max_size=3), max_size=2),
            "groups": st.dictionaries(st.sampled_from(["comite", ""]), st.lists(st.sampled_from(WORDS), max_size=3),
                                      max_size=2),
            "rituals": st.lists(rituals, max_size=3),
            "defaults": defaults_tables,
        },
    ),
    # Now and then a whole section of the wrong type, or a key that does not exist.
    st.dictionaries(st.sampled_from(["network", "channels", "members", "roles", "rituals", "extra"]),
                    toml_values, max_size=1),
)


SKELETON = {
    "network": {"name": "Réseau", "timezone": "Europe/Paris"},
    "channels": [{"id": "general", "platform": "console", "room": "general"},
                 {"id": "comite", "platform": "console", "room": "comite"}],
    "members": [{"id": "alice", "accounts": ["console:alice"], "territoire": "Nord"},
                {"id": "bob", "accounts": ["console:bob"], "territoire": "Sud"}],
    "roles": {"animateurs": ["alice"]},
    "groups": {"comite": ["alice", "bob"]},
}
# A valid network around fuzzed rituals: the kinds' option models are reached on every example.
fuzzed_rituals = st.builds(
    lambda rs, ds: {**_copy(SKELETON), "rituals": rs, "defaults": ds},
    st.lists(st.sampled_from(KINDS).flatmap(_ritual), min_size=1, max_size=3),
    defaults_tables,
)


def check(raw: Any) -> None:
    """Either a valid config, or a ConfigError whose every message renders in both languages."""
    try:
        validate(raw, REGISTRY, PATH, PLATFORMS)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError lists at least one problem"
        for msg in exc.messages():
            for locale in ("fr", "en"):
                assert render_plain(msg, locale).strip()


def test_the_example_itself_is_valid() -> None:
    """The mutations start from a valid file, or they would only test one kind of error."""
    cfg = validate(EXAMPLE_RAW, REGISTRY, EXAMPLE, PLATFORMS)
    assert [m.id for m in cfg.file.members] == [m["id"] for m in EXAMPLE_RAW["members"]]
    # Each configured ritual has its options: the file's, and the mandates ritual its roles imply.
    assert set(cfg.ritual_options) == {r["id"] for r in EXAMPLE_RAW["rituals"]} | {"mandats"}
    assert [r.id for r in cfg.rituals] == [*(r["id"] for r in EXAMPLE_RAW["rituals"]), "mandats"]


@examples(80)
@given(near_schema)
def test_near_schema_tables_validate_or_explain(raw: dict[str, Any]) -> None:
    check(raw)


@examples(80)
@given(fuzzed_rituals)
def test_fuzzed_ritual_options_validate_or_explain(raw: dict[str, Any]) -> None:
    check(raw)


@examples(100)
@given(toml_values)
def test_any_toml_value_validates_or_explains(raw: Any) -> None:
    check(raw if isinstance(raw, dict) else {"network": raw})


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


@st.composite
def mutated_example(draw: st.DrawFn) -> dict[str, Any]:
    """The example config with a few edits a person could make: a key removed, a value of the
    wrong type or a near miss, a stray key, an entry duplicated."""
    raw: dict[str, Any] = _copy(EXAMPLE_RAW)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(raw)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        op = draw(st.sampled_from(["delete", "replace", "add", "duplicate"]))
        if op == "delete":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(toml_values | st.sampled_from(WORDS + TIMES + RRULES + ZONES))
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=10) | st.sampled_from(["rrule", "time", "id", "kind"]))] = draw(
                toml_values)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(_copy(parent[last]))
    return raw


@examples(100)
@given(mutated_example())
def test_mutated_example_validates_or_explains(raw: dict[str, Any]) -> None:
    check(raw)


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "config.toml"


EXAMPLE_TEXT = EXAMPLE.read_text("utf-8")


@st.composite
def damaged_text(draw: st.DrawFn) -> bytes:
    """The example file with characters or bytes inserted and removed: bad TOML, bad UTF-8."""
    data = bytearray(EXAMPLE_TEXT.encode("utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        if draw(st.booleans()) and len(data) > at:
            del data[at: at + draw(st.integers(min_value=1, max_value=20))]
        else:
            data[at:at] = draw(st.binary(max_size=4) | st.sampled_from(
                [b'"', b"[", b"]]", b"=", b"\n", b"[[rituals]]\n", b"\xff", b"#", b"'''"]))
    return bytes(data)


@examples(100)
@given(damaged_text() | st.binary(max_size=200) | st.text(max_size=200).map(lambda s: s.encode("utf-8")))
def test_damaged_files_load_or_explain(fuzz_file: Path, data: bytes) -> None:
    fuzz_file.write_bytes(data)
    try:
        load(fuzz_file, REGISTRY, PLATFORMS)
    except ConfigError as exc:
        for msg in exc.messages():
            for locale in ("fr", "en"):
                assert render_plain(msg, locale).strip()
