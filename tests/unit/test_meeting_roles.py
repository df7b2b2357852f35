"""Rotating meeting roles on a fake clock, in French and English: given at the last reminder among
those who come and said by editing the meeting's one post, rotation and draw, an absent holder
replaced, a swap asked privately and accepted, the roles recorded; refused config keys."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bot.config.problems import problems_from
from bot.kernel.i18n import render_plain
from bot.kernel.model import Command, DirectMessage, Edit, Member, Record, Started
from scenarios.meeting import KIND
from scenarios.meeting.config import MeetingConfig
from scenarios.meeting.roles import assign, next_holder, record, replace_holder
from tests.unit.test_meeting_support import (
    ALICE,
    BOB,
    CHLOE,
    DAN,
    Sim,
    chose,
    context,
    dms,
    edits,
    mref,
    notes,
    paris,
    text,
)

ROLES = {
    "channels": ["general"],
    "title": "Comité",
    "rrule": "FREQ=MONTHLY;BYDAY=-1TU",
    "time": "18:00",
    "roles": ["facilitation", "secrétariat"],
}
MARCH, APRIL, MAY = "main.20260331", "main.20260428", "main.20260526"


def started(config: dict[str, Any] = ROLES, locale: str = "fr") -> Sim:
    sim = Sim(KIND, context(config, locale=locale), paris(2026, 3, 20, 9, 0))
    sim.send(Started())
    return sim


def roles_of(sim: Sim, key: str) -> dict[str, str]:
    occ = sim.state.find(key)  # type: ignore[union-attr]
    assert occ is not None
    return dict(occ.roles)


def swap(holder: Member, whom: str) -> Command:
    return Command(member=holder, name="reunion role echanger", args={"who": whom}, channel="general")


def come(sim: Sim, key: str, *who: Any) -> None:
    for member in who:
        sim.send(chose(member, mref(key, "post"), "yes"))


def test_roles_are_given_at_the_last_reminder_among_those_who_come_and_rotate() -> None:
    sim = started()
    come(sim, MARCH, ALICE, BOB, CHLOE)
    sim.send(chose(DAN, mref(MARCH, "post"), "no"))
    week = sim.run_until(paris(2026, 3, 30, 18, 0))
    # Before the last reminder the post says the roles to come, and gives none yet.
    assert roles_of(sim, MARCH) == {}
    assert "Rôles (facilitation, secrétariat) : donnés au dernier rappel" in text(edits(week)[-1])

    last = edits(sim.run_until(paris(2026, 3, 31, 17, 0)))
    march = roles_of(sim, MARCH)
    assert set(march) == {"facilitation", "secrétariat"}
    assert len(set(march.values())) == 2 and "dan" not in march.values()  # one role each, those who come
    body = text(last[-1])
    names = {"alice": "Alice", "bob": "Bob", "chloe": "Chloe"}
    assert (f"Rôles : facilitation : {names[march['facilitation']]} ; "
            f"secrétariat : {names[march['secrétariat']]}") in body
    assert "reunion role echanger @nom" in body

    # Held: the roles are recorded with the meeting, then rotate. April, the same three come:
    # facilitation goes to someone who never held it.
    held = sim.run_until(paris(2026, 4, 2, 9, 0))
    meeting = next(a for a in held if isinstance(a, Record) and a.kind == "meeting").summary
    assert {r["role"]: r["member"] for r in meeting["roles"]} == march
    page = [e for e in edits(held) if e.ref == mref(MARCH, "post")][-1]
    assert "Rôles : facilitation" in text(page)
    come(sim, APRIL, ALICE, BOB, CHLOE)
    sim.run_until(paris(2026, 4, 30, 9, 0))
    april = roles_of(sim, APRIL)
    assert april["facilitation"] != march["facilitation"]
    come(sim, MAY, ALICE, BOB, CHLOE)
    sim.run_until(paris(2026, 5, 26, 17, 0))
    may = roles_of(sim, MAY)
    # Three meetings, three people: each facilitated once.
    assert {march["facilitation"], april["facilitation"], may["facilitation"]} == {"alice", "bob", "chloe"}


def test_an_absent_holder_is_replaced_by_the_next_in_rotation_said_by_editing_the_post() -> None:
    sim = started()
    come(sim, MARCH, ALICE, BOB, CHLOE, DAN)
    sim.run_until(paris(2026, 3, 31, 17, 0))
    given = roles_of(sim, MARCH)
    gone = given["facilitation"]
    member = next(m for m in (ALICE, BOB, CHLOE, DAN) if m.key == gone)
    out = sim.send(chose(member, mref(MARCH, "post"), "no"))
    after = roles_of(sim, MARCH)
    assert after["secrétariat"] == given["secrétariat"]
    assert after["facilitation"] not in (gone, given["secrétariat"])
    (edit,) = edits(out)
    assert edit.ref == mref(MARCH, "post") and member.name not in text(edit).split("Rôles")[1]
    assert dms(out) == [] and notes(out) == []  # said on the post, nowhere else


def test_a_swap_is_asked_privately_of_the_other_person_and_said_on_the_post_when_accepted() -> None:
    sim = started()
    come(sim, MARCH, ALICE, BOB, CHLOE)
    sim.run_until(paris(2026, 3, 31, 17, 0))
    given = roles_of(sim, MARCH)
    holder = next(m for m in (ALICE, BOB, CHLOE) if m.key == given["secrétariat"])

    assert "pas de rôle" in text(notes(sim.send(swap(DAN, "@Alice")))[0])
    unknown = notes(sim.send(swap(holder, "@Zoé")))
    assert "Je ne trouve personne du nom de « @Zoé »" in text(unknown[0])

    out = sim.send(swap(holder, "@Dan"))
    (ask,) = dms(out)
    assert ask.member == "dan" and [c.id for c in ask.choices] == ["accept", "refuse"]
    assert text(ask) == (f"{holder.name} vous propose de prendre son rôle (secrétariat) à « Comité », "
                         "mardi 31 mars 2026 à 18 h. Acceptez-vous ? (Vous serez alors noté·e présent·e.)")
    assert "Dan peut accepter ou refuser" in text(notes(out)[0])
    assert roles_of(sim, MARCH) == given  # nothing changes before Dan says yes

    done = sim.send(chose(DAN, mref(MARCH, "swap", member="dan"), "accept", channel="dm"))
    assert roles_of(sim, MARCH)["secrétariat"] == "dan"
    # Dan is now noted as coming; the post says both at its next edit, a minute later.
    (edit,) = edits(sim.advance(timedelta(minutes=1)))
    assert "secrétariat : Dan" in text(edit) and "Dan" in text(edit).split("✅")[1].split("\n")[0]
    told = [a for a in done if isinstance(a, DirectMessage)]
    assert [d.member for d in told] == [holder.key] and "Dan prend votre rôle" in text(told[0])
    # Asked once: a second answer changes nothing.
    assert sim.send(chose(DAN, mref(MARCH, "swap", member="dan"), "refuse", channel="dm")) == []


def test_two_holders_trade_roles() -> None:
    sim = started()
    come(sim, MARCH, ALICE, BOB)
    sim.run_until(paris(2026, 3, 31, 17, 0))
    given = roles_of(sim, MARCH)
    facilitator = next(m for m in (ALICE, BOB) if m.key == given["facilitation"])
    other = next(m for m in (ALICE, BOB) if m is not facilitator)
    ask = dms(sim.send(swap(facilitator, other.name)))[0]
    assert "échanger vos rôles" in text(ask)
    sim.send(chose(other, mref(MARCH, "swap", member=other.key), "accept", channel="dm"))
    assert roles_of(sim, MARCH) == {"facilitation": other.key, "secrétariat": facilitator.key}


def test_someone_who_says_yes_late_takes_a_role_no_one_was_left_for() -> None:
    sim = started()
    come(sim, MARCH, ALICE)
    sim.run_until(paris(2026, 3, 31, 17, 0))
    assert list(roles_of(sim, MARCH).values()) == ["alice"]
    come(sim, MARCH, BOB)
    assert roles_of(sim, MARCH) == {"facilitation": "alice", "secrétariat": "bob"}
    (edit,) = edits(sim.advance(timedelta(minutes=1)))
    assert "facilitation : Alice ; secrétariat : Bob" in text(edit)


def test_in_english() -> None:
    sim = started(locale="en")
    come(sim, MARCH, ALICE, BOB, CHLOE)
    last = edits(sim.run_until(paris(2026, 3, 31, 17, 0)))[-1]
    body = text(last, "en")
    assert body.startswith("📅 Meeting: Comité, in 1 hour")
    assert "Roles: facilitation: " in body and "meeting role swap @name" in body
    assert "A reminder by direct message before each meeting? meeting reminders on" in body
    holder = next(m for m in (ALICE, BOB, CHLOE) if m.key == roles_of(sim, MARCH)["facilitation"])
    ask = dms(sim.send(swap(holder, "dan")))[0]
    assert text(ask, "en").endswith("Do you accept? (You will then be noted as attending.)")


def test_a_draw_is_fair_and_reproducible_from_the_meeting() -> None:
    people = [f"p{i:02}" for i in range(12)]
    # The same meeting draws the same people again; over many meetings each gets a fair share.
    assert assign(["a", "b"], people, {}, "main.20260331", "tirage") == \
        assign(["a", "b"], list(reversed(people)), {}, "main.20260331", "tirage")
    counts = Counter(next_holder("a", people, {}, f"main.{n}", "tirage") for n in range(1200))
    assert set(counts) == set(people) and max(counts.values()) < 140 and min(counts.values()) > 60


def test_rotation_never_held_first_then_longest_ago_and_ties_from_the_seed() -> None:
    history: dict[str, dict[str, int]] = {"a": {"x": 3, "y": 1}}
    assert next_holder("a", ["x", "y", "z"], history, "s", "rotation") == "z"  # never held
    assert next_holder("a", ["x", "y"], history, "s", "rotation") == "y"  # longest ago
    ties = {next_holder("a", ["u", "v", "w"], {}, f"seed{n}", "rotation") for n in range(30)}
    assert ties == {"u", "v", "w"}  # not always the first in alphabetical order
    given = assign(["a", "b"], ["x", "y", "z"], history, "s", "rotation")
    assert given == {"a": "z", "b": given["b"]} and given["b"] in ("x", "y")
    replaced = replace_holder(given, "a", ["x", "y"], history, "s", "rotation")
    assert replaced["a"] not in ("z", given["b"]) and list(replaced) == ["a", "b"]
    record(history, replaced, 4)
    assert history["a"][replaced["a"]] == 4


@pytest.mark.parametrize(("roles", "fr", "en"), [
    (["facilitation", "Facilitation"], "le rôle de réunion « Facilitation » est donné deux fois",
     "the meeting role “Facilitation” is listed twice"),
    ([f"r{i}" for i in range(11)], "11 rôles de réunion : 10 au plus", "11 meeting roles: 10 at most"),
    ([""], "rôle de réunion «  » : un nom de 1 à 60 caractères", "meeting role “”: a name of 1 to 60 characters"),
])
def test_config_check_refuses_bad_roles_in_both_languages(roles: list[str], fr: str, en: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        MeetingConfig.model_validate({"series": [{"title": "Comité", "rrule": "FREQ=WEEKLY", "time": "18:00",
                                                  "roles": roles}]})
    (problem,) = problems_from(caught.value, "maillage.toml", "rituals[0]")
    assert problem.key == "rituals[0].series[0].roles"
    assert render_plain(problem.msg, "fr").replace("\u00a0", " ") == fr
    assert render_plain(problem.msg, "en") == en
    with pytest.raises(ValidationError) as caught:
        MeetingConfig.model_validate({"title": "C", "rrule": "FREQ=WEEKLY", "time": "18:00", "roles_by": "hasard"})
    (problem,) = problems_from(caught.value, "maillage.toml")
    assert problem.key == "roles_by" and "rotation" in render_plain(problem.msg, "fr")


def test_a_series_without_roles_says_none_and_records_none() -> None:
    sim = started({k: v for k, v in ROLES.items() if k != "roles"})
    come(sim, MARCH, ALICE)
    out = sim.run_until(paris(2026, 4, 2, 9, 0))
    assert not any("Rôles" in text(e) for e in out if isinstance(e, Edit))
    meeting = next(a for a in out if isinstance(a, Record) and a.kind == "meeting").summary
    assert "roles" not in meeting


def test_the_roles_reach_the_register_and_its_export() -> None:
    from bot.web.register.export import tables
    from tests.unit.register_support import register_of

    sim = started()
    come(sim, MARCH, ALICE, BOB, CHLOE)
    sim.run_until(paris(2026, 4, 2, 9, 0))
    given = roles_of(sim, MARCH)
    recorded = [(e.kind, "meeting", 1, e.at, e.summary) for e in sim.log_entries("meeting")]
    (entry,) = [e for e in register_of(recorded, [ALICE, BOB, CHLOE, DAN]).entries if e.kind == "meeting"]
    assert entry.data["roles"] == [{"role": r, "member": k} for r, k in given.items()]
    names = {"alice": "Alice", "bob": "Bob", "chloe": "Chloe"}
    (_, rows) = tables([entry], name=lambda k: names[k])["meetings"]
    assert rows[0]["roles"] == (f"facilitation: {names[given['facilitation']]}; "
                                f"secrétariat: {names[given['secrétariat']]}")


@pytest.mark.parametrize("attendance", ["ask", "rsvp", "off"])
def test_the_turns_are_remembered_once_the_meeting_is_held_whatever_the_attendance(attendance: str) -> None:
    sim = started({**ROLES, "attendance": attendance})
    come(sim, MARCH, ALICE, BOB)
    sim.run_until(paris(2026, 3, 31, 17, 0))
    assert sim.state.role_history == {}  # type: ignore[union-attr]
    given = roles_of(sim, MARCH)
    sim.run_until(paris(2026, 4, 2, 9, 0))
    number = sim.state.find(MARCH).n  # type: ignore[union-attr]
    assert sim.state.role_history == {"main": {r: {k: number} for r, k in given.items()}}  # type: ignore[union-attr]
