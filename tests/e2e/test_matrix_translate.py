"""Matrix events to engine events and back, as tables: pure functions, no homeserver needed."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.matrix import content as mx
from adapters.matrix.translate import RoomView, command_text, message_text, translate
from bot.kernel.model import (
    InboundChoice,
    InboundCommand,
    InboundMembership,
    InboundMessage,
    InboundReaction,
)

BOT = "@maillage:example.org"
ROOM = RoomView(room_id="!room:example.org", bot_user_id=BOT, command_prefix="!reseau")


def event(kind: str, content: dict[str, Any], sender: str = "@alice:example.org",
          **extra: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "$e1", "sender": sender, "origin_server_ts": 1_700_000_000_000,
            "content": content, **extra}


@pytest.mark.parametrize(("body", "expected"), [
    ("!reseau aide", "aide"),
    ("  !RESEAU decision \"Charte\"  ", 'decision "Charte"'),
    ("!reseau", ""),
    ("!reseaux aide", None),
    ("bonjour !reseau aide", None),
])
def test_command_prefix(body: str, expected: str | None) -> None:
    assert command_text(body, "!reseau") == expected


def test_pills_become_user_ids_and_reply_fallbacks_are_dropped() -> None:
    content = {
        "body": "> <@bob:example.org> avant\n\n!reseau tirage Alice",
        "format": "org.matrix.custom.html",
        "formatted_body": '<mx-reply><blockquote>avant</blockquote></mx-reply>!reseau tirage '
                          '<a href="https://matrix.to/#/@alice:example.org">Alice</a>',
    }
    assert message_text(content) == "!reseau tirage @alice:example.org"
    assert message_text({"body": "> <@bob:example.org> avant\n\nmerci"}) == "merci"


def test_translation_table() -> None:
    thread = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
              "m.in_reply_to": {"event_id": "$root"}}
    cases: list[tuple[dict[str, Any], Any]] = [
        (event("m.room.message", {"msgtype": "m.text", "body": "!reseau aide"}),
         InboundCommand),
        (event("m.room.message", {"msgtype": "m.text", "body": "?", "m.relates_to": thread}),
         InboundMessage),
        (event("m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$p", "key": "✅"}}),
         InboundReaction),
        (event("m.room.redaction", {}, redacts="$r"), InboundReaction),
        (event("m.room.redaction", {"redacts": "$r"}), InboundReaction),  # room version 11
        (event("org.matrix.msc3381.poll.response", {
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
            "org.matrix.msc3381.poll.response": {"answers": ["consent"]}}), InboundChoice),
        (event("m.poll.response", {"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
                                   "m.selections": ["object"]}), InboundChoice),
        (event("m.room.member", {"membership": "join"}, state_key="@carol:example.org",
               sender="@carol:example.org"), InboundMembership),
        # Ignored: the bot itself, edits, profile changes, already-redacted events, unknown types.
        (event("m.room.message", {"msgtype": "m.notice", "body": "!reseau aide"}, sender=BOT), None),
        (event("m.room.message", {"msgtype": "m.text", "body": "* x",
                                  "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}), None),
        (event("m.room.member", {"membership": "join"}, state_key="@carol:example.org",
               unsigned={"prev_content": {"membership": "join"}}), None),
        (event("m.reaction", {}, unsigned={"redacted_because": {}}), None),
        (event("m.sticker", {"body": "x", "url": "mxc://x/y"}), None),
    ]
    for source, expected in cases:
        result = translate(source, ROOM)
        if expected is None:
            assert result is None, source
        else:
            assert isinstance(result, expected), (source, result)
            assert result.platform == "matrix" and result.channel == ROOM.room_id


def test_details_of_translated_events() -> None:
    thread = translate(event("m.room.message", {"msgtype": "m.text", "body": "!reseau objection trop cher",
                                                "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}), ROOM)
    assert isinstance(thread, InboundCommand)
    assert (thread.text, thread.thread_of) == ("objection trop cher", "$root")
    removed = translate(event("m.room.redaction", {}, redacts="$reaction"), ROOM)
    assert isinstance(removed, InboundReaction)
    assert (removed.removed, removed.reaction_id, removed.target, removed.key) == (True, "$reaction", None, None)
    left = translate(event("m.room.member", {"membership": "leave"}, state_key="@carol:example.org",
                           sender="@alice:example.org",
                           unsigned={"prev_content": {"membership": "join"}}), ROOM)
    assert isinstance(left, InboundMembership)
    assert (left.joined, left.sender) == (False, "@carol:example.org")  # the one who left, not the kicker
    direct = translate(event("m.room.message", {"msgtype": "m.text", "body": "ma réponse"}),
                       RoomView(room_id="!dm:x", bot_user_id=BOT, command_prefix="!reseau", is_direct=True))
    assert isinstance(direct, InboundMessage) and direct.is_direct


def test_transaction_ids_come_only_from_the_outbox_key() -> None:
    assert mx.txn_id("outbox-42") == mx.txn_id("outbox-42") == "mlg.outbox-42"
    assert mx.txn_id("outbox-42", "r.1") == "mlg.outbox-42.r.1"
    odd = mx.txn_id("net1/consent#3:post é")
    assert odd == mx.txn_id("net1/consent#3:post é") and odd.startswith("mlg.") and "/" not in odd


def test_poll_carries_both_forms_and_a_text_fallback() -> None:
    poll = mx.poll_start("Adopter la charte ?", [mx.PollAnswer("consent", "✅ oui"),
                                                 mx.PollAnswer("object", "✋ non")])
    unstable = poll["org.matrix.msc3381.poll.start"]
    assert [a["id"] for a in unstable["answers"]] == ["consent", "object"]
    assert unstable["max_selections"] == 1
    assert [a["m.id"] for a in poll["m.poll"]["answers"]] == ["consent", "object"]
    assert poll["body"] == "Adopter la charte ?\n1. ✅ oui\n2. ✋ non"


def test_edits_and_threads() -> None:
    new = mx.message(mx.Rendered("après", "<b>après</b>"))
    edited = mx.edit("$target", new)
    assert edited["body"] == "* après" and edited["m.new_content"]["body"] == "après"
    assert edited["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$target"}
    threaded = mx.in_thread({"msgtype": "m.notice", "body": "x"}, "$root")
    assert threaded["m.relates_to"]["rel_type"] == "m.thread"
    assert threaded["m.relates_to"]["m.in_reply_to"] == {"event_id": "$root"}
    assert mx.message(mx.Rendered("a", "a"))["m.mentions"] == {}
