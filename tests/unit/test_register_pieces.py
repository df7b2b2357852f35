"""The register's pieces without a database: personal links (signed, expiring, any change
refused), the projection of records (tolerant of any summary), page addresses, the export's
encoding, and the digest's links to the register's pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.register_links import Pass, read, sign
from bot.kernel.i18n import render_plain
from bot.kernel.model import Post, Started
from bot.kernel.register import Entry, page_link, page_path
from bot.store.register_projection import PeopleIndex, Someone, project
from bot.web.register.export import files
from bot.web.register.pages import word_diff
from scenarios.digest import KIND as DIGEST
from tests.unit.register_support import register_of
from tests.unit.test_meeting_support import MEMBERS, Sim, context, paris

SECRET = "s" * 40
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def test_a_link_reads_back_and_any_change_is_refused() -> None:
    p = Pass(network_id=1, person_id=7, generation=3, expires=int((T0 + timedelta(days=7)).timestamp()))
    token = sign(SECRET, p)
    assert read(SECRET, token) == p
    assert read("t" * 40, token) is None, "another network's secret"
    for i in range(len(token)):
        for c in "A0_-.":
            changed = token[:i] + c + token[i + 1:]
            if changed != token:
                assert read(SECRET, changed) != p, (i, c)
    assert not p.expired(T0 + timedelta(days=6, hours=23)) and p.expired(T0 + timedelta(days=7))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_a_junk_token_is_refused_without_raising(junk: str) -> None:
    assert read(SECRET, junk) is None


PEOPLE = PeopleIndex([Someone(1, "alice", "Alice", "La Ruche"), Someone(2, "bob", "Bob", None),
                      Someone(3, "bea", "Bob", "Le Four")], aliases={"old-alice": 1})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["decision", "election", "draw", "meeting", "attendance", "minutes", "welcome", "x"]),
       st.dictionaries(st.sampled_from(["title", "outcome", "names", "history", "counts", "record", "meeting",
                                        "present", "expected", "nominations", "changes", "final_tally",
                                        "attempts", "panel", "final_panel", "status", "start", "version",
                                        "by_organisation", "anonymous", "objections", "elected"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                                    lambda inner: st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)))
def test_any_summary_projects_without_raising(kind: str, summary: dict[str, Any]) -> None:
    project(kind, 1, "consent", 1, T0, summary, PEOPLE)


def test_names_become_people_only_when_the_directory_can_tell() -> None:
    w = project("decision", 1, "consent", 4, T0, {
        "title": "T", "version": 1, "outcome": "adopted", "anonymous": False,
        "names": {"consent": ["Alice", "Bob"], "objection": ["Inconnue"]},
        "objections": [{"by": "Inconnue", "reason": "trop tôt"}]}, PEOPLE)
    assert w is not None
    answers = w.answers[1]
    assert [(a.person_id, a.name, a.choice) for a in answers] == [
        (1, None, "consent"), (None, "Bob", "consent"), (None, "Inconnue", "objection")]
    assert answers[2].reason == "trop tôt"
    anonymous = project("decision", 1, "consent", 5, T0, {"title": "T", "anonymous": True,
                                                            "names": {"consent": ["Alice"]}}, PEOPLE)
    assert anonymous is not None and anonymous.answers == {}, "an anonymous round keeps counts only"
    attendance = project("attendance", 1, "meeting", 1, T0, {"meeting": "m.1", "present": ["old-alice"],
                                                              "expected": ["old-alice", "bob"]}, PEOPLE)
    assert attendance is not None
    assert [(a.person_id, a.choice) for a in attendance.answers[1]] == [(2, "absent"), (1, "present")]


def test_what_changed_between_two_texts() -> None:
    marked = str(word_diff("Le budget <b>2027</b> est voté", "Le budget 2027 chiffré est voté"))
    assert marked == "Le budget <del>&lt;b&gt;2027&lt;/b&gt;</del> <ins>2027 chiffré</ins> est voté"


def test_page_addresses() -> None:
    assert page_path("decision", 3) == "/registre/decisions/3"
    assert page_link("https://r.example.org/", "draw", 2) == "https://r.example.org/registre/tirages/2"
    assert page_link(None, "draw", 2) is None and page_link("https://r.example.org", "welcome", 1) is None


def test_the_export_is_utf8_with_a_bom_and_quotes_what_it_must() -> None:
    entry = Entry(kind="decision", ritual_kind="consent", number=1, title='Budget « 2027 », "chiffré"\nv2',
                  status="adopted", recorded_at=T0)
    content = files([entry])
    assert content["decisions.csv"].startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content["decisions.csv"].decode("utf-8-sig"), newline="")))
    assert rows == [], "no version recorded: no row"
    assert set(content) == {f"{t}.{x}" for t in ("decisions", "answers", "elections", "draws", "meetings",
                                                  "attendance") for x in ("csv", "json")}


@pytest.mark.parametrize("base_url", ["https://reseau.example.org", None])
def test_the_digest_links_each_item_to_its_page(base_url: str | None) -> None:
    register = register_of([
        ("decision", "consent", 2, paris(2026, 3, 25, 18, 0), {"title": "Charte graphique", "outcome": "adopted"}),
        ("draw", "draw", 1, paris(2026, 3, 26, 12, 0), {"role": "Délégué·e", "status": "done",
                                                        "final_panel": ["chloe"]}),
    ], list(MEMBERS.values()), base_url)
    ctx = context({"channels": ["general"], "rrule": "FREQ=WEEKLY;BYDAY=FR", "time": "16:00"})
    from dataclasses import replace

    sim = Sim(DIGEST, replace(ctx, register=register), paris(2026, 3, 20, 17, 0))
    sim.send(Started())
    (post,) = [a for a in sim.run_until(paris(2026, 3, 27, 16, 0)) if isinstance(a, Post)]
    text = render_plain(post.text, "fr").replace("\u00a0", " ")
    if base_url:
        assert "Charte graphique" in text and "— https://reseau.example.org/registre/decisions/2" in text
        assert "Chloe" in text and "— https://reseau.example.org/registre/tirages/1" in text
    else:
        assert "registre" not in text and "Charte graphique" in text
