"""People and quota files, quotas typed in commands, and the messages for bad input."""

from __future__ import annotations

import pytest

from bot.kernel.i18n import Msg, render_plain
from scenarios.sortition.pool import (
    Bound,
    Person,
    Quota,
    SortitionError,
    check_counts,
    expand_quotas,
    merge_quotas,
    parse_people_csv,
    parse_quota_token,
    parse_quotas_csv,
)


def _error(fn: object, *args: object) -> Msg:
    with pytest.raises(SortitionError) as info:
        fn(*args)  # type: ignore[operator]
    msg = info.value.msg
    for locale in ("fr", "en"):
        assert render_plain(msg, locale)  # every error renders in both languages
    return msg


PEOPLE = parse_people_csv(
    "id,structure,territoire\n"
    "a,S1,Nord\nb,S1,Sud\nc,S2,Nord\nd,S3,Sud\ne,S3,Est\nf,,Est\n"
)


def test_people_csv_is_read_sorted_with_empty_cells_dropped() -> None:
    people = parse_people_csv("\ufeffid;territoire;genre\nz;Nord;f\na; Sud ;\n")
    assert people == [Person("a", {"territoire": "Sud"}), Person("z", {"territoire": "Nord", "genre": "f"})]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "sortition.csv.empty"),
        ("id,territoire\n", "sortition.csv.empty"),
        ("nom,territoire\nx,Nord\n", "sortition.csv.no_id_column"),
        ("id,territoire,Territoire\nx,Nord,Sud\n", "sortition.csv.duplicate_column"),
        ("id,territoire\nx,Nord\nx,Sud\n", "sortition.csv.duplicate_id"),
        ("id,territoire\n,Nord\n", "sortition.csv.empty_id"),
        ("id,territoire\nx,Nord,en trop\n", "sortition.csv.ragged"),
    ],
)
def test_malformed_people_csv_says_what_is_wrong(text: str, key: str) -> None:
    assert _error(parse_people_csv, text, "people.csv").key == key


def test_quotas_csv_each_value_and_open_maximum() -> None:
    text = "attribute,value,min,max\nterritoire,*,1,1\nstructure,,0,1\ngenre,f,1,\n"
    assert parse_quotas_csv(text) == [
        Quota("territoire", None, 1, 1),
        Quota("structure", None, 0, 1),
        Quota("genre", "f", 1, None),
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("feature,value,min,max\ng,f,1,1\n", "sortition.csv.quota_header"),
        ("attribute,value,min,max\ng,f,un,2\n", "sortition.csv.not_integer"),
        ("attribute,value,min,max\ng,f,-1,2\n", "sortition.csv.not_integer"),
        ("attribute,value,min,max\n,f,1,2\n", "sortition.csv.quota_no_attribute"),
        ("attribute,value,min,max\ng,f,1\n", "sortition.csv.ragged"),
    ],
)
def test_malformed_quotas_csv_says_what_is_wrong(text: str, key: str) -> None:
    assert _error(parse_quotas_csv, text, "quotas.csv").key == key


@pytest.mark.parametrize(
    ("token", "quota"),
    [
        ("territoire=1", Quota("territoire", None, 1, 1)),
        ("structure<=1", Quota("structure", None, 0, 1)),
        ("genre>=1", Quota("genre", None, 1, None)),
        ("college=1-2", Quota("college", None, 1, 2)),
        ("territoire:Nord=2", Quota("territoire", "Nord", 2, 2)),
        ("territoire:Pays basque<=1", Quota("territoire", "Pays basque", 0, 1)),
    ],
)
def test_quota_tokens(token: str, quota: Quota) -> None:
    assert parse_quota_token(token) == quota


@pytest.mark.parametrize("token", ["territoire=", "=1", "territoire<=1-2", "territoire=un"])
def test_bad_quota_token(token: str) -> None:
    assert _error(parse_quota_token, token).key == "sortition.quota.bad_syntax"


def test_expansion_per_value_with_organisation_alias_and_intersection() -> None:
    people = [Person("a", {"organisation": "S1", "territoire": "Nord"}), Person("b", {"organisation": "S2", "territoire": "Sud"})]
    bounds = expand_quotas(
        [Quota("Structure", None, 0, 1), Quota("territoire", None, 0, 2), Quota("TERRITOIRE", "nord", 1, None)],
        people,
        2,
    )
    assert bounds == [
        Bound("organisation", "S1", 0, 1),
        Bound("organisation", "S2", 0, 1),
        Bound("territoire", "Nord", 1, 2),
        Bound("territoire", "Sud", 0, 2),
    ]


def test_command_quotas_replace_configured_ones_for_the_same_attribute() -> None:
    base = [Quota("territoire", None, 1, 1), Quota("genre", None, 1, 2)]
    assert merge_quotas(base, [Quota("Territoire", None, 0, 2)]) == [
        Quota("genre", None, 1, 2),
        Quota("Territoire", None, 0, 2),
    ]


def test_unknown_attribute_lists_the_known_ones() -> None:
    msg = _error(expand_quotas, [Quota("age", None, 1, 1)], PEOPLE, 3)
    assert msg.key == "sortition.quota.unknown_attribute"
    assert "structure, territoire" in render_plain(msg)


def test_unknown_value_lists_the_values_present() -> None:
    msg = _error(expand_quotas, [Quota("territoire", "Ouest", 1, 1)], PEOPLE, 3)
    assert msg.key == "sortition.quota.unknown_value"
    assert "Est, Nord, Sud" in render_plain(msg)


def test_contradictory_quotas() -> None:
    assert _error(expand_quotas, [Quota("territoire", None, 2, 1)], PEOPLE, 3).key == "sortition.quota.min_above_max"
    msg = _error(expand_quotas, [Quota("territoire", None, 2, 3), Quota("territoire", "Nord", 0, 1)], PEOPLE, 3)
    assert msg.key == "sortition.quota.contradictory"
    assert "Nord" in render_plain(msg)


@pytest.mark.parametrize(
    ("quotas", "k", "key", "shown"),
    [
        ([], 7, "sortition.error.k_above_pool", "6"),
        ([], 0, "sortition.error.k_not_positive", "0"),
        ([Quota("territoire", "Est", 3, None)], 3, "sortition.infeasible.header", "Est"),
        ([Quota("territoire", None, 2, 2)], 3, "sortition.infeasible.header", "6"),
        ([Quota("structure", None, 0, 1)], 5, "sortition.infeasible.header", "4"),
    ],
)
def test_counts_that_cannot_work_name_the_constraint(quotas: list[Quota], k: int, key: str, shown: str) -> None:
    bounds = expand_quotas(quotas, PEOPLE, max(k, 1))
    msg = _error(check_counts, PEOPLE, bounds, k)
    assert msg.key == key
    assert shown in render_plain(msg)
