"""The café-réseau on a fake clock, in French and English: opting in and out, a month's pairs across
organisations, a trio when odd, cross-platform introductions, history across months, newcomers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest

from bot.kernel.commands import Grammar
from bot.kernel.i18n import Mention
from bot.kernel.model import (
    Action,
    DirectMessage,
    Joined,
    Member,
    PrivateNote,
    Record,
    RecordAnswer,
    Started,
)
from scenarios import registry
from scenarios.cafe import KIND, CafeState
from scenarios.cafe.commands import JOIN, LEAVE
from scenarios.cafe.config import CafeConfig
from scenarios.cafe.pairing import (
    BASE,
    FRESH_PER_PERSON,
    Person,
    fresh_matching_exists,
    pair,
    weight,
)
from tests.unit.test_meeting_support import TZ, Sim, command, context, dms, paris, text

CONFIG = {"channels": ["general"], "rrule": "FREQ=MONTHLY;BYDAY=1MO", "time": "10:00"}
START = paris(2027, 1, 1, 9, 0)
ROUND_1 = paris(2027, 1, 4, 10, 0)
ROUND_2 = paris(2027, 2, 1, 10, 0)


def person(key: str, org: str | None, territory: str | None = None, platform: str = "matrix",
           locale: str | None = None) -> Member:
    handle = f"@{key}:reseau.example" if platform == "matrix" else f"U{key.upper()}"
    return Member(key=key, name=key.capitalize(), account=f"{platform}:{handle}", organisation=org,
                  attributes={"territoire": territory} if territory else {}, locale=locale)


def network(*people: Member) -> dict[str, Member]:
    return {m.key: m for m in people}


def started(members: dict[str, Member], locale: str = "fr", config: dict[str, object] | None = None) -> Sim:
    sim = Sim(KIND, context(config or CONFIG, members=members, locale=locale), START)
    sim.send(Started())
    return sim


def opt_in(sim: Sim, *members: Member) -> None:
    for m in members:
        sim.send(command(m, JOIN.name, channel="dm"))


def groups_of(actions: Iterable[Action]) -> list[set[str]]:
    """Who is in a group with whom, read from the introductions (each names the others by mention
    or handle): the ritual's pairs as members see them."""
    out: list[set[str]] = []
    for dm in dms(actions):
        if dm.text.key != "cafe.intro.body":
            continue
        people = dm.text.params["people"]
        named = {p.params["name"].casefold() for p in people.items}  # type: ignore[union-attr]
        group = {dm.member, *named}
        if group not in out:
            out.append(group)
    return out


def state(sim: Sim) -> CafeState:
    assert isinstance(sim.state, CafeState)
    return sim.state


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_opting_in_and_out_is_answered_privately_and_kept_as_an_answer(locale: str) -> None:
    alice = person("alice", "Asso Alpha")
    sim = started(network(alice), locale)
    (answer, note) = sim.send(command(alice, JOIN.name))
    assert answer == RecordAnswer(member="alice", topic="cafe", value="yes")
    assert isinstance(note, PrivateNote) and note.member == "alice" and note.channel == "general"
    said = text(note, locale)
    if locale == "fr":
        assert said.startswith("☕ C'est noté : vous participerez au café-réseau. Prochain tirage des binômes : ")
        assert "lundi 4 janvier 2027" in said and "cafe non" in said
    else:
        assert said.startswith("☕ Noted: you will take part in the network coffee. Next pairing: ")
        assert "coffee no" in said
    # Saying it again changes no answer; in a direct message the answer is a direct message.
    (again,) = sim.send(command(alice, JOIN.name, channel="dm"))
    assert isinstance(again, DirectMessage) and again.member == "alice"
    (off, note) = sim.send(command(alice, LEAVE.name, channel="dm"))
    assert off == RecordAnswer(member="alice", topic="cafe", value="no") and isinstance(note, DirectMessage)
    assert text(note, locale) == ("C'est noté : vous ne participerez plus au café-réseau. Pour revenir : cafe oui."
                                  if locale == "fr" else
                                  "Noted: you will no longer take part in the network coffee. To come back: coffee yes.")
    assert sim.book.current("alice", "cafe").value == "no"  # type: ignore[union-attr]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_month_pairs_across_organisations_and_introduces_each_privately(locale: str) -> None:
    people = [person("alice", "Alpha", "Nord"), person("bruno", "Alpha", "Sud"), person("chloe", "Beta", "Nord"),
              person("dina", "Beta", "Sud"), person("eloi", "Gamma", "Est"), person("fanny", "Gamma", "Ouest")]
    sim = started(network(*people), locale)
    opt_in(sim, *people)
    out = sim.run_until(ROUND_1)
    groups = groups_of(out)
    assert len(groups) == 3 and set().union(*groups) == {p.key for p in people}
    org = {p.key: p.organisation for p in people}
    assert all(len({org[k] for k in g}) == len(g) for g in groups)  # nobody meets their own organisation
    assert len(dms(out)) == 6 and all(dm.valid_until is not None for dm in dms(out))
    (record,) = [a for a in out if isinstance(a, Record)]
    assert record.kind == "cafe" and record.summary["cafes"] == 3 and record.summary["people"] == 6
    assert record.summary["round"] == "2027-01-04" and len(record.summary["seed"]) == 64
    alice_dm = next(dm for dm in dms(out) if dm.member == "alice")
    said = text(alice_dm, locale)
    if locale == "fr":
        assert said.startswith("☕ Café-réseau de janvier 2027\nCe mois-ci, je vous propose de rencontrer :\n• ")
        assert "Prenez contact pour un café" in said
    else:
        assert said.startswith("☕ Network coffee, January 2027\nThis month, I suggest you meet:\n• ")
    # Nothing in public: only direct messages, a record and the next round's timer.
    assert all(isinstance(a, DirectMessage | Record) or a.action == "set_timer" for a in out)
    # Territories differ wherever they can: here every pair can cross.
    terr = {p.key: p.attributes["territoire"] for p in people}
    assert all(len({terr[k] for k in g}) == 2 for g in groups)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_odd_count_makes_one_trio(locale: str) -> None:
    people = [person("alice", "Alpha"), person("bruno", "Beta"), person("chloe", "Gamma"), person("dina", "Delta"),
              person("eloi", "Epsilon")]
    sim = started(network(*people), locale)
    opt_in(sim, *people)
    out = sim.run_until(ROUND_1)
    groups = groups_of(out)
    assert sorted(len(g) for g in groups) == [2, 3]
    trio = next(g for g in groups if len(g) == 3)
    one = next(dm for dm in dms(out) if dm.member in trio)
    assert ("vous êtes trois" if locale == "fr" else "you are three") in text(one, locale)
    assert text(one, locale).count("• ") == 2
    assert sim.records("cafe")[0].summary["trios"] == 1


