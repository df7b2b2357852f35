"""Nothing the bot sends exceeds a platform's limits: Matrix events stay under 65,536 bytes, Slack payloads validate, nothing is lost."""

from __future__ import annotations

import json
import re
from typing import Any

import vodozemac
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.matrix import content as mx
from adapters.slack import markup
from adapters.slack.blocks import Button, FormField, FormMeta, choice_blocks, modal_view
from adapters.slack.fit import edit_part, intro_sections, message_parts, note_parts
from adapters.slack.markup import MRKDWN, slack_len
from bot.adapter import Outgoing
from bot.kernel.i18n import Lines, Link, Mention, Msg, escape_member_text
from bot.kernel.model import Choice, Post
from tests.fakes.slack_fake import BlockKitValidator

ALICE = "@alice:example.org"
MATRIX_EVENT_LIMIT = 65_536
"""The homeserver's, written here rather than imported."""
ROOM = "!AbCdEfGhIjKlMnOpQr:example.org"
CHOICES = [
    Choice(id="consent", label=Msg("consent.choice.consent"), emoji="✅"),
    Choice(id="concern", label=Msg("consent.choice.concern"), emoji="⚠️"),
    Choice(id="objection", label=Msg("consent.choice.objection"), emoji="✋"),
    Choice(id="stand_aside", label=Msg("consent.choice.stand_aside"), emoji="🙊"),
]

# What member text can hold: markup characters, entities, emoji (astral, ZWJ sequences),
# combining marks, controls, line breaks, French spaces.
pieces = st.sampled_from(
    [
        *"<>&\"'ab é\n\t\u00a0\u202f\u0301\u200d\ufe0f\x00\x1f*_~`|\\\u2028🙊✋",
        *["👩‍👩‍👧", "&amp;", "&lt;", "<b>", "</a>", "@room", "<@U0ALICE>", "**"],
    ]
)
snippets = st.lists(pieces, max_size=60).map("".join)
member_text = st.one_of(
    snippets,
    st.text(max_size=200),
    # Long: repeated so the search gets past the limit without generating megabytes.
    st.tuples(st.lists(pieces, min_size=1, max_size=20).map("".join), st.integers(1, 6000)).map(
        lambda t: t[0] * t[1]
    ),
)
LIMITS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def proposal(title: str, text: str) -> Msg:
    """A proposal as the consent round writes it: bold title, member text, a mention, a link."""
    return Msg(
        "consent.proposal.body",
        lines=Lines(
            items=[
                Msg("consent.proposal.title", number=12, version=1, title=title),
                Msg("consent.proposal.description", text=text),
                Msg("consent.proposal.by", author=Mention(member="m-alice", name="Alice <3")),
                Link(url="https://example.org/registre?d=12&v=1", label="le registre"),
            ]
        ),
    )


def outgoing(msg: Msg) -> Outgoing:
    return Outgoing(
        action=Post(channel="general", text=msg, choices=CHOICES),
        key="post-1",
        channel=ROOM,
        accounts={"m-alice": ALICE},
    )


