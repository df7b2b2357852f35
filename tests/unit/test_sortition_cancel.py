"""A draw cancelled by an animateur at any phase, one draw per role at a time, and the people a
starter keeps out of the pool (`params["exclude"]`: the mandates ritual's max_consecutive)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_

from bot.kernel.i18n import render_plain
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    DirectMessage,
    Edit,
    Finish,
    Post,
    PrivateNote,
    Record,
    Ref,
    SetTimer,
    Started,
)
from bot.kernel.scenario import RitualSummary
from scenarios.sortition.record import verify_record
from scenarios.sortition.ritual import DrawState
from scenarios.sortition.seed import commitment_of
from tests.spaces import spaces
from tests.unit.test_sortition_ritual import (
    ANNE,
    EVERYONE,
    MEMBERS,
    PER_TERRITORY,
    T0,
    cmd,
    committed,
    ctx,
    run,
    start,
    text,
)


def timers_left(history: list[list[Action]]) -> set[str]:
    """The timers still set after these actions, in order (what the engine would keep)."""
    left: set[str] = set()
    for actions in history:
        for a in actions:
            if isinstance(a, SetTimer):
                left.add(str(a.name))
            elif isinstance(a, CancelTimer):
                left.discard(str(a.name))
    return left


def at_phase(phase: str) -> tuple[DrawState, list[list[Action]]]:
    """A draw brought to `phase`, with every action it produced on the way."""
    st, history = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)])
    if phase == "commit":
        return st, history
    events = [(cmd(MEMBERS[m], "tirage graine", commitment=_commit(m)), T0) for m in ("p01", "p02")]
    events.append((cmd(ANNE, "tirage clore"), T0))
    st, more = run(events, state=st)
    history += more
    if phase == "reveal":
        return st, history
    st, more = run([(cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
                    (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0)], state=st)
    history += more
    if phase == "accept":
        return st, history
    # "accept, after a refusal": a replacement is asked too.
    leaving = st.pending[0]
    st, more = run([(Chose(member=EVERYONE[leaving], ref=f"ask:{leaving}", channel="dm", choice="decline"), T0)],
                   state=st)
    return st, history + more


def _commit(m: str) -> str:
    return commitment_of(f"secret-{m}")


def test_any_cancel_at_any_phase_leaves_no_timer_edits_the_post_and_records_it() -> None:
    for phase in ("commit", "reveal", "accept", "accept_after_refusal"):
        st, history = at_phase(phase)
        assert st.phase == ("accept" if phase.startswith("accept") else phase)
        assert timers_left(history), phase
        asked = list(st.pending)
        st, (out,) = run([(cmd(ANNE, "tirage annuler"), T0 + timedelta(hours=1))], state=st)
        assert st.phase == "cancelled" and timers_left([*history, out]) == set(), phase
        (edit,) = [a for a in out if isinstance(a, Edit)]
        assert edit.ref == Ref(role="announce") and edit.choices == []
        assert spaces(render_plain(edit.text, "fr")) == "Tirage au sort #5 — délégué : annulé — annulation demandée par Anne."
        assert spaces(render_plain(edit.text, "en")) == "Draw #5 — délégué: cancelled — at Anne's request."
        # Whoever was asked to accept hears that they need not answer.
        assert sorted(a.member for a in out if isinstance(a, DirectMessage)) == sorted(asked)
        (rec,) = [a for a in out if isinstance(a, Record)]
        assert rec.summary["status"] == "cancelled" and rec.summary["cancelled_by"] == "anne"
        assert rec.summary["final_panel"] == [] and Finish(outcome="cancelled") in out
        assert rec.summary["record"] is not None and verify_record(rec.summary["record"]).ok


def test_a_cancelled_or_settled_draw_has_nothing_to_cancel() -> None:
    st, _ = at_phase("commit")
    st, _ = run([(cmd(ANNE, "tirage annuler"), T0)], state=st)
    st, (out,) = run([(cmd(ANNE, "tirage annuler"), T0)], state=st)
    assert [a.text.key for a in out if isinstance(a, PrivateNote)] == ["sortition.close.nothing"]


def _open(phase: str, role: str = "délégué", number: int = 4) -> RitualSummary:
    return RitualSummary(kind="draw", number=number, status="open",
                         summary={"role": role, "phase": phase, "k": 3, "panel": []})


def test_a_second_draw_for_the_same_role_is_refused_saying_which_one_runs() -> None:
    for phase in ("commit", "reveal", "accept"):
        c = replace(ctx(), open_rituals=[_open(phase, role="Délégué")])
        st, (out,) = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)], c=c)
        (note,) = out[:1]
        assert isinstance(note, PrivateNote) and note.text.key == "sortition.error.already_running"
        assert "(tirage #4)" in text(note) and "tirage annuler #4" in text(note)
        assert "draw cancel #4" in spaces(render_plain(note.text, "en"))
        assert st.phase == "cancelled" and Finish(outcome="rejected") in out
    # Another role, or a draw that is over, does not hold it.
    for other in (_open("commit", role="trésorier"), _open("done"), _open("cancelled")):
        st, _ = run([(start(quotas=PER_TERRITORY, role="délégué"), T0)], c=replace(ctx(), open_rituals=[other]))
        assert st.phase == "commit"


def test_excluded_people_are_out_of_the_pool_said_and_recorded_with_their_reason() -> None:
    exclude: list[Any] = [{"id": "p03", "reason": "max_consecutive"}, {"id": "p04", "reason": "holds_seat"}, "p05",
                          "nobody-of-the-pool"]
    st, (out,) = run([(Started(by=ANNE, channel="comite",
                               params={"k": 3, "quotas": PER_TERRITORY, "role": "délégué", "rotation": 0,
                                       "exclude": exclude}), T0)])
    assert st.record is not None
    assert [(e.id, e.reason) for e in st.record.excluded] == [
        ("p03", "max_consecutive"), ("p04", "holds_seat"), ("p05", "excluded")]
    assert {"p03", "p04", "p05"}.isdisjoint(p.id for p in st.record.pool) and len(st.record.pool) == 10
    shown = text(out[0])
    assert "10 personnes, parmi les membres du salon Comité" in shown
    assert "Hors du tirage, car arrivé·e au nombre maximal de mandats de suite : P03." in shown
    assert "Hors du tirage, car déjà en poste pour ce rôle : P04." in shown
    assert "Hors du tirage à la demande de l'animation : P05." in shown
    _, (notes,) = run([(cmd(MEMBERS["p03"], "tirage probabilité"), T0)], state=st)
    assert notes[0].text.key == "sortition.probability.out_max_consecutive"  # type: ignore[union-attr]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st_.sets(st_.sampled_from(sorted(MEMBERS)), max_size=6), st_.sampled_from(["a", "b", "c", "d"]))
def test_any_set_of_excluded_people_is_never_drawn_nor_a_replacement(out: set[str], salt: str) -> None:
    reasons = ["max_consecutive", "holds_seat", "excluded"]
    exclude = [{"id": m, "reason": reasons[i % 3]} for i, m in enumerate(sorted(out))]
    st, _ = run([(Started(by=ANNE, channel="comite",
                                 params={"k": 2, "quotas": [], "rotation": 0, "exclude": exclude}), T0)])
    assert st.record is not None and st.phase == "commit"
    events = [(cmd(MEMBERS[m], "tirage graine", commitment=_commit(f"{m}{salt}")), T0) for m in ("p10", "p11")]
    events += [(cmd(ANNE, "tirage clore"), T0),
               (cmd(MEMBERS["p10"], "tirage révéler", secret=f"secret-p10{salt}"), T0),
               (cmd(MEMBERS["p11"], "tirage révéler", secret=f"secret-p11{salt}"), T0)]
    st, _ = run(events, state=st)
    assert st.record is not None and st.phase == "accept"
    for _ in range(3):  # refusals bring replacements from the reserve list
        if not st.pending:
            break
        m = st.pending[0]
        st, _ = run([(Chose(member=EVERYONE[m], ref=f"ask:{m}", channel="dm", choice="decline"), T0)], state=st)
    assert st.record is not None
    assert out.isdisjoint(st.record.panel) and out.isdisjoint(st.record.final_panel)
    assert verify_record(st.record.model_dump(mode="json")).ok
    assert {e.id for e in st.record.excluded} == out


def test_the_result_is_plain_words_and_the_seed_goes_in_the_thread() -> None:
    st = committed("p01", "p02")
    st, outs = run([(cmd(ANNE, "tirage clore"), T0),
                    (cmd(MEMBERS["p01"], "tirage révéler", secret="secret-p01"), T0),
                    (cmd(MEMBERS["p02"], "tirage révéler", secret="secret-p02"), T0)], state=st)
    posts = [a for a in outs[-1] if isinstance(a, Post)]
    (result,) = [e for e in outs[-1] if isinstance(e, Edit) and e.text.key == "sortition.result"]
    (details,) = [p for p in posts if p.text.key == "sortition.result_details"]
    assert result.ref == Ref(role="announce") and details.thread == Ref(role="announce")
    assert st.record is not None and st.record.seed is not None
    assert st.record.seed in text(details) and st.record.seed not in text(result)
    assert "tiré·es au sort" in text(result) and "Billet" not in text(result)
    for m in st.record.panel:
        assert EVERYONE[m].name in text(result)
    assert render_plain(result.text, "en") and render_plain(details.text, "en")