def test_nobody_is_paired_inside_their_organisation_even_when_someone_stays_alone() -> None:
    people = [person("alice", "Alpha"), person("bruno", "Alpha"), person("chloe", "Alpha"), person("dina", "Alpha"),
              person("eloi", "Beta")]
    sim = started(network(*people))
    opt_in(sim, *people)
    out = sim.run_until(ROUND_1)
    (group,) = groups_of(out)
    assert "eloi" in group and len(group) == 2  # Beta meets one of Alpha; no trio of two Alphas
    alone = [dm for dm in dms(out) if dm.text.key == "cafe.intro.alone"]
    assert len(alone) == 3
    assert text(alone[0]).startswith("☕ Café-réseau de janvier 2027 : pas de rencontre pour vous ce mois-ci")
    assert sim.records("cafe")[0].summary == {**sim.records("cafe")[0].summary, "cafes": 1, "alone": 3}


def test_a_slack_member_and_a_matrix_member_are_told_how_to_reach_each_other_on_their_platform() -> None:
    alice = person("alice", "Alpha", "Nord", platform="matrix")
    bruno = person("bruno", "Beta", "Sud", platform="slack", locale="en")
    sim = started(network(alice, bruno))
    opt_in(sim, alice, bruno)
    out = sim.run_until(ROUND_1)
    to_alice = next(dm for dm in dms(out) if dm.member == "alice")
    to_bruno = next(dm for dm in dms(out) if dm.member == "bruno")
    assert "• Bruno (Beta, Sud) — sur Slack : UBRUNO" in text(to_alice, "fr")
    # Bruno reads English: his message, rendered in his language, names Alice's Matrix handle.
    assert "• Alice (Alpha, Nord) — on Matrix: @alice:reseau.example" in text(to_bruno, "en")


def test_on_the_same_platform_the_other_is_a_mention() -> None:
    alice, bruno = person("alice", "Alpha"), person("bruno", None)
    sim = started(network(alice, bruno))
    opt_in(sim, alice, bruno)
    out = sim.run_until(ROUND_1)
    to_alice = next(dm for dm in dms(out) if dm.member == "alice")
    reach = to_alice.text.params["people"].items[0].params["reach"]  # type: ignore[union-attr]
    assert reach.params["who"] == Mention(member="bruno", name="Bruno")  # type: ignore[union-attr]
    assert "• Bruno (organisation non renseignée) — écrivez-lui ici : Bruno" in text(to_alice)


def test_who_opts_out_is_not_paired_next_month_and_who_stays_is_still() -> None:
    people = [person("alice", "Alpha"), person("bruno", "Beta"), person("chloe", "Gamma"), person("dina", "Delta")]
    sim = started(network(*people))
    opt_in(sim, *people)
    assert len(groups_of(sim.run_until(ROUND_1))) == 2
    sim.send(command(people[3], LEAVE.name, channel="dm"))
    out = sim.run_until(ROUND_2)
    groups = groups_of(out)
    assert len(groups) == 1 and len(groups[0]) == 3 and "dina" not in groups[0]
    assert all(dm.member != "dina" for dm in dms(out))


