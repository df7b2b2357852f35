"""`Ref`: any ref reads back from its text; every shape the release before typed refs wrote
reads as the same message and is written again as the same string."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.kernel.model import OUTBOUND, Chose, DirectMessage, Member, Post, Ref, SetTimer
from bot.kernel.i18n import Msg

BOB = "matrix:@bob:example.org"

# Every shape a ritual or the engine wrote, with a member key as the platforms make them
# ("matrix:@…:…", "slack:T…/U…") where the shape holds one: (the stored text, what it names).
WRITTEN_BEFORE: list[tuple[str, Ref]] = [
    # consent: the proposal in each channel, a private ballot, the private ask for a reason
    ("proposal:v2:general", Ref(role="proposal", version=2, channel="general")),
    ("proposal:v1:ballot:matrix:@dia:example.org", Ref(role="ballot", version=1, member="matrix:@dia:example.org")),
    ("proposal:v3:ask:slack:T01/U02", Ref(role="ask", version=3, member="slack:T01/U02")),
    # the election's consent round on its second candidate
    ("candidate2:v1:slack-general", Ref(role="proposal", scope="candidate", n=2, version=1, channel="slack-general")),
    ("candidate2:v1:ballot:bob", Ref(role="ballot", scope="candidate", n=2, version=1, member="bob")),
    ("candidate12:v4:ask:bob", Ref(role="ask", scope="candidate", n=12, version=4, member="bob")),
    # the election's own messages
    ("election:call:general", Ref(scope="election", role="call", channel="general")),
    ("election:reveal:general", Ref(scope="election", role="reveal", channel="general")),
    ("election:invite:matrix:@m02:example.org", Ref(scope="election", role="invite", member="matrix:@m02:example.org")),
    ("election:change:m02", Ref(scope="election", role="change", member="m02")),
    ("election:dm:bob", Ref(scope="election", role="dm", member="bob")),
    ("election:proposed:3", Ref(scope="election", role="proposed", n=3)),
    # timers of the election and of consent rounds (a decision's, an election's)
    ("election:nominations", Ref(scope="election", role="nominations")),
    ("election:change", Ref(scope="election", role="change")),
    ("consent:deadline", Ref(scope="consent", role="deadline")),
    ("consent:questions", Ref(scope="consent", role="questions")),
    ("consent:refresh", Ref(scope="consent", role="refresh")),
    ("consent:lapse", Ref(scope="consent", role="lapse")),
    ("consent:remind:1", Ref(scope="consent", role="remind", n=1)),
    ("election-consent:deadline", Ref(scope="election-consent", role="deadline")),
    ("election-consent:remind:0", Ref(scope="election-consent", role="remind", n=0)),
    # a draw: its announcement, private asks, secrets, and timers
    ("announce", Ref(role="announce")),
    ("ask:p03", Ref(role="ask", member="p03")),
    ("secret:matrix:@bob:example.org", Ref(role="secret", member="matrix:@bob:example.org")),
    ("accept:slack:T01/U02", Ref(role="accept", member="slack:T01/U02")),
    ("commit_end", Ref(role="commit_end")),
    ("reveal_end", Ref(role="reveal_end")),
    # the charter reminder, the digest, a welcome
    ("charter:4", Ref(role="charter", n=4)),
    ("post", Ref(role="post")),
    ("weekly", Ref(role="weekly")),
    ("welcome|matrix:@eve:example.org", Ref(role="welcome", member="matrix:@eve:example.org")),
    # a meeting occurrence's messages and timers
    ("main.20260331|r0", Ref(key="main.20260331", role="r", n=0)),
    ("comite-bureau.20261027|p1", Ref(key="comite-bureau.20261027", role="p", n=1)),
    ("main.20260331|dm|slack:T01/U02", Ref(key="main.20260331", role="dm", member="slack:T01/U02")),
    ("once-3|att", Ref(key="once-3", role="att")),
    ("once-3|page", Ref(key="once-3", role="page")),
    ("once-3|new", Ref(key="once-3", role="new")),
    ("once-3|cancel", Ref(key="once-3", role="cancel")),
    ("main.20260331|end", Ref(key="main.20260331", role="end")),
    ("main.20260331|close", Ref(key="main.20260331", role="close")),
    ("plan", Ref(role="plan")),
    # the engine: the answer to a direct message that had no ref of its own
    ("dm", Ref(role="dm")),
]


@pytest.mark.parametrize(("text", "ref"), WRITTEN_BEFORE, ids=[t for t, _ in WRITTEN_BEFORE])
def test_each_shape_written_before_reads_as_the_same_message_and_is_written_again_the_same(
        text: str, ref: Ref) -> None:
    assert Ref.decode(text) == ref
    assert ref.encode() == text
    assert Ref.model_validate(text) == ref


def test_the_shapes_cover_every_role_the_rituals_use() -> None:
    # The legacy table is closed: a shape missing here would be written in the generic form
    # and no longer find the rows an earlier release wrote.
    assert not [text for text, ref in WRITTEN_BEFORE if ref.encode().startswith("?")]


# Parts from the words the rituals use, and from any text with the separators the shapes use.
_WORDS = ["proposal", "ballot", "ask", "call", "reveal", "invite", "change", "dm", "proposed", "remind",
          "deadline", "secret", "accept", "charter", "welcome", "r", "p", "att", "page", "new", "end",
          "close", "announce", "plan", "election", "consent", "election-consent", "candidate"]
_NASTY = st.text(alphabet=st.sampled_from(list(":|?&=%v0123456789 aé-_.\n")), max_size=12)
_TEXT = st.one_of(st.sampled_from(_WORDS), _NASTY, st.text(max_size=20))
_INT = st.integers(min_value=-(2**40), max_value=2**40)


@st.composite
def refs(draw: st.DrawFn) -> Ref:
    maybe = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    return Ref(role=draw(_TEXT.filter(bool)), scope=maybe(_TEXT), n=maybe(_INT), version=maybe(_INT),
               key=maybe(_TEXT), channel=maybe(_TEXT), member=maybe(_TEXT))


@given(refs())
@example(Ref(role="proposal", version=1, channel="ballot:x"))  # a channel the consent shape reads as a ballot
@example(Ref(role="proposal", version=1, channel="ask:x|y"))
@example(Ref(role="ask:m"))  # a role the old shapes read as a draw's private ask
@example(Ref(role="?role=x"))  # a role that looks like the generic form
@example(Ref(role="r", key="a|b", n=0))  # an occurrence key holding the meeting's separator
@example(Ref(role="welcome", member=""))  # empty parts
@example(Ref(role="dm", key="once-1", member="a|dm|b"))
@example(Ref(role="é", member="\n%zz"))
def test_any_ref_reads_back_from_its_text(ref: Ref) -> None:
    text = ref.encode()
    assert Ref.decode(text) == ref
    assert Ref.model_validate(ref.model_dump()) == ref
    # Carried by an action through the outbox's JSON, and by an event.
    post = Post(channel="general", text=Msg("core.cmd.empty"), ref=ref, thread=ref)
    assert OUTBOUND.validate_json(post.model_dump_json()) == post
    assert post.model_dump(mode="json")["ref"] == text


@given(refs(), refs())
def test_refs_sort_as_their_text(a: Ref, b: Ref) -> None:
    assert (a < b) == (a.encode() < b.encode()) and (a <= b) == (a.encode() <= b.encode())
    assert (a == b) == (a.encode() == b.encode())


def test_text_no_shape_matches_is_a_bare_role_and_never_an_error() -> None:
    # What tests and unknown rows hold: kept whole, written back the same.
    for text in ("p", "boum", "proposal:1:general", "x:y|z", "?not=a&generic", "?role=%ZZ", "?member=a&role=b", "?role=x&n=01"):
        assert Ref.decode(text) == Ref(role=text)
        assert Ref(role=text).encode() == text
    assert Ref.decode("?role=secret&member=a%3Ab") == Ref(role="secret", member="a:b")
    with pytest.raises(ValueError, match="empty"):
        Ref.decode("")


def test_what_the_old_code_made_of_awkward_keys() -> None:
    # A member key holding ":" (every undeclared member's does) was never a problem: it ends
    # the text. The new encoding keeps those strings.
    assert Ref(scope="election", role="dm", member="matrix:@a:b.org").encode() == "election:dm:matrix:@a:b.org"
    # A channel key "ballot:x" gave "proposal:v1:ballot:x", the text of member x's ballot:
    # the old round only looked at the version, the typed one would see a ballot. It now
    # takes the generic form, which nothing else reads as.
    awkward = Ref(role="proposal", version=1, channel="ballot:x")
    assert awkward.encode() == "?role=proposal&version=1&channel=ballot%3Ax"
    assert Ref.decode("proposal:v1:ballot:x") == Ref(role="ballot", version=1, member="x")
    # A member key holding "|" in a meeting's private reminder still ends the text.
    assert Ref.decode("once-1|dm|a|b") == Ref(key="once-1", role="dm", member="a|b")


def test_events_and_actions_carry_refs_and_accept_the_stored_text() -> None:
    bob = Member(key="bob", name="Bob", account="chat:bob")
    chose = Chose(member=bob, ref="candidate1:v2:general", channel="general", choice="consent")  # type: ignore[arg-type]
    assert chose.ref == Ref(scope="candidate", n=1, role="proposal", version=2, channel="general")
    dm = DirectMessage.model_validate({"member": "bob", "text": Msg("core.cmd.empty").model_dump(),
                                       "ref": "election:dm:bob", "expects_reply": True})
    assert dm.ref == Ref(scope="election", role="dm", member="bob")
    timer = SetTimer(name=Ref(scope="consent", role="remind", n=0), due_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert timer.model_dump(mode="json")["name"] == "consent:remind:0"


def test_a_ritual_matches_on_the_parts() -> None:
    match Ref.decode("election:proposed:3"):
        case Ref(scope="election", role="proposed", n=int(n)):
            assert n == 3
        case _:
            pytest.fail("no match")


def test_ritual_states_saved_with_refs_as_text_load() -> None:
    from scenarios.consent.round import RoundState
    from scenarios.meeting.state import Occurrence, Skip

    # A consent round named its refs by a prefix: "proposal" (a decision), "candidate<n>".
    election_round = RoundState.model_validate({"ref_prefix": "candidate2", "timer_prefix": "election-consent"})
    assert (election_round.ref_scope, election_round.ref_n) == ("candidate", 2)
    assert election_round.proposal_ref("general").encode() == "candidate2:v1:general"
    assert election_round.timer("remind", 0).encode() == "election-consent:remind:0"
    decision = RoundState.model_validate({"ref_prefix": "proposal", "version": 3})
    assert (decision.ref_scope, decision.ref_n) == (None, None)
    assert decision.ballot_ref(BOB).encode() == f"proposal:v3:ballot:{BOB}"
    assert "ref_prefix" not in decision.model_dump()
    # A meeting kept the names of the timers that fired.
    occ = Occurrence.model_validate({"key": "main.20260331", "series": "main", "title": "Comité",
                                     "start": "2026-03-31T16:00:00Z", "end": "2026-03-31T18:00:00Z",
                                     "reminders_sent": ["main.20260331|r0"]})
    assert occ.reminders_sent == [Ref(key="main.20260331", role="r", n=0)]
    assert occ.model_dump(mode="json")["reminders_sent"] == ["main.20260331|r0"]
    skip = Skip.model_validate({"timer": "main.20260331|end", "due_at": "2026-03-31T18:00:00Z", "reason": "x"})
    assert skip.timer == Ref(key="main.20260331", role="end")
