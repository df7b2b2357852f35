"""Long texts against FakeSlack (which refuses what Slack refuses): posts in several messages, edits and forms shortened visibly, once per key."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack.markup import slack_len
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg, render_plain
from bot.kernel.model import Choice, DirectMessage, Edit, OpenForm, Post, PrivateNote
from tests.integration.test_slack_adapter_kit import ALICE, GENERAL, TEAM, rig

SLACK_TEXT_LIMIT = 40_000
CHOICES = [
    Choice(id="consent", label=Msg("consent.choice.consent"), emoji="✅"),
    Choice(id="objection", label=Msg("consent.choice.objection"), emoji="✋"),
]
# A proposal no message can hold: markup characters Slack escapes (3 → 4 or 5 characters),
# emoji counted twice, and line breaks.
HUGE = ("<" * 15_000 + " & 🙊 <@U0ALICE>\n") * 7


def say(text: str) -> Msg:
    return Msg("core.help.command_word", fr=text, en=text)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def unescape(mrkdwn: str) -> str:
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def test_a_huge_post_is_several_messages_the_last_with_the_buttons(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        post = Post(channel="general", text=say(HUGE), choices=CHOICES)
        out = Outgoing(action=post, key="big-1", channel=GENERAL)
        delivery = await r.adapter.perform(out)
        messages = r.fake.messages(GENERAL)
        assert r.fake.errors == []
        assert len(messages) > 1
        assert all(slack_len(m.text) <= SLACK_TEXT_LIMIT for m in messages)
        # The buttons are on the last message: the one answered, edited and returned.
        assert delivery.message_id == messages[-1].ts
        assert all(not m.blocks for m in messages[:-1])
        assert any(b["type"] == "actions" for b in messages[-1].blocks or [])
        # Nothing lost: the messages together are the text, in order.
        assert squeeze(unescape("".join(m.text for m in messages))) == squeeze(HUGE)
        # Once per key, part by part: performing it again posts nothing.
        again = await r.adapter.perform(out)
        assert again.message_id == delivery.message_id
        assert len(r.fake.messages(GENERAL)) == len(messages)


async def test_a_huge_thread_reply_and_direct_message_stay_in_their_conversation(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        root = await r.adapter.perform(
            Outgoing(
                action=Post(channel="general", text=say("racine")), key="root", channel=GENERAL
            )
        )
        reply = Post(channel="general", text=say(HUGE))
        await r.adapter.perform(
            Outgoing(action=reply, key="reply", channel=GENERAL, thread_of=root.message_id)
        )
        replies = [m for m in r.fake.messages(GENERAL) if m.thread_ts == root.message_id]
        assert len(replies) > 1
        dm = DirectMessage(member="alice", text=say(HUGE), choices=CHOICES)
        await r.adapter.perform(Outgoing(action=dm, key="dm", channel=None, recipient=ALICE))
        assert len(r.fake.messages(r.fake.dm_channel_id(TEAM, ALICE))) > 1
        assert r.fake.errors == []


async def test_a_huge_edit_is_shortened_with_a_visible_note(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        first = await r.adapter.perform(
            Outgoing(
                action=Post(channel="general", text=say("v1"), choices=CHOICES),
                key="p",
                channel=GENERAL,
            )
        )
        edit = Edit(channel="general", ref="p", text=say(HUGE))
        await r.adapter.perform(
            Outgoing(action=edit, key="e", channel=GENERAL, message_id=first.message_id)
        )
        assert r.fake.errors == []
        (message,) = r.fake.messages(GENERAL)
        note = render_plain(Msg("outbound.shortened"))
        assert message.text.endswith(note)
        sections = [b for b in message.blocks or [] if b["type"] == "section"]
        assert sections[-1]["text"]["text"] == note
        assert any(b["type"] == "actions" for b in message.blocks or [])


async def test_huge_private_notes_and_forms_are_accepted(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        note = PrivateNote(member="alice", channel="general", text=say(HUGE))
        url = r.fake.make_response_url(TEAM, GENERAL)
        await r.adapter.perform(
            Outgoing(
                action=note,
                key="n",
                channel=GENERAL,
                recipient=ALICE,
                reply_handle={"response_url": url},
            )
        )
        # Five on the response_url (all it takes), the rest as ephemeral messages.
        shown = [resp.body.get("text", "") for resp in r.fake.responses]
        assert len(shown) == 5
        shown += [call.params["text"] for call in r.fake.calls_to("chat.postEphemeral")]
        assert squeeze(unescape("".join(shown))) == squeeze(HUGE)
        form = OpenForm(
            member="alice",
            channel="general",
            form="objection",
            title=say("Objection à la proposition " + "<" * 500),
            fallback=say("Répondez en fil."),
            context={"intro": HUGE},
        )
        trigger = r.fake.make_trigger_id(TEAM, ALICE)
        await r.adapter.perform(
            Outgoing(
                action=form,
                key="f",
                channel=GENERAL,
                recipient=ALICE,
                reply_handle={"trigger_id": trigger},
            )
        )
        assert len(r.fake.views(team_id=TEAM)) == 1
        assert r.fake.errors == []