def test_never_met_pairs_come_first_across_months() -> None:
    # Four people of four organisations have exactly three ways to pair: three months, three ways.
    people = [person("alice", "Alpha"), person("bruno", "Beta"), person("chloe", "Gamma"), person("dina", "Delta")]
    sim = started(network(*people))
    opt_in(sim, *people)
    seen: list[frozenset[str]] = []
    for month in (1, 2, 3):
        seen += [frozenset(g) for g in groups_of(sim.run_until(paris(2027, month, 8, 12, 0)))]
    assert len(seen) == 6 and len(set(seen)) == 6
    assert state(sim).rounds == 3 and all(m.times == 1 for m in state(sim).met)
    # The fourth month must repeat: the pair unseen the longest comes back.
    fourth = {frozenset(g) for g in groups_of(sim.run_until(paris(2027, 4, 8, 12, 0)))}
    assert fourth == set(seen[:2])


def test_a_newcomer_meets_a_member_of_long_standing() -> None:
    elders = [person("alice", "Alpha", "Nord"), person("bruno", "Beta", "Nord")]
    newcomers = [person("chloe", "Gamma", "Sud"), person("dina", "Delta", "Sud")]
    sim = started(network(*elders, *newcomers))
    for n in newcomers:
        sim.send(Joined(member=n, channel="general"))
    opt_in(sim, *elders, *newcomers)
    groups = groups_of(sim.run_until(ROUND_1))
    # Without the newcomer bonus, two territories would pair Nord with Sud just as well: here
    # the bonus is what keeps the two newcomers apart, each with an elder.
    assert all(len(g & {"chloe", "dina"}) == 1 for g in groups)
    assert {a.member for a in state(sim).arrived} == {"chloe", "dina"}


def test_the_same_seed_gives_the_same_pairs_and_the_round_date_changes_it() -> None:
    people = [Person(f"p{i}", f"org{i % 5}", None, False) for i in range(20)]
    assert pair(people, {}, "s1") == pair(list(reversed(people)), {}, "s1")
    assert len({pair(people, {}, f"s{i}").groups for i in range(5)}) > 1


def test_weights_make_one_more_never_met_pair_worth_more_than_every_other_bonus() -> None:
    n = 10
    # The richest repeated pair (territories, a newcomer, met long ago), n/2 of them in a matching…
    best_repeat = weight(Person("a", "A", "Nord", True), Person("b", "B", "Sud", False), 99, n)
    # …weigh less than what a bare never-met pair adds over a bare repeated one.
    bare = (Person("c", "C", None, False), Person("d", "D", None, False))
    assert weight(*bare, None, n) - weight(*bare, 1, n) > best_repeat * (n // 2)
    assert weight(*bare, None, n) == BASE + FRESH_PER_PERSON * n


def test_the_check_of_unrepeated_pairings_catches_a_needless_repeat() -> None:
    people = [Person(k, o, None, False) for k, o in (("a", "A"), ("b", "B"), ("c", "C"), ("d", "D"))]
    met = {("a", "b"): 1, ("c", "d"): 1}
    # Repeating a-b and c-d again was avoidable: a-c and b-d never met.
    assert fresh_matching_exists(people, met, "x")
    assert not fresh_matching_exists(people, {**met, ("a", "c"): 1, ("a", "d"): 1}, "x")
    chosen = pair(people, met, "x")
    assert all(tuple(sorted(g)) not in met for g in chosen.groups)


def test_a_late_round_is_skipped_and_the_next_comes_on_schedule() -> None:
    people = [person("alice", "Alpha"), person("bruno", "Beta")]
    sim = started(network(*people))
    opt_in(sim, *people)
    out = sim.run_until(ROUND_1 + timedelta(days=4), down_until=ROUND_1 + timedelta(days=3))
    assert dms(out) == [] and len(state(sim).skipped) == 1 and state(sim).next_due == ROUND_2


def test_the_commands_in_both_languages_and_the_schedule() -> None:
    grammar = Grammar([spec for _, spec in registry().commands()])
    for typed, spec in (("cafe oui", JOIN), ("café oui", JOIN), ("coffee yes", JOIN), ("cafe non", LEAVE),
                        ("coffee no", LEAVE)):
        assert grammar.parse(typed).spec is spec, typed
    firings = KIND.upcoming(CONFIG, TZ, START, 3)
    assert [at for at, _ in firings] == [ROUND_1, ROUND_2, paris(2027, 3, 1, 10, 0)]
    with pytest.raises(ValueError):
        CafeConfig.model_validate({"rrule": "FREQ=SOMETIMES"})
    with pytest.raises(ValueError):
        CafeConfig.model_validate({"newcomer_days": -1})
