"""Outbound actions against FakeSlack: Block Kit, edits, DMs, ephemeral notes, modals, images, rate limits, crash-safe sends."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.blocks import ACTION_PREFIX, METADATA_EVENT_TYPE
from adapters.slack.sender import SENT_NS
from bot.adapter import KeyValue, Outgoing, PermanentError, TransientError
from bot.kernel.i18n import Mention, Msg
from bot.kernel.model import Choice, DirectMessage, Edit, Image, OpenForm, Post, PrivateNote, React
from bot.store import open_store
from tests.fakes.slack_fake import signed_interaction
from tests.integration.test_slack_adapter_kit import (
    ALICE,
    BOB,
    BOT_USER,
    CHLOE,
    GENERAL,
    SECRET,
    TEAM,
    rig,
)

# A 1×1 transparent PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def say(text: Any) -> Msg:
    return Msg("core.help.command_word", fr=text, en=text)


CHOICES = [
    Choice(id="consent", label=Msg("consent.choice.consent"), emoji="✅"),
    Choice(id="concern", label=Msg("consent.choice.concern"), emoji="⚠️"),
    Choice(id="objection", label=Msg("consent.choice.objection"), emoji="✋"),
    Choice(id="stand_aside", label=Msg("consent.choice.stand_aside"), emoji="🙊"),
]


def post(key: str, text: Any = "Proposition #1", **changes: Any) -> Outgoing:
    return Outgoing(
        action=Post(channel="general", text=say(text), **changes),
        key=key,
        channel=GENERAL,
        accounts={"alice": ALICE, "bob": BOB},
    )


async def test_a_post_with_choices_is_block_kit_with_one_button_per_choice(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        delivery = await r.adapter.perform(post("k-post", choices=CHOICES))
        msg = r.fake.message(GENERAL, delivery.message_id or "")
        assert msg is not None and delivery.channel == GENERAL
        assert msg.metadata == {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {"key": "k-post"},
        }
        (buttons,) = [b for b in msg.blocks or [] if b["type"] == "actions"]
        assert [(e["value"], e["text"]["text"]) for e in buttons["elements"]] == [
            ("consent", "✅ consentement"),
            ("concern", "⚠️ consentement avec réserve"),
            ("objection", "✋ objection"),
            ("stand_aside", "🙊 je me tiens à l'écart"),
        ]
        assert r.fake.errors == []


async def test_member_text_is_escaped_and_mentions_are_real(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        hostile = "<!channel> & <@U0BOB> *gras* <https://evil.example|clic>"
        await r.adapter.perform(post("k-esc", text=hostile))
        await r.adapter.perform(post("k-mention", text=Mention(member="bob", name="Bob")))
        await r.adapter.perform(post("k-unknown", text=Mention(member="zoe", name="<!here> Zoé")))
        escaped, mention, unknown = (m.text for m in r.fake.messages(GENERAL))
        assert "<" not in escaped and ">" not in escaped
        assert "&lt;!channel&gt; &amp; &lt;@U0BOB&gt;" in escaped
        assert mention == "<@U0BOB>"
        assert "<!here>" not in unknown and "Zoé" in unknown


async def test_edits_keep_or_replace_the_buttons(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ts = (await r.adapter.perform(post("k-p", choices=CHOICES))).message_id
        edit = Edit(channel="general", ref="p", text=say("Proposition #1 — 2 réponses"))
        await r.adapter.perform(Outgoing(action=edit, key="k-e1", channel=GENERAL, message_id=ts))
        msg = r.fake.message(GENERAL, ts or "")
        assert msg is not None and msg.edited is not None and "2 réponses" in msg.text
        assert [
            e["value"] for b in msg.blocks or [] if b["type"] == "actions" for e in b["elements"]
        ] == ["consent", "concern", "objection", "stand_aside"]
        closed = Edit(channel="general", ref="p", text=say("Adoptée"), choices=[])
        await r.adapter.perform(Outgoing(action=closed, key="k-e2", channel=GENERAL, message_id=ts))
        msg = r.fake.message(GENERAL, ts or "")
        assert msg is not None and not [b for b in msg.blocks or [] if b["type"] == "actions"]
        assert r.fake.errors == []


async def test_reactions_by_name_and_idempotent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ts = (await r.adapter.perform(post("k-r"))).message_id
        for key in ("k-react", "k-react-again"):
            react = React(channel="general", ref="p", emoji="✅")
            await r.adapter.perform(Outgoing(action=react, key=key, channel=GENERAL, message_id=ts))
        msg = r.fake.message(GENERAL, ts or "")
        assert msg is not None and msg.reactions == {"white_check_mark": [BOT_USER]}


async def test_a_direct_message_opens_the_conversation(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        dm = DirectMessage(
            member="chloe", text=say("Votre bulletin"), choices=CHOICES, ref="ballot"
        )
        delivery = await r.adapter.perform(
            Outgoing(action=dm, key="k-dm", channel=None, recipient=CHLOE)
        )
        assert delivery.channel == r.fake.dm_channel_id(TEAM, CHLOE)
        assert r.fake.calls_to("conversations.open")[0].params["users"] == CHLOE
        msg = r.fake.message(delivery.channel or "", delivery.message_id or "")
        assert msg is not None and msg.blocks is not None
        # Performed again (the engine crashed before recording it): the same message.
        again = await r.adapter.perform(
            Outgoing(action=dm, key="k-dm", channel=None, recipient=CHLOE)
        )
        assert again == delivery and len(r.fake.calls_to("chat.postMessage")) == 1


async def test_private_notes_use_the_response_url_else_ephemeral_else_a_dm(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        note = PrivateNote(member="alice", channel="general", text=say("Vous avez consenti."))
        url = r.fake.make_response_url(TEAM, GENERAL)
        await r.adapter.perform(
            Outgoing(
                action=note,
                key="n1",
                channel=GENERAL,
                recipient=ALICE,
                reply_handle={"response_url": url},
            )
        )
        assert r.fake.responses[-1].body["response_type"] == "ephemeral"
        await r.adapter.perform(Outgoing(action=note, key="n2", channel=GENERAL, recipient=ALICE))
        assert r.fake.calls_to("chat.postEphemeral")[-1].params["user"] == ALICE
        r.fake.add_user(TEAM, "U0OUT", name="out")
        await r.adapter.perform(Outgoing(action=note, key="n3", channel=GENERAL, recipient="U0OUT"))
        assert (
            r.fake.messages(r.fake.dm_channel_id(TEAM, "U0OUT"))[-1].text == "Vous avez consenti."
        )
        posted = len(r.fake.responses) + len(r.fake.calls_to("chat.postEphemeral"))
        await r.adapter.perform(Outgoing(action=note, key="n2", channel=GENERAL, recipient=ALICE))
        assert len(r.fake.responses) + len(r.fake.calls_to("chat.postEphemeral")) == posted


async def test_a_form_opens_a_modal_with_a_fresh_trigger_else_falls_back(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        form = OpenForm(
            member="alice",
            channel="general",
            form="proposal",
            title=say("Nouvelle proposition"),
            fallback=say("Tapez /reseau decision <titre>"),
        )
        trigger = r.fake.make_trigger_id(TEAM, ALICE)
        opened = await r.adapter.perform(
            Outgoing(
                action=form,
                key="f1",
                channel=GENERAL,
                recipient=ALICE,
                reply_handle={"trigger_id": trigger},
            )
        )
        view = r.fake.views(team_id=TEAM)[opened.message_id or ""]
        assert [b["element"]["type"] for b in view["blocks"]] == [
            "plain_text_input",
            "plain_text_input",
            "datetimepicker",
        ]
        assert [b["label"]["text"] for b in view["blocks"]] == ["Titre", "Proposition", "Échéance"]
        # The trigger is spent: a second form falls back to a private note.
        await r.adapter.perform(
            Outgoing(
                action=form,
                key="f2",
                channel=GENERAL,
                recipient=ALICE,
                reply_handle={"trigger_id": trigger},
            )
        )
        assert (
            r.fake.calls_to("chat.postEphemeral")[-1]
            .params["text"]
            .startswith("Tapez /reseau decision")
        )
        # No trigger at all: the same.
        await r.adapter.perform(Outgoing(action=form, key="f3", channel=GENERAL, recipient=ALICE))
        assert len(r.fake.calls_to("chat.postEphemeral")) == 2
        assert [c.error for c in r.fake.calls_to("views.open")] == [None, "expired_trigger_id"]
        assert r.fake.errors == []


async def test_an_objection_form_answers_the_click_that_asked_for_it(tmp_path: Path) -> None:
    """The engine's InboundChoice carries no trigger id: the adapter keeps the click's."""
    async with rig(tmp_path) as r:
        ts = (await r.adapter.perform(post("k-prop", choices=CHOICES))).message_id or ""
        click = r.fake.block_action(TEAM, BOB, GENERAL, ts, ACTION_PREFIX + "objection")
        assert (await r.send(signed_interaction(click, SECRET)))[0] == 200
        form = OpenForm(
            member="bob",
            channel="general",
            form="objection",
            title=say("Objection"),
            fields=[
                {"id": "reason", "label": Msg("consent.objection.form_reason"), "multiline": True}
            ],
            fallback=say("Dites pourquoi dans le fil."),
            context={"ref": "proposal"},
        )
        opened = await r.adapter.perform(
            Outgoing(action=form, key="f-obj", channel=GENERAL, recipient=BOB)
        )
        view = r.fake.views(team_id=TEAM)[opened.message_id or ""]
        assert f'"t":"{ts}"' in view["private_metadata"]
        assert view["blocks"][0]["element"]["multiline"] is True
        assert r.fake.errors == []


async def test_an_image_is_uploaded_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        image = Image(
            png_b64=PNG, alt=say("Réponses par organisation"), filename="participation.png"
        )
        out = post("k-img", text="Résumé de la semaine", image=image)
        delivery = await r.adapter.perform(out)
        (upload,) = r.fake.files.values()
        assert (
            upload.completed
            and upload.channels == [GENERAL]
            and upload.alt_txt == "Réponses par organisation"
        )
        assert upload.content == base64.b64decode(PNG)
        assert delivery.message_id is not None
        assert r.fake.message(GENERAL, delivery.message_id) is not None
        # A crash before the record: the upload is recognised by its file name.
        await r.store.kv().put(
            SENT_NS, "k-img", {"channel": GENERAL, "thread": None, "at": 0, "done": False}
        )
        assert (await r.adapter.perform(out)).message_id == delivery.message_id
        assert len(r.fake.files) == 1
        assert r.fake.errors == []


async def test_rate_limits_are_transient_with_retry_after(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.fake.rate_limit_next("chat.postMessage", retry_after_s=7)
        with pytest.raises(TransientError) as caught:
            await r.adapter.perform(post("k-429"))
        assert caught.value.retry_after == 7
        await r.adapter.perform(post("k-429"))
        assert len(r.fake.messages(GENERAL)) == 1
        # Slack answered the 429: the retry needed no history check.
        assert r.fake.calls_to("conversations.history") == []


async def test_permanent_failures(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with pytest.raises(PermanentError, match="channel_not_found"):
            await r.adapter.perform(
                Outgoing(action=Post(channel="x", text=say("?")), key="k-404", channel="C0NOWHERE")
            )
        r.fake.fail_next("chat.postMessage", "internal_error", status=500)
        with pytest.raises(TransientError):
            await r.adapter.perform(post("k-500"))


class CrashingKV:
    """The store under the adapter, dying right after Slack accepted a message (before the
    adapter could record it): what a crash at that instant leaves behind."""

    def __init__(self, inner: KeyValue) -> None:
        self.inner = inner

    async def get(self, namespace: str, key: str) -> Any | None:
        return await self.inner.get(namespace, key)

    async def put(self, namespace: str, key: str, value: Any) -> None:
        if namespace == SENT_NS and isinstance(value, dict) and value.get("done"):
            raise SystemExit("crash")
        await self.inner.put(namespace, key, value)


async def test_a_crash_after_posting_and_before_recording_does_not_post_twice(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with rig(tmp_path, store=store) as r:
            r.adapter.sender.kv = CrashingKV(store.kv())
            with pytest.raises(SystemExit):
                await r.adapter.perform(post("k-crash", choices=CHOICES))
            (first,) = r.fake.messages(GENERAL)
            # Restart: a new adapter on the same database sends the same outbox entry again.
            reborn = SlackAdapter(r.settings, store.kv(), tables=store)
            await reborn.start(r.sink)
            try:
                delivery = await reborn.perform(post("k-crash", choices=CHOICES))
            finally:
                await reborn.stop()
            assert delivery.message_id == first.ts
            assert len(r.fake.messages(GENERAL)) == 1
            (lookup,) = r.fake.calls_to("conversations.history")
            assert lookup.params["include_all_metadata"] in (True, "true", "1")
    finally:
        await store.close()


async def test_members_of_a_channel(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        members = {m.user_id: m for m in await r.adapter.members(GENERAL)}
        assert set(members) == {ALICE, BOB, CHLOE, BOT_USER}
        assert members[ALICE].display_name == "alice" and members[BOT_USER].is_bot