def pdu_size(event_type: str, content: dict[str, Any], *, encrypted: bool) -> int:
    """The size of the event the homeserver would store, measured on its canonical JSON,
    with the envelope it adds; in an encrypted room, after real megolm encryption of the
    plaintext as the client library serialises it."""
    if encrypted:
        plaintext = json.dumps(
            {"type": event_type, "content": content, "room_id": ROOM}, separators=(",", ":")
        )
        ciphertext = vodozemac.GroupSession().encrypt(plaintext.encode()).to_base64()
        content = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "sender_key": "k" * 43,
            "ciphertext": ciphertext,
            "session_id": "s" * 43,
            "device_id": "MAILLAGEBOT",
            **({"m.relates_to": content["m.relates_to"]} if "m.relates_to" in content else {}),
        }
        event_type = "m.room.encrypted"
    server = "h" * 60 + ".example.org"
    pdu = {
        "auth_events": ["$" + "a" * 43] * 4,
        "prev_events": ["$" + "b" * 43] * 5,
        "content": content,
        "depth": 10**9,
        "hashes": {"sha256": "c" * 43},
        "origin": server,
        "origin_server_ts": 1_700_000_000_000,
        "room_id": ROOM,
        "sender": "@maillage-bot:" + server,
        "type": event_type,
        "signatures": {server: {"ed25519:a_AbCd": "s" * 86}},
        "unsigned": {"age_ts": 1_700_000_000_000, "transaction_id": "mlg.post-1.p10"},
    }
    canonical = json.dumps(pdu, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return len(canonical.encode())


def assert_deliverable(event_type: str, content: dict[str, Any]) -> None:
    assert mx.content_size(content) <= mx.CONTENT_BUDGET
    assert pdu_size(event_type, content, encrypted=False) <= MATRIX_EVENT_LIMIT
    assert pdu_size(event_type, content, encrypted=True) <= MATRIX_EVENT_LIMIT


def body_of(send: mx.Send) -> str:
    if send.type == mx.POLL_START_TYPE:
        return str(send.content[mx.POLL_START_TYPE]["question"]["body"])
    return str(send.content["body"])


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- Matrix ------------------------------------------------------------------------------


@LIMITS
@given(title=member_text, text=member_text, poll=st.booleans(), thread=st.booleans())
@example(title="<" * 15_000, text="", poll=True, thread=False)
@example(title="&" * 30_000, text="👩‍👩‍👧" * 5000, poll=False, thread=True)
def test_a_matrix_post_of_any_text_is_events_the_homeserver_accepts_with_nothing_lost(
    title: str, text: str, poll: bool, thread: bool
) -> None:
    out = outgoing(proposal(title, text))
    rendered = mx.render(out, out.action.text)  # type: ignore[union-attr]
    answers = mx.poll_answers(out, CHOICES) if poll else None
    sends = mx.post(rendered, thread="$root" if thread else None, notice=True, answers=answers)
    for send in sends:
        assert_deliverable(send.type, send.content)
    assert sends[-1].type == (mx.POLL_START_TYPE if poll else "m.room.message")
    assert [s.part for s in sends] == [f"p{i}" for i in range(len(sends) - 1)] + [""]
    # Every part carries the whole of its piece: together they are the text, in order.
    assert squeeze("".join(body_of(s) for s in sends)) == squeeze(rendered.plain)
    if len(sends) > 1:
        formatted = [s.content.get("formatted_body") for s in sends if s.type == "m.room.message"]
        for part in formatted:
            assert part is None or part.count("<b>") == part.count("</b>")
        # A mention pings from the part that shows it, and only from there.
        pill = mx.matrix_to(ALICE)
        for send in sends:
            if send.type == "m.room.message":
                shown = pill in send.content.get("formatted_body", "")
                assert (ALICE in send.content["m.mentions"].get("user_ids", [])) == shown
    if thread:
        assert all(s.content["m.relates_to"]["event_id"] == "$root" for s in sends)


@LIMITS
@given(title=member_text, text=member_text, kind=st.sampled_from(["message", "poll", "end"]))
@example(title="<" * 15_000, text="", kind="poll")
def test_a_matrix_edit_of_any_text_fits_one_event_and_says_when_it_is_shortened(
    title: str, text: str, kind: str
) -> None:
    out = outgoing(proposal(title, text))
    rendered = mx.render(out, out.action.text)  # type: ignore[union-attr]
    mark = mx.mark(out)
    if kind == "message":
        content, event_type = mx.edit_message("$target", rendered, mark), "m.room.message"
        body = content["m.new_content"]["body"]
    elif kind == "poll":
        answers = mx.poll_answers(out, CHOICES)
        content = mx.edit_poll("$target", rendered, answers, mark)
        event_type = mx.POLL_START_TYPE
        body = content["m.new_content"][mx.POLL_START_TYPE]["question"]["body"]
    else:
        content, event_type = mx.end_poll("$target", rendered, mark), mx.POLL_END_TYPE
        body = content["body"]
    assert_deliverable(event_type, content)
    if body == rendered.plain:
        return
    # Shortened: the beginning of the text, then the visible note.
    assert body.endswith("\n" + mark.plain)
    kept = body.removesuffix("\n" + mark.plain)
    assert squeeze(rendered.plain).startswith(squeeze(kept))


def test_the_fifteen_kilobyte_title_of_the_issue() -> None:
    """Before: one 76 KB poll event the homeserver refused. Now: a few events, each under
    the limit, the title whole across them."""
    out = outgoing(proposal("<" * 15_000, "Acheter un four."))
    rendered = mx.render(out, out.action.text)  # type: ignore[union-attr]
    before = mx.in_thread(mx.poll_start(rendered.plain, mx.poll_answers(out, CHOICES)), None)
    assert mx.content_size(before) > MATRIX_EVENT_LIMIT
    sends = mx.post(rendered, thread=None, notice=True, answers=mx.poll_answers(out, CHOICES))
    assert len(sends) > 1
    assert "".join(body_of(s) for s in sends).count("<") >= 15_000
    for send in sends:
        assert_deliverable(send.type, send.content)


def test_poll_answers_and_image_descriptions_are_clipped_visibly() -> None:
    out = outgoing(proposal("t", "x"))
    long = Choice(id="c", label=Msg("core.help.command_word", fr="é" * 1000, en="e"), emoji="✅")
    (answer,) = mx.poll_answers(out, [long])
    assert len(answer.text) == mx.POLL_ANSWER_MAX and answer.text.endswith("…")
    image = mx.image("<" * 5000, "chart.png", 10, url="mxc://x/y")
    assert len(image["body"]) == mx.ALT_MAX and image["body"].endswith("…")


# -- Slack -------------------------------------------------------------------------------

VALIDATOR = BlockKitValidator.default()
SLACK_TEXT_LIMIT = 40_000
"""Slack's, written here rather than imported: the test must not trust the code's constant."""


def slack_out(msg: Msg) -> Outgoing:
    return Outgoing(
        action=Post(channel="general", text=msg),
        key="post-1",
        channel="C0GENERAL",
        accounts={"m-alice": "U0ALICE"},
    )


def buttons(count: int, label: str) -> list[Button]:
    return [Button(f"choice-{i}", f"{label} {i}", "✅") for i in range(count)]


@LIMITS
@given(title=member_text, text=member_text, count=st.integers(0, 60), label=member_text)
@example(title="<" * 15_000, text="&" * 30_000, count=4, label="x")
@example(title="🙊" * 25_000, text="", count=0, label="")
def test_a_slack_post_of_any_text_is_messages_slack_accepts_with_nothing_lost(
    title: str, text: str, count: int, label: str
) -> None:
    mrkdwn = markup.mrkdwn(slack_out(proposal(title, text)), proposal(title, text))
    actions = choice_blocks(buttons(count, label))
    parts = message_parts(mrkdwn, actions)
    for part in parts:
        assert slack_len(part.text) <= SLACK_TEXT_LIMIT
        if part.blocks is not None:
            assert VALIDATOR.validate_blocks(part.blocks) == []
    assert all(p.blocks is None for p in parts[:-1])
    if actions:
        shown = [b for b in parts[-1].blocks or [] if b["type"] == "actions"]
        assert shown == actions
    assert squeeze("".join(p.text for p in parts)) == squeeze(mrkdwn)
    if actions:
        sections = [b["text"]["text"] for b in parts[-1].blocks or [] if b["type"] == "section"]
        assert squeeze("".join(sections)) == squeeze(parts[-1].text)


@LIMITS
@given(title=member_text, text=member_text, count=st.integers(0, 60))
@example(title="<" * 15_000, text="&" * 60_000, count=4)
def test_a_slack_edit_of_any_text_fits_one_message_and_says_when_it_is_shortened(
    title: str, text: str, count: int
) -> None:
    out = slack_out(proposal(title, text))
    mrkdwn = markup.mrkdwn(out, proposal(title, text))
    note = markup.mrkdwn(out, Msg("outbound.shortened"))
    actions = choice_blocks(buttons(count, "choix"))
    part = edit_part(mrkdwn, actions, note)
    assert slack_len(part.text) <= SLACK_TEXT_LIMIT
    assert part.blocks is not None and VALIDATOR.validate_blocks(part.blocks) == []
    if part.text == mrkdwn:
        return
    assert part.text.endswith("\n" + note)
    kept = part.text.removesuffix("\n" + note).removesuffix("…")
    assert squeeze(mrkdwn).startswith(squeeze(kept))


@LIMITS
@given(title=member_text, intro=member_text, label=member_text, initial=member_text)
def test_a_slack_modal_of_any_text_validates(
    title: str, intro: str, label: str, initial: str
) -> None:
    fields = [
        FormField(
            "reason",
            label or "x",
            "multiline",
            placeholder=label,
            hint=label,
            initial=initial,
            max_length=50_000,
        ),
        FormField("title", label or "x", "text", initial=initial, max_length=150),
    ]
    view = modal_view(
        FormMeta(form="objection", channel="C0GENERAL", context={"intro": intro}),
        title or "x",
        fields,
        label or "ok",
        label or "non",
        intro=intro_sections(escape_member_text(intro, MRKDWN), 10, "… (raccourci)"),
    )
    assert VALIDATOR.validate_view(view) == []


def test_long_private_notes_are_several_notes_slack_accepts() -> None:
    text = ("ligne & <@U0ALICE> " * 100 + "\n") * 60
    parts = note_parts(text)
    assert len(parts) > 1 and all(slack_len(p) <= SLACK_TEXT_LIMIT for p in parts)
    assert squeeze("".join(parts)) == squeeze(text)
