"""The election without candidates, step by step: private nominations, reveal, change round,
and the consent round on the proposed person (the consent machinery, embedded)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.kernel.answers import Answer, Answers
from bot.kernel.model import DirectMessage, Edit, Member, Post, PrivateNote, Ref, SetTimer
from bot.kernel.scenario import DIRECT_TEXT
from scenarios.election import KIND, ElectionState, Nominations, find_member
from tests.unit.test_consent_support import (
    ANIM,
    T0,
    Driver,
    chose,
    cmd,
    of,
    one_channel,
    person,
    records,
    reply,
    start,
    texts,
)

BOB, M2, M3, M4 = person("bob"), person("m02"), person("m03"), person("m04")
THURSDAY_18H = T0 + timedelta(days=3, hours=8)
ROLE = "délégué au comité régional"
CANDIDATE1 = Ref(scope="candidate", n=1, role="proposal", version=1, channel="general")


def dm(member: Member, text: str, ref: Ref | str | None = None) -> object:
    return reply(member, text, ref=ref or Ref(scope="election", role="invite", member=member.key), channel="dm")


def started(**params: object) -> Driver[ElectionState]:
    ctx, _ = one_channel(5)
    d: Driver[ElectionState] = Driver(KIND, ctx)
    d.send(start(role=ROLE, deadline="jeudi 18h", **params), T0)
    return d


def nominated() -> Driver[ElectionState]:
    """Bob and M03 name M02; M02 names Bob; the nominations are then revealed."""
    d = started()
    d.send(dm(BOB, "@m02 parce qu'elle connaît le comité"), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    d.send(dm(M2, "Bob car il est disponible"), T0 + timedelta(hours=2))  # type: ignore[arg-type]
    d.send(dm(M3, "M02 : elle a de l'expérience"), T0 + timedelta(hours=3))  # type: ignore[arg-type]
    d.advance(THURSDAY_18H - d.now)
    return d


def proposed(who: str = "m02") -> Driver[ElectionState]:
    d = nominated()
    d.advance(timedelta(days=1))
    d.send(cmd(ANIM, "election proposer", who=who), d.now + timedelta(hours=1))
    return d


# --- step 1: nominations in private --------------------------------------------------


def test_step1_the_call_is_public_carries_the_invitation_and_nobody_is_written_to() -> None:
    # Issue 15: the call post says how to nominate (to the bot, privately); no direct message
    # to every member of the circle.
    ctx, _people = one_channel(5)
    d: Driver[ElectionState] = Driver(KIND, ctx)
    acts = d.send(start(role=ROLE, deadline="jeudi 18h"), T0)
    (call,) = of(acts, Post)
    fr, en = texts([call])[0], texts([call], "en")[0]
    assert "Élection sans candidat #1 : délégué au comité régional" in fr
    assert "nominations en privé" in fr and "jeudi 26 novembre 2026 à 18 h" in fr
    assert "Écrivez-moi en privé un nom et une raison, par exemple « @Amina parce qu'elle connaît bien le comité »" in fr
    assert "(ou election nommer @Amina parce que …)" in fr
    assert "vous proposer vous-même" in fr and "Je vous écris" not in fr
    assert "e.g. “@Amina because she knows the committee well” (or elect nominate @Amina" in en and "name yourself" in en
    assert of(acts, DirectMessage) == []
    assert [(t.name, t.due_at) for t in of(acts, SetTimer)] == [(Ref(scope="election", role="nominations"), THURSDAY_18H)]
    # Who started it is named, not mentioned (pinged): they just did.
    assert "Lancée par Alice" in fr and "Mention" not in repr(call.text)


def test_step1_a_nomination_written_privately_without_a_command_is_understood() -> None:
    # The engine gives an election a private message that answers nothing (DIRECT_TEXT) when
    # it is the one election open: a nomination or a change while they are open, else ignored.
    d = started()
    acts = d.send(dm(BOB, "@m02 parce qu'elle connaît le comité", ref=DIRECT_TEXT), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.nominated"]
    assert _nominee(d, "bob") == "m02"
    d = proposed()
    assert d.send(dm(M4, "@m02 parce que", ref=DIRECT_TEXT), d.now) == []  # type: ignore[arg-type]


def test_step1_invite_by_dm_asks_each_member_privately() -> None:
    ctx, people = one_channel(5)
    d: Driver[ElectionState] = Driver(KIND, replace(ctx, config={"invite_by_dm": True}))
    acts = d.send(start(role=ROLE, deadline="jeudi 18h"), T0)
    (call,) = of(acts, Post)
    assert "Je vous écris en privé" in texts([call])[0]
    invites = of(acts, DirectMessage)
    assert sorted(i.member for i in invites) == sorted(m.key for m in people)
    assert all(i.expects_reply and i.ref == Ref(scope="election", role="invite", member=i.member) for i in invites)
    assert [(t.name, t.due_at) for t in of(acts, SetTimer)] == [(Ref(scope="election", role="nominations"), THURSDAY_18H)]
    assert d.state.phase == "nominating"


@pytest.mark.parametrize(
    ("text", "nominee", "reason"),
    [
        ("@m02 parce qu'elle connaît le comité", "m02", "elle connaît le comité"),
        ("M02 : elle a de l'expérience", "m02", "elle a de l'expérience"),
        ("m04 because he listens", "m04", "he listens"),
        ("@m03:example.org car il est là", "m03", "il est là"),
        ("Bob, disponible et patient", "bob", "disponible et patient"),
        # The invitation says "vous pouvez vous proposer vous-même".
        ("moi-même parce que je connais le comité", "bob", "je connais le comité"),
        ("Moi même : j'ai du temps", "bob", "j'ai du temps"),
        ("moi, car j'ai du temps", "bob", "j'ai du temps"),
        ("je me propose parce que j'ai du temps", "bob", "j'ai du temps"),
        ("myself because I know the committee", "bob", "I know the committee"),
    ],
)
def test_step1_a_nomination_is_a_name_and_a_reason(text: str, nominee: str, reason: str) -> None:
    d = started()
    acts = d.send(dm(BOB, text), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    n = _nomination(d, "bob")
    assert n is not None and (n.subject, n.reason) == (nominee, reason)
    (ack,) = of(acts, DirectMessage)
    assert ack.text.key == "election.nominated" and ack.expects_reply


def test_step1_the_acknowledgement_says_when_the_change_round_comes() -> None:
    # Nobody is written to at the change round: the nominator hears of it here, and may
    # answer this very message then.
    d = started()
    (ack,) = of(d.send(dm(BOB, "@m02 parce qu'elle connaît le comité"), T0 + timedelta(hours=1)), DirectMessage)  # type: ignore[arg-type]
    fr, en = texts([ack])[0], texts([ack], "en")[0]
    assert "changer jusqu'au jeudi 26 novembre 2026 à 18 h" in fr
    assert "dévoilées avec leurs raisons dans le fil de l'élection" in fr
    assert "changer d'avis jusqu'au vendredi 27 novembre 2026 à 18 h en me répondant ici" in fr
    assert "until Friday 27 November 2026" in en and "answering me here" in en
    d = started(change="0j")
    (ack,) = of(d.send(dm(BOB, "@m02 parce qu'elle connaît le comité"), T0 + timedelta(hours=1)), DirectMessage)  # type: ignore[arg-type]
    assert "changer d'avis" not in texts([ack])[0] and "dévoilées avec leurs raisons" in texts([ack])[0]


def test_step1_missing_reason_is_asked_and_unknown_names_explained() -> None:
    d = started()
    acts = d.send(dm(BOB, "m02"), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.why"]
    assert _nomination(d, "bob") is None
    d.send(dm(BOB, "parce qu'elle écoute", ref="election:dm:bob"), T0 + timedelta(hours=2))  # type: ignore[arg-type]
    assert _reason(d, "bob") == "elle écoute"
    acts = d.send(dm(M2, "quelqu'un de motivé"), T0 + timedelta(hours=3))  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.who_unknown"]
    # A new nomination replaces the previous one.
    acts = d.send(cmd(BOB, "election nommer", channel="dm", who="@m04 parce que finalement"), T0 + timedelta(hours=4))
    assert _nominee(d, "bob") == "m04"
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.renominated"]


def test_step1_people_outside_the_circle_cannot_nominate() -> None:
    ctx, _people = one_channel(3)
    zed = person("zed")
    ctx = type(ctx)(network=ctx.network, directory=type(ctx.directory)(
        members={**ctx.directory.members, "zed": zed}, channel_members=ctx.directory.channel_members),
        channels=ctx.channels, number=1)
    d: Driver[ElectionState] = Driver(KIND, ctx)
    d.send(start(role=ROLE, deadline="jeudi 18h"), T0)
    acts = d.send(cmd(zed, "election nommer", channel="dm", who="bob parce que"), T0)
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.not_in_circle"]
    assert d.book.everyone("nomination") == [] and d.state.nominators == 0


# --- step 2: reveal -------------------------------------------------------------------


def test_step2_every_nomination_is_revealed_with_its_reason() -> None:
    d = nominated()
    reveal = [p for p in of(d.actions, Post) if p.ref == Ref(scope="election", role="reveal", channel="general")]
    assert len(reveal) == 1
    fr = texts(reveal)[0]
    assert fr.index("M02 (2)") < fr.index("Bob (1)")
    assert "Bob : « elle connaît le comité »" in fr and "M03 : « elle a de l'expérience »" in fr
    assert "M02 : « il est disponible »" in fr
    assert "tour de changement" in fr and "vendredi 27 novembre 2026 à 18 h" in fr
    assert d.state.phase == "changing"
    # Nobody is written to: the nominators were told of the change round when they nominated.
    assert [a for a in of(d.actions, DirectMessage) if a.text.key == "election.change_invite"] == []


def test_step2_invite_by_dm_asks_the_nominators_whether_they_change() -> None:
    ctx, _ = one_channel(5)
    d: Driver[ElectionState] = Driver(KIND, replace(ctx, config={"invite_by_dm": True}))
    d.send(start(role=ROLE, deadline="jeudi 18h"), T0)
    d.send(dm(BOB, "@m02 parce qu'elle connaît le comité"), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    d.send(dm(M3, "M02 : elle a de l'expérience"), T0 + timedelta(hours=3))  # type: ignore[arg-type]
    d.advance(THURSDAY_18H - d.now)
    asked = [a.member for a in of(d.actions, DirectMessage) if a.text.key == "election.change_invite"]
    assert sorted(asked) == ["bob", "m03"]


def test_step2_no_nominations_closes_the_election() -> None:
    d = started()
    acts = d.advance(timedelta(days=4))
    assert [p.text.key for p in of(acts, Post)] == ["election.none"]
    assert d.finished == "closed" and records(acts, "election")[0]["outcome"] == "no_nominations"


def test_step2_the_animateur_can_move_on_early() -> None:
    d = started()
    d.send(dm(BOB, "m02 parce que"), T0)  # type: ignore[arg-type]
    d.send(dm(BOB, "elle connaît le dossier", ref="election:dm:bob"), T0)  # type: ignore[arg-type]
    acts = d.send(cmd(ANIM, "election suivant"), T0 + timedelta(hours=1))
    assert any(a.action == "cancel_timer" and a.name == Ref(scope="election", role="nominations") for a in acts)  # type: ignore[union-attr]
    assert d.state.phase == "changing"
    d.send(dm(M2, "bob parce qu'il est disponible"), T0 + timedelta(hours=2))  # type: ignore[arg-type]
    # A nomination that comes in the change round is a change from nobody.
    (change,) = _nominations(d).changes()
    assert (change.by, change.previous, change.nominee) == ("m02", None, "bob")
    acts = d.send(cmd(ANIM, "election suivant"), T0 + timedelta(hours=3))
    assert "M02 propose Bob, parce que « il est disponible »" in texts(of(acts, Post))[0]
    assert d.state.phase == "proposing"
    acts = d.send(cmd(ANIM, "election suivant"), T0 + timedelta(hours=4))
    assert [n.text.key for n in of(acts, PrivateNote)] == ["election.no_next"]


# --- step 3: change round -------------------------------------------------------------


def test_step3_changes_need_a_reason_and_are_announced() -> None:
    d = nominated()
    acts = d.send(dm(M2, "garder", ref="election:change:m02"), d.now + timedelta(hours=1))  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.kept"]
    acts = d.send(cmd(M2, "election changer", channel="dm", who="@m03"), d.now + timedelta(hours=1))
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.why"]
    acts = d.send(dm(M2, "il a plus de temps", ref="election:dm:m02"), d.now + timedelta(hours=1))  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.changed"]
    (change,) = _nominations(d).changes()
    assert (change.by, change.previous, change.nominee, change.reason) == ("m02", "bob", "m03", "il a plus de temps")
    acts = d.advance(timedelta(days=1))
    (summary,) = of(acts, Post)
    fr = texts([summary])[0]
    assert "après le tour de changement" in fr and "M02 : Bob → M03, parce que « il a plus de temps »" in fr
    assert "M02 (2)" in fr and "M03 (1)" in fr and "Bob (" not in fr
    assert "election proposer" in fr
    assert d.state.phase == "proposing"
    acts = d.send(dm(BOB, "m04 parce que"), d.now)  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.nominations_closed"]


# --- step 4: a consent round on the proposed person -----------------------------------


CALL = Ref(scope="election", role="call", channel="general")


def test_step4_proposal_runs_a_consent_round_and_elects() -> None:
    d = proposed()
    st = d.state
    assert st.phase == "consent" and st.round is not None and st.round.status == "answers"
    proposal = [p for p in of(d.actions, Post) if p.ref == CANDIDATE1]
    assert len(proposal) == 1 and [c.id for c in proposal[0].choices] == ["consent", "concern", "objection", "stand_aside"]
    assert "Élection #1 — étape 3, consentement : M02 comme délégué au comité régional" in texts(proposal)[0]
    assert "Election #1 — step 3, consent: M02 as délégué au comité régional" in texts(proposal, "en")[0]
    assert proposal[0].thread == CALL, "the round lives in the election post's thread"
    context = [p for p in of(d.actions, Post) if p.thread == CALL and p.text.key == "election.proposal_context"]
    assert "Bob : « elle connaît le comité »" in texts(context)[0]
    (ask,) = [a for a in of(d.actions, DirectMessage) if a.text.key == "election.proposed_dm"]
    assert ask.member == "m02" and ask.expects_reply
    for i, m in enumerate([ANIM, BOB, M2, M3]):
        d.send(chose(m, "consent", ref="candidate1:v1:general"), d.now + timedelta(minutes=i))
    d.send(chose(M4, "concern", ref="candidate1:v1:general"), d.now + timedelta(minutes=9))
    acts = d.advance(timedelta(days=3))
    assert d.finished == "elected"
    (decision,) = records(acts, "decision")
    assert decision["subject"] == "election" and decision["outcome"] == "adopted"
    assert decision["nominee"] == "M02" and decision["role"] == ROLE
    assert decision["names"]["concern"] == ["M04"]
    (election,) = records(acts, "election")
    assert election["elected"] == "M02" and election["outcome"] == "elected"
    assert election["elected_key"] == "m02", "mandates and the register need no name lookup"
    assert [n["nominee"] for n in election["nominations"]] == ["M02", "Bob", "M02"]
    assert election["attempts"] == [{"nominee": "M02", "at": election["attempts"][0]["at"], "outcome": "adopted"}]
    # The result is said once: the round's outcome says who is elected, with its counts.
    (outcome,) = of(acts, Post)
    assert outcome.text.key == "consent.outcome.body" and outcome.thread == CALL
    fr, en = texts([outcome])[0], texts([outcome], "en")[0]
    assert fr.startswith("🎉 M02 est élu·e délégué au comité régional (élection #1)") and "Adoptée" not in fr
    assert "Avec réserve : M04" in fr and "✅ 4 · ⚠️ 1" in fr
    assert en.startswith("🎉 M02 is elected délégué au comité régional (election #1)")


def test_step4_the_proposed_person_may_decline() -> None:
    d = proposed()
    acts = d.send(cmd(BOB, "election decliner"), d.now)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["election.not_nominee"]
    acts = d.send(dm(M2, "Je décline, merci", ref="election:proposed:1"), d.now + timedelta(hours=1))  # type: ignore[arg-type]
    assert d.state.phase == "proposing" and d.state.round is not None and d.state.round.status == "cancelled"
    assert [p.text.key for p in of(acts, Post)] == ["election.declined"]
    assert any(e.ref == CANDIDATE1 and e.choices == [] for e in of(acts, Edit))
    assert not any(a.action == "set_timer" for a in acts)  # type: ignore[union-attr]
    # Answers on the declined proposal no longer count.
    acts = d.send(chose(BOB, "consent", ref="candidate1:v1:general"), d.now)
    assert d.state.round.answered == 0 and d.book.everyone(part=1) == []  # type: ignore[union-attr]
    # Another person is proposed: a new round with its own refs.
    d.send(cmd(ANIM, "election proposer", who="bob"), d.now + timedelta(hours=1))
    assert d.state.round is not None and (d.state.round.ref_scope, d.state.round.ref_n) == ("candidate", 2)
    assert [(a.nominee, a.outcome) for a in d.state.attempts] == [("m02", "declined"), ("bob", None)]


def test_step4_objections_then_amendment_then_elected() -> None:
    d = proposed()
    d.send(chose(M3, "objection", ref="candidate1:v1:general"), d.now)
    d.send(reply(M3, "pour un mandat d'un an seulement", ref="candidate1:v1:general"), d.now + timedelta(minutes=5))
    d.send(chose(BOB, "consent", ref="candidate1:v1:general"), d.now + timedelta(minutes=6))
    acts = d.advance(timedelta(days=3))
    assert [r["outcome"] for r in records(acts, "decision")] == ["objections"]
    assert [p.text.key for p in of(acts, Post)][-1] == "election.after_objections"
    assert d.state.phase == "consent" and d.finished is None
    d.send(cmd(ANIM, "amender", title="M02 — délégué, mandat d'un an"), d.now + timedelta(hours=1))
    for m in (BOB, M3):
        d.send(chose(m, "consent", ref="candidate1:v2:general"), d.now + timedelta(hours=2))
    acts = d.advance(timedelta(days=3))
    assert d.finished == "elected"
    (decision,) = records(acts, "decision")
    assert [v["outcome"] for v in decision["history"]] == ["objections", "adopted"]


def test_step4_objection_command_and_withdrawal_are_delegated() -> None:
    d = proposed()
    d.send(cmd(M3, "objection", reason="pas assez d'expérience"), d.now)
    answer = d.book.current("m03", part=1)
    assert answer is not None and answer.reason == "pas assez d'expérience"
    d.send(cmd(ANIM, "retirer"), d.now + timedelta(hours=1))
    assert d.state.phase == "proposing" and d.state.attempts[-1].outcome == "withdrawn"
    assert [r["outcome"] for r in records(d.actions, "decision")] == ["withdrawn"]


def test_step4_proposal_before_the_reveal_is_refused() -> None:
    d = started()
    acts = d.send(cmd(ANIM, "election proposer", who="m02"), T0 + timedelta(hours=1))
    assert [n.text.key for n in of(acts, PrivateNote)] == ["election.not_yet"]


def test_an_election_survives_restarts_at_every_step() -> None:
    d = started()
    d.send(dm(BOB, "@m02 parce qu'elle connaît le comité"), T0 + timedelta(hours=1))  # type: ignore[arg-type]
    d = d.restart()
    d.advance(THURSDAY_18H - d.now, down=True)
    d = d.restart()
    assert d.state.phase == "changing" and _nominations(d).revealed()["bob"].subject == "m02"
    d.advance(timedelta(days=1))
    d.send(cmd(ANIM, "election proposer", who="m02 vendredi 18h"), d.now)
    d = d.restart()
    assert d.state.round is not None and d.state.round.deadline is not None
    assert d.state.round.deadline.astimezone(T0.tzinfo).weekday() == 4
    d.send(chose(BOB, "consent", ref="candidate1:v1:general"), d.now)
    d = d.restart()
    d.advance(timedelta(days=7))
    assert d.finished == "elected"


def test_find_member_by_mention_account_key_or_name() -> None:
    ctx, _ = one_channel(5)
    slack = Member(key="camille", name="Camille Durand", account="slack:U0CAM")
    directory = type(ctx.directory)(members={**ctx.directory.members, "camille": slack})
    assert find_member(directory, "<@U0CAM> parce que")[0] == slack
    assert find_member(directory, "Camille Durand car elle sait")[1] == "elle sait"
    assert find_member(directory, "camille because")[0] == slack
    assert find_member(directory, "@bob:example.org")[0].key == "bob"  # type: ignore[union-attr]
    assert find_member(directory, "personne")[0] is None


def test_someone_who_opted_out_cannot_be_nominated_or_proposed() -> None:
    ctx, _people = one_channel(4)
    gone = Member(key="m03", name="M03", account="matrix:@m03:example.org", opted_out=True)
    ctx = type(ctx)(network=ctx.network, directory=type(ctx.directory)(
        members={**ctx.directory.members, "m03": gone}, channel_members=ctx.directory.channel_members),
        channels=ctx.channels, number=1)
    d: Driver[ElectionState] = Driver(KIND, ctx)
    d.send(start(role=ROLE, deadline="jeudi 18h"), T0)
    acts = d.send(dm(BOB, "m03 parce qu'il est bien"), T0)  # type: ignore[arg-type]
    assert [a.text.key for a in of(acts, DirectMessage)] == ["election.not_available"]
    d.send(dm(BOB, "m02 parce qu'elle est bien"), T0)  # type: ignore[arg-type]
    d.advance(timedelta(days=5))
    acts = d.send(cmd(ANIM, "election proposer", who="m03"), d.now)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["election.not_available"]


def _nominations(d: Driver[ElectionState]) -> Nominations:
    """The election's nominations as its rows say, every one of them at hand."""
    return Nominations(replace(d.ctx, answers=Answers(d.book.rows, "history")))


def _nomination(d: Driver[ElectionState], member: str) -> Answer | None:
    return _nominations(d).current_of(member)


def _nominee(d: Driver[ElectionState], member: str) -> str | None:
    n = _nomination(d, member)
    return n.subject if n is not None else None


def _reason(d: Driver[ElectionState], member: str) -> str | None:
    n = _nomination(d, member)
    return n.reason if n is not None else None
