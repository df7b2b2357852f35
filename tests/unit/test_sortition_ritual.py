"""The draw ritual as a pure state machine: given state, events and times → actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.kernel.commands import CommandError, Grammar
from bot.kernel.i18n import Lines, Mention, Msg, keys_used, render_plain
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    Member,
    Post,
    PrivateNote,
    Record,
    RecordAnswer,
    Ref,
    Replied,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import ChannelInfo, Context, Directory, LogEntry, NetworkInfo
from scenarios.sortition import KIND
from scenarios.sortition.commands import COMMANDS
from scenarios.sortition.record import verify_record
from scenarios.sortition.ritual import DrawConfig, DrawState
from scenarios.sortition.seed import commitment_of
from tests.spaces import spaces

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Twelve members: four per territory, two per organisation; Anne animates; a bot and an
# opted-out member are in the channel too and must never be drawn.
_TERR = ["Nord", "Sud", "Est"]
MEMBERS = {
    f"p{i:02d}": Member(
        key=f"p{i:02d}", name=f"P{i:02d}", account=f"console:p{i:02d}",
        organisation=f"S{i // 2}", attributes={"territoire": _TERR[i % 3]},
    )
    for i in range(12)
}
ANNE = Member(key="anne", name="Anne", account="console:anne", is_animateur=True,
              organisation="S9", attributes={"territoire": "Nord"})
BOT = Member(key="bot", name="Maillage", account="console:bot", is_bot=True)
GONE = Member(key="zoe", name="Zoé", account="console:zoe", opted_out=True, attributes={"territoire": "Nord"})
EVERYONE = {**MEMBERS, "anne": ANNE, "bot": BOT, "zoe": GONE}


def ctx(config: dict[str, Any] | None = None, log: Sequence[LogEntry] = ()) -> Context:
    return Context(
        network=NetworkInfo(name="Réseau", locale="fr", timezone="Europe/Paris"),
        directory=Directory(
            members=EVERYONE,
            channel_members={"comite": sorted(EVERYONE), "general": ["p00", "p01"]},
            groups={"ca": ["p00", "p01", "p02", "p03", "p04", "p05"]},
        ),
        channels={"comite": ChannelInfo("comite", "Comité", "console"),
                  "general": ChannelInfo("general", "Général", "console")},
        config=DrawConfig.model_validate({"min_contributors": 2, **(config or {})}).model_dump(mode="json"),
        number=5,
        log=log,
    )


def run(events: Sequence[tuple[Event, datetime]], c: Context | None = None,
        state: DrawState | None = None) -> tuple[DrawState, list[list[Action]]]:
    sc = KIND.bind(c or ctx())
    st = state or KIND.initial_state()
    out: list[list[Action]] = []
    for ev, at in events:
        st, actions = sc.handle(st, ev, at)
        out.append(actions)
    return st, out


def start(**params: Any) -> Started:
    return Started(by=ANNE, channel="comite", params={"k": 3, "quotas": [], **params})


def cmd(member: Member, name: str, **args: Any) -> Command:
    return Command(member=member, name=name, args=args, channel="comite")


def text(a: Action) -> str:
    assert isinstance(a, Post | Edit | PrivateNote | DirectMessage)
    return spaces(render_plain(a.text))


def quota(attribute: str, lo: int, hi: int | None, value: str | None = None) -> dict[str, Any]:
    return {"attribute": attribute, "value": value, "min": lo, "max": hi}


PER_TERRITORY = [quota("territoire", 1, 1), quota("structure", 0, 1)]


def started() -> DrawState:
    st, _ = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)])
    return st


def committed(*who: str) -> DrawState:
    st = started()
    events = [(cmd(MEMBERS[m], "tirage graine", commitment=commitment_of(f"secret-{m}")), T0) for m in who]
    st, _ = run(events, state=st)
    return st


def drawn() -> DrawState:
    st = committed("p01", "p02")
    st, _ = run([(cmd(ANNE, "tirage clore"), T0),
                 (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
                 (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0)], state=st)
    assert st.phase == "accept"
    return st


# --- commands ---------------------------------------------------------------------------


GRAMMAR = Grammar(list(COMMANDS))


@pytest.mark.parametrize(
    ("typed", "args"),
    [
        ("tirage 3", {"k": 3, "quotas": []}),
        ('tirage 3 parmi #comite territoire=1 structure<=1 role "délégué"',
         {"k": 3, "pool": "#comite", "role": "délégué",
          "quotas": [quota("territoire", 1, 1), quota("structure", 0, 1)]}),
        ("draw 2 from ca gender>=1 rotation=2 balance",
         {"k": 2, "pool": "ca", "rotation": 2, "balance": True, "quotas": [quota("gender", 1, None)]}),
        ("tirage 4 parmi comite territoire:Nord=2", {"k": 4, "pool": "comite", "quotas": [quota("territoire", 2, 2, "Nord")]}),
    ],
)
def test_start_command_grammar(typed: str, args: dict[str, Any]) -> None:
    parsed = GRAMMAR.parse(typed)
    assert parsed.spec.name == "tirage" and parsed.args == args


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("tirage", "sortition.cmd.missing_k"),
        ("tirage trois", "sortition.cmd.bad_k"),
        ("tirage 3 parmi", "sortition.cmd.missing_pool"),
        ("tirage 3 territoire=", "sortition.quota.bad_syntax"),
        ("tirage 3 rotation=deux", "sortition.cmd.bad_rotation"),
        ("tirage 3 n'importe", "sortition.cmd.not_understood"),
        ("tirage graine", "sortition.cmd.missing_commitment"),
        ("draw reveal", "sortition.cmd.missing_secret"),
        ("tirage probabilite maintenant", "sortition.cmd.not_understood"),
    ],
)
def test_wrong_commands_say_what_was_expected(typed: str, key: str) -> None:
    with pytest.raises(CommandError) as info:
        GRAMMAR.parse(typed)
    assert info.value.msg.key == key
    assert render_plain(info.value.msg, "en") and render_plain(info.value.msg, "fr")


def test_subcommands_in_french_and_english() -> None:
    h = commitment_of("x")
    assert GRAMMAR.parse(f"draw commit {h}").args == {"commitment": h}
    assert GRAMMAR.parse("tirage reveler mon secret").args == {"secret": "mon secret"}
    assert GRAMMAR.parse("tirage révéler « mon secret »").args == {"secret": "mon secret"}
    assert GRAMMAR.parse("draw probability").spec.name == "tirage probabilité"


# --- start ------------------------------------------------------------------------------


def test_start_announces_in_plain_words_and_puts_the_commitments_in_the_thread() -> None:
    st, (actions,) = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)])
    post, details, timer = actions
    assert isinstance(post, Post) and post.ref == Ref(role="announce") and [c.id for c in post.choices] == ["contribute"]
    assert isinstance(details, Post) and details.thread == Ref(role="announce") and not details.choices
    short, thread = text(post), text(details)
    assert st.record is not None
    hashes = (st.record.hashes.pool, st.record.hashes.quotas, st.record.hashes.lottery, st.record.hashes.draw)
    for h in hashes:
        assert h in thread and h not in short
    # The short layer: seats, who, quotas, how to contribute and until when, where fairness is told.
    assert short.startswith("Tirage au sort #5 — délégué : 3 places à pourvoir")
    assert "13 personnes, parmi les membres du salon Comité" in short
    assert "chaque territoire : exactement 1, chaque structure : au plus 1." in short
    assert "Contribuer au hasard" in short and "mardi 3 mars" not in short and "3 mars à 10 h" in short
    assert "Comment est-ce équitable ? Réponse dans le fil" in short
    for jargon in ("SHA", "leximin", "Loterie", "Billet", "maillage-leximin"):
        assert jargon not in short
    assert len(short) < 600, len(short)
    assert "maillage-leximin/1" in thread and "Comment est-ce équitable ?" in thread
    assert timer == SetTimer(name="commit_end", due_at=T0 + timedelta(hours=24))
    pool = [p.id for p in st.record.pool]
    assert "bot" not in pool and "zoe" not in pool and len(pool) == 13


def test_with_the_register_on_the_web_fairness_links_to_the_draws_page() -> None:
    c = ctx()
    c = replace(c, network=replace(c.network, register_url="https://reseau.example.org"))
    _, (actions,) = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)], c=c)
    assert "Comment est-ce équitable ? https://reseau.example.org/registre/tirages/5" in text(actions[0])


def test_pool_from_a_group_or_another_channel() -> None:
    st, _ = run([(start(k=2, pool="ca"), T0)])
    assert st.record is not None and [p.id for p in st.record.pool] == ["p00", "p01", "p02", "p03", "p04", "p05"]
    st, _ = run([(start(k=2, pool="#Général"), T0)])
    assert st.record is not None and [p.id for p in st.record.pool] == ["p00", "p01"]


@pytest.mark.parametrize(
    ("params", "key", "shown"),
    [
        ({"k": 20}, "sortition.error.k_above_pool", "13"),
        ({"quotas": [quota("age", 1, 1)]}, "sortition.quota.unknown_attribute", "territoire"),
        ({"quotas": [quota("territoire", 2, 1)]}, "sortition.quota.min_above_max", "territoire"),
        ({"quotas": [quota("territoire", 1, 1), quota("territoire", 2, 2, "Nord")]},
         "sortition.quota.contradictory", "Nord"),
        ({"k": 4, "quotas": [quota("territoire", 1, 1)]}, "sortition.infeasible.header", "3"),
        ({"pool": "#nulle-part"}, "sortition.error.unknown_pool", "nulle-part"),
    ],
)
def test_impossible_draws_are_explained_privately(params: dict[str, Any], key: str, shown: str) -> None:
    st, (actions,) = run([(start(**params), T0)])
    note, finish = actions
    assert isinstance(note, PrivateNote) and note.member == "anne"
    assert note.text.key == key and shown in text(note)
    assert finish == Finish(outcome="rejected") and st.phase == "cancelled"


def test_quotas_that_only_fail_together_get_the_smallest_relaxation() -> None:
    # Both members of S0 (p00 from Nord, p01 from Sud), and nobody from Nord: each quota can
    # be met alone, not both; the bot says which bound to move, and to what.
    _st, (actions,) = run([(start(quotas=[quota("structure", 2, 2, "S0"), quota("territoire", 0, 0, "Nord")]), T0)])
    note = actions[0]
    assert isinstance(note, PrivateNote) and note.text.key == "sortition.infeasible.combined"
    shown = text(note)
    assert "S0 : descendre le minimum de 2 à 1" in shown or "Nord : monter le maximum de 0 à 1" in shown


# --- seed ------------------------------------------------------------------------------------


def test_assisted_contribution_by_button_and_private_reply() -> None:
    st = started()
    st, (ask, answer) = run([
        (Chose(member=MEMBERS["p03"], ref="announce", channel="comite", choice="contribute"), T0),
        (Replied(member=MEMBERS["p03"], ref="secret:p03", channel="dm", text="  le chat dort  "), T0),
    ], state=st)
    (dm,) = ask
    assert isinstance(dm, DirectMessage) and dm.expects_reply and dm.ref == Ref(role="secret", member="p03")
    post, thanks, row = answer
    assert commitment_of("le chat dort") in text(post) and "le chat dort" not in text(post)
    assert isinstance(thanks, DirectMessage) and thanks.member == "p03"
    # Kept as an answer of its own: the commitment, never the secret.
    assert isinstance(row, RecordAnswer) and (row.topic, row.value) == ("contribution", commitment_of("le chat dort"))
    assert "le chat dort" not in row.model_dump_json()
    (c,) = st.contributions
    assert c.assisted and c.secret == "le chat dort" and c.status == "committed"


@pytest.mark.parametrize(
    ("typed", "key"),
    [("tournesol", "sortition.seed.not_a_commitment"), (commitment_of("secret-p01"), "sortition.seed.duplicate")],
)
def test_bad_commitments_are_refused(typed: str, key: str) -> None:
    st = committed("p01")
    st2, (actions,) = run([(cmd(MEMBERS["p02"], "tirage graine", commitment=typed), T0)], state=st)
    (note,) = actions
    assert isinstance(note, PrivateNote) and note.text.key == key
    assert st2.contributions == st.contributions


def test_reveal_must_wait_and_must_match() -> None:
    st = committed("p01", "p02")
    st, (early, _close, wrong, right) = run([
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
        (cmd(ANNE, "tirage clore"), T0),
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-P01"), T0),
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
    ], state=st)
    assert [a.text.key for a in early if isinstance(a, PrivateNote)] == ["sortition.seed.reveal_too_early"]
    assert [a.text.key for a in wrong if isinstance(a, PrivateNote)] == ["sortition.seed.mismatch"]
    assert [a.text.key for a in right if isinstance(a, Post)] == ["sortition.seed.revealed"]
    assert st.phase == "reveal"


def test_too_few_contributions_extend_once_then_cancel() -> None:
    st = committed("p01")
    st, (early, first, second) = run([
        (cmd(ANNE, "tirage clore"), T0),
        (TimerFired(name="commit_end", due_at=T0 + timedelta(hours=24)), T0 + timedelta(hours=24)),
        (TimerFired(name="commit_end", due_at=T0 + timedelta(hours=48)), T0 + timedelta(hours=48)),
    ], state=st)
    assert [a.text.key for a in early if isinstance(a, PrivateNote)] == ["sortition.seed.not_enough_yet"]
    assert SetTimer(name="commit_end", due_at=T0 + timedelta(hours=48)) in first
    assert any(isinstance(a, Record) and a.summary["status"] == "cancelled" for a in second)
    assert Finish(outcome="cancelled") in second and st.phase == "cancelled"


def test_unrevealed_secrets_are_left_out_and_named() -> None:
    st = committed("p01", "p02", "p03")
    due = T0 + timedelta(hours=48)
    st, (_close, _rev, late) = run([
        (cmd(ANNE, "tirage clore"), T0),
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
        (TimerFired(name="reveal_end", due_at=due), due),
    ], state=st)
    assert [a.text.key for a in late if isinstance(a, Post)][:2] == ["sortition.seed.missing", "sortition.result_details"]
    assert [a.text.key for a in late if isinstance(a, Edit)] == ["sortition.result"]
    assert st.record is not None
    assert {c.member: c.status for c in st.record.contributions} == {"p01": "revealed", "p02": "missing", "p03": "missing"}
    assert verify_record(st.record.model_dump(mode="json")).ok


# --- the draw, acceptance and replacement --------------------------------------------------


def test_the_draw_posts_the_panel_records_it_and_asks_each_member() -> None:
    st = drawn()
    assert st.record is not None and len(st.record.panel) == 3
    assert st.pending == st.record.panel
    assert verify_record(st.record.model_dump(mode="json")).ok


def test_everyone_accepts_and_the_draw_is_settled() -> None:
    st = drawn()
    events = [(Chose(member=EVERYONE[m], ref=f"ask:{m}", channel="dm", choice="accept"), T0) for m in st.pending]
    st, outs = run(events, state=st)
    last = outs[-1]
    # The announcement, which became the result, becomes the final panel: an edit in place,
    # no new post in the channel.
    (final,) = [a for a in last if isinstance(a, Edit) and a.text.key == "sortition.final"]
    assert final.ref == Ref(role="announce") and final.choices == []
    assert not any(isinstance(a, Post) and a.thread is None for out in outs for a in out)
    (rec,) = [a for a in last if isinstance(a, Record)]
    assert rec.kind == "draw" and rec.summary["status"] == "done" and rec.summary["role"] == "délégué"
    assert Finish(outcome="done") in last and st.phase == "done"


def test_the_result_edits_the_announcement_no_new_post_in_the_channel() -> None:
    # Issue 15: the draw is one channel post. Its result edits the announcement (its call to
    # contribute over: no choices left); the seed is a reply in its thread; those drawn are
    # asked privately, so the edit need not ping them.
    st = committed("p01", "p02")
    st, outs = run([(cmd(ANNE, "tirage clore"), T0),
                    (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
                    (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0)], state=st)
    last = outs[-1]
    assert not any(isinstance(a, Post) and a.thread is None for a in last)
    (result,) = [a for a in last if isinstance(a, Edit)]
    assert result.ref == Ref(role="announce") and result.choices == [] and result.text.key == "sortition.result"
    assert st.result_on_announce and not st.result_posted
    assert st.record is not None
    assert sorted(a.member for a in last if isinstance(a, DirectMessage)) == sorted(st.record.panel)


def test_a_channel_that_cannot_edit_gets_the_result_posted_and_its_final_panel_edited() -> None:
    c = ctx()
    c = replace(c, channels={**c.channels, "comite": replace(c.channels["comite"], capabilities=replace(
        c.channels["comite"].capabilities, edits=False))})
    st = committed("p01", "p02")
    st, outs = run([(cmd(ANNE, "tirage clore"), T0),
                    (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
                    (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0)], c=c, state=st)
    assert [a.ref for a in outs[-1] if isinstance(a, Post) and a.thread is None] == [Ref(role="result")]
    assert st.result_posted and not st.result_on_announce


def test_a_result_posted_by_an_earlier_release_has_its_own_post_edited() -> None:
    st = drawn().model_copy(update={"result_on_announce": False, "result_posted": True})
    events = [(Chose(member=EVERYONE[m], ref=f"ask:{m}", channel="dm", choice="accept"), T0) for m in st.pending]
    _, outs = run(events, state=st)
    (final,) = [a for a in outs[-1] if isinstance(a, Edit) and a.text.key == "sortition.final"]
    assert final.ref == Ref(role="result")


def test_a_result_posted_by_an_earlier_release_gets_its_final_panel_posted() -> None:
    # Its result's post has no ref to edit: the final panel is posted, as that release did.
    st = drawn().model_copy(update={"result_on_announce": False, "result_posted": False})
    events = [(Chose(member=EVERYONE[m], ref=f"ask:{m}", channel="dm", choice="accept"), T0) for m in st.pending]
    _, outs = run(events, state=st)
    assert any(isinstance(a, Post) and a.text.key == "sortition.final" and a.thread is None for a in outs[-1])
    assert not any(isinstance(a, Edit) and a.text.key == "sortition.final" for a in outs[-1])


@pytest.mark.parametrize(("via", "thanked"), [("poll", False), ("reaction", False), ("button", True), ("form", True)])
@pytest.mark.parametrize("choice", ["accept", "decline"])
def test_an_answer_seen_where_given_is_not_confirmed_privately(via: str, thanked: bool, choice: str) -> None:
    # A vote in the poll shows itself; a click on a button leaves no trace and is confirmed.
    st = drawn()
    m = st.pending[0]
    _, (actions,) = run([(Chose(member=EVERYONE[m], ref=f"ask:{m}", channel="dm", choice=choice, via=via), T0)],
                        state=st)
    notes = [a for a in actions if isinstance(a, DirectMessage) and a.member == m and not a.choices]
    assert bool(notes) is thanked
    assert any(isinstance(a, Post) and a.thread == Ref(role="announce") for a in actions)  # said in the thread


def test_a_refusal_draws_a_replacement_under_the_same_rules() -> None:
    st = drawn()
    assert st.record is not None
    leaving = st.pending[0]
    st, (actions,) = run([(Chose(member=EVERYONE[leaving], ref=f"ask:{leaving}", channel="dm", choice="decline"), T0)],
                         state=st)
    assert CancelTimer(name=f"accept:{leaving}") in actions
    (ask,) = [a for a in actions if isinstance(a, DirectMessage) and a.choices]
    assert st.record is not None
    assert ask.member not in st.record.panel and ask.member in st.record.final_panel
    assert st.record.replacements[0].member == leaving
    assert verify_record(st.record.model_dump(mode="json")).ok
    # The replacement keeps one per territory.
    terr = [EVERYONE[m].attributes["territoire"] for m in st.record.final_panel]
    assert sorted(terr) == ["Est", "Nord", "Sud"]


def test_silence_past_the_deadline_counts_as_a_refusal_or_as_acceptance() -> None:
    st = drawn()
    m = st.pending[0]
    due = T0 + timedelta(hours=72)
    st2, (actions,) = run([(TimerFired(name=f"accept:{m}", due_at=due, payload={"member": m}), due)], state=st)
    assert any(isinstance(a, Post) and a.text.key == "sortition.replace.no_answer" for a in actions)
    assert st2.record is not None and st2.record.replacements[0].reason == "no_answer"
    st3, _ = run([(TimerFired(name=f"accept:{m}", due_at=due), due)], c=ctx({"no_answer": "accept"}), state=st)
    assert m in st3.accepted


def test_only_the_drawn_member_answers_for_themself() -> None:
    st = drawn()
    m = st.pending[0]
    other = next(k for k in MEMBERS if k not in st.pending)
    st2, (actions,) = run([(Chose(member=EVERYONE[other], ref=f"ask:{m}", channel="dm", choice="decline"), T0)],
                          state=st)
    assert actions == [] and st2 == st


# --- probabilities ----------------------------------------------------------------------------


def test_each_member_can_ask_their_probability() -> None:
    st = started()
    assert st.record is not None
    st, outs = run([(cmd(MEMBERS["p00"], "tirage probabilité"), T0),
                    (cmd(GONE, "tirage probabilité"), T0)], state=st)
    (mine,), (gone,) = outs
    assert isinstance(mine, PrivateNote) and mine.text.key == "sortition.probability.yours"
    assert st.record is not None and st.record.probabilities["p00"] in text(mine)
    assert isinstance(gone, PrivateNote) and gone.text.key == "sortition.probability.not_in_pool"


# --- rotation and balance from the log -----------------------------------------------------------


def entry(number: int, days: int, panel: list[str], status: str = "done", role: str = "délégué") -> LogEntry:
    return LogEntry(at=T0 - timedelta(days=days), kind="draw", ritual_kind="draw", ritual_number=number,
                    summary={"role": role, "status": status, "final_panel": panel})


def test_rotation_excludes_the_last_r_draws_of_the_role() -> None:
    log = [
        entry(1, 30, ["p00", "p01", "p02"]),
        entry(2, 20, ["p03", "p04", "p05"], status="drawn"),
        entry(2, 19, ["p03", "p04", "p08"]),  # the settled record of draw 2 wins
        entry(3, 10, ["p06", "p07", "p09"], status="cancelled"),
        entry(4, 5, ["p10", "p11", "p09"], role="trésorier"),
    ]
    st, _ = run([(start(role="Délégué", rotation=1), T0)], c=ctx(log=log))
    assert st.record is not None
    assert [(e.id, e.draw) for e in st.record.excluded] == [("p03", 2), ("p04", 2), ("p08", 2)]
    st, _ = run([(start(role="délégué", rotation=2), T0)], c=ctx(log=log))
    assert st.record is not None and len(st.record.excluded) == 6
    st, outs = run([(start(role="délégué", rotation=2), T0), (cmd(MEMBERS["p00"], "tirage probabilité"), T0)],
                   c=ctx(log=log))
    assert outs[1][0].text.key == "sortition.probability.excluded"  # type: ignore[union-attr]


def test_balance_favours_who_served_less() -> None:
    log = [entry(1, 30, ["p00", "p01", "p02"]), entry(2, 20, ["p00", "p04", "p05"])]
    st, _ = run([(start(role="délégué", rotation=0), T0)], c=ctx({"balance": True}, log=log))
    assert st.record is not None and st.record.history == {"p00": 2, "p01": 1, "p02": 1, "p04": 1, "p05": 1}
    probs = st.record.probabilities
    assert all(probs[m] == "0/1" for m in ("p00", "p01", "p02", "p04", "p05"))
    st, _ = run([(start(role="délégué", rotation=0), T0)], c=ctx({"balance": False}, log=log))
    assert st.record is not None and st.record.history == {} and len(set(st.record.probabilities.values())) == 1


def test_rotation_that_breaks_the_quotas_is_refused_with_advice() -> None:
    # All of Nord's members but one sat on the last two panels: "exactly 2 from Nord" fails.
    nord = [m for m, x in EVERYONE.items() if x.attributes.get("territoire") == "Nord" and not x.opted_out]
    log = [entry(1, 20, nord[:2]), entry(2, 10, nord[2:4])]
    _st, (actions,) = run([(start(role="délégué", rotation=2, quotas=[quota("territoire", 2, 2, "Nord")]), T0)],
                         c=ctx(log=log))
    note = actions[0]
    assert isinstance(note, PrivateNote) and note.text.key == "sortition.rotation.refused"
    shown = text(note)
    assert "rotation=1" in shown and nord[0] in shown


# --- configuration and catalogs ------------------------------------------------------------------


def test_config_accepts_quotas_as_text_or_tables_and_rejects_unknown_keys() -> None:
    cfg = DrawConfig.model_validate({
        "quotas": ["territoire=1", {"attribute": "structure", "max": 1}],
        "roles": {"délégué": {"size": 3, "quotas": ["college>=1"], "rotation": 2}},
    })
    assert [(q.attribute, q.min, q.max) for q in cfg.quotas] == [("territoire", 1, 1), ("structure", 0, 1)]
    role = cfg.for_role("Délégué")
    assert role is not None and role.size == 3
    with pytest.raises(ValidationError):
        DrawConfig.model_validate({"rotaton": 2})
    with pytest.raises(ValidationError):
        DrawConfig.model_validate({"quotas": ["territoire"]})


def test_role_defaults_come_from_the_config() -> None:
    c = ctx({"roles": {"délégué": {"size": 2, "group": "ca", "quotas": ["territoire<=1"]}}})
    st, _ = run([(Started(by=ANNE, channel="comite", params={"role": "délégué", "quotas": []}), T0)], c=c)
    assert st.record is not None and st.record.k == 2 and len(st.record.pool) == 6


def test_every_message_of_a_whole_draw_renders_in_both_languages() -> None:
    st = committed("p01", "p02")
    m_events: list[tuple[Event, datetime]] = [
        (cmd(ANNE, "tirage clore"), T0),
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
        (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0),
    ]
    st, outs = run(m_events, state=st)
    msgs: list[Msg] = [a.text for acts in outs for a in acts if isinstance(a, Post | PrivateNote | DirectMessage)]
    assert keys_used(msgs)
    for msg in msgs:
        assert render_plain(msg, "fr") and render_plain(msg, "en")


def _mentioned(msg: object) -> list[str]:
    """The members a message mentions (pings), walking its parameters."""
    found: list[str] = []

    def walk(p: object) -> None:
        if isinstance(p, Mention):
            found.append(p.member)
        elif isinstance(p, Msg):
            for v in p.params.values():
                walk(v)
        elif isinstance(p, Lines):
            for v in p.items:
                walk(v)

    walk(msg)
    return found


def test_the_thread_names_without_mentioning_except_those_who_must_act() -> None:
    # Issue 15: a mention is an interruption. Who committed, revealed, accepted, declined or
    # replaced someone is named in words (they just acted, or are asked privately); only those
    # who must reveal their secret are mentioned.
    st = committed("p01", "p02", "p03")
    st, (close, _rev, late) = run([
        (cmd(ANNE, "tirage clore"), T0),
        (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
        (TimerFired(name="reveal_end", due_at=T0 + timedelta(hours=48)), T0 + timedelta(hours=48)),
    ], state=st)
    (phase,) = [a for a in close if isinstance(a, Post) and a.text.key == "sortition.seed.reveal_phase"]
    assert sorted(_mentioned(phase.text)) == ["p01", "p02", "p03"]
    thread = [a for a in late if isinstance(a, Post) and a.thread is not None]
    assert {a.text.key for a in thread} >= {"sortition.seed.missing", "sortition.result_details"}
    assert all(_mentioned(a.text) == [] for a in thread)
    assert st.record is not None
    first, second = st.pending[0], st.pending[1]
    st, outs = run([(Chose(member=EVERYONE[first], ref=f"ask:{first}", channel="dm", choice="accept"), T0),
                    (Chose(member=EVERYONE[second], ref=f"ask:{second}", channel="dm", choice="decline"), T0)], state=st)
    said = [a for out in outs for a in out if isinstance(a, Post)]
    assert {a.text.key for a in said} == {"sortition.accept.accepted", "sortition.replace.declined"}
    assert all(_mentioned(a.text) == [] for a in said)
    assert EVERYONE[second].name in text(next(a for a in said if a.text.key == "sortition.replace.declined"))
