"""What one member sees alone on Slack: private notes (ephemeral, else a direct message) and forms (modals)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import FormMeta, modal_view
from adapters.slack.errors import error_code, slack_call
from adapters.slack.fit import MAX_VIEW_BLOCKS, intro_sections, note_parts, part_key
from adapters.slack.forms import KNOWN_FORMS, Texts, form_fields
from adapters.slack.handles import ReplyHandles
from adapters.slack.ledger import Ledger
from adapters.slack.markup import MRKDWN, mrkdwn, note_mark, plain
from bot.adapter import Delivery, Outgoing, PermanentError
from bot.kernel.model import Choice, OpenForm, PrivateNote

log = logging.getLogger(__name__)

RESPONSE_URL_USES = 5
"""Slack takes five posts on one response_url."""
INTRO_BLOCKS = 10
"""A form's introduction is a reminder of what it is about, not the whole document."""

# Slack's answers that mean "this user or channel cannot get an ephemeral message here".
_EPHEMERAL_UNREACHABLE = frozenset(
    {
        "user_not_in_channel",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
    }
)
_TRIGGER_SPENT = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})


class Messages(Protocol):
    """What a private note falls back on when no ephemeral message can reach the member:
    a direct message, posted once per key (the sender's)."""

    async def open_dm(self, client: AsyncWebClient, user: str) -> str: ...

    async def upload(
        self, out: Outgoing, client: AsyncWebClient, channel: str, text: str, data_b64: str,
        name: str, alt: str,
    ) -> Delivery: ...

    async def message(
        self,
        out: Outgoing,
        client: AsyncWebClient,
        channel: str,
        text: str,
        choices: Sequence[Choice],
        style: str,
        thread: str | None,
        key: str | None = None,
    ) -> Delivery: ...


class PrivateSender:
    """Private notes and forms, with the sender's ledger, reply handles and messages."""

    def __init__(self, messages: Messages, ledger: Ledger, handles: ReplyHandles) -> None:
        self.messages = messages
        self.ledger = ledger
        self.handles = handles

    async def note(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, PrivateNote | OpenForm)
        msg = action.text if isinstance(action, PrivateNote) else action.fallback
        if isinstance(action, PrivateNote) and action.attachment is not None:
            # A file cannot be ephemeral: it goes by direct message, to this member only.
            if not out.recipient:
                raise PermanentError("a file needs the member's Slack user id")
            file = action.attachment
            channel = await self.messages.open_dm(client, out.recipient)
            return await self.messages.upload(out, client, channel, mrkdwn(out, msg), file.data_b64,
                                              file.filename, file.filename)
        return await self.ephemeral(out, client, team, mrkdwn(out, msg))

    async def ephemeral(
        self, out: Outgoing, client: AsyncWebClient, team: str, text: str
    ) -> Delivery:
        """Seen by one member: through the command's response_url when there is one, else
        chat.postEphemeral, else (member not in the channel) a direct message; a text
        longer than one message can hold goes in several, in order."""
        done = await self.ledger.done(out.key)
        if done is not None:
            return done
        if not out.recipient:
            raise PermanentError("a private note needs the member's Slack user id")
        user = out.recipient
        channel = out.channel
        url = out.reply_handle.get("response_url") or (
            self.handles.response_url(team, user, channel) if channel else None
        )
        parts = note_parts(text)
        delivery = Delivery(None, channel)
        for index, part in enumerate(parts):
            key = part_key(out.key, index, len(parts))
            # A response_url takes RESPONSE_URL_USES posts: the rest of a long note, or
            # all of it once the url failed, goes by chat.postEphemeral.
            usable = url if index < RESPONSE_URL_USES else None
            delivery, answered = await self._one(out, client, part, key, usable)
            url = url if answered else None
        return delivery

    async def _one(
        self, out: Outgoing, client: AsyncWebClient, text: str, key: str, url: str | None
    ) -> tuple[Delivery, bool]:
        """One note: (where it went, whether the response_url took it)."""
        ledger = self.ledger
        done = await ledger.done(key)
        if done is not None:
            return done, True
        user = out.recipient or ""
        channel = out.channel
        if url and await self._respond(url, text):
            delivery = Delivery(None, channel)
            await ledger.record(key, delivery)
            return delivery, True
        if channel:
            try:
                async with slack_call("chat.postEphemeral"):
                    await client.chat_postEphemeral(
                        channel=channel, user=user, text=text, thread_ts=out.thread_of
                    )
                delivery = Delivery(None, channel)
                await ledger.record(key, delivery)
                return delivery, False
            except PermanentError as exc:
                cause = exc.__cause__
                if not (
                    isinstance(cause, SlackApiError) and error_code(cause) in _EPHEMERAL_UNREACHABLE
                ):
                    raise
                log.info(
                    "private note to %s not possible in %s (%s): sending it as a DM",
                    user,
                    channel,
                    error_code(cause),
                )
        dm = await self.messages.open_dm(client, user)
        delivery = await self.messages.message(out, client, dm, text, (), "buttons", None, key=key)
        return delivery, False

    async def _respond(self, url: str, text: str) -> bool:
        body: dict[str, Any] = {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": text,
        }
        try:
            resp = await AsyncWebhookClient(url).send_dict(body)
        except Exception as exc:  # network errors: chat.postEphemeral is the fallback
            log.info(
                "response_url failed (%s): falling back to chat.postEphemeral", type(exc).__name__
            )
            return False
        if resp.status_code == 200:
            return True
        log.info("response_url answered %s %s: falling back", resp.status_code, resp.body)
        return False

    async def form(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, OpenForm)
        done = await self.ledger.done(out.key)
        if done is not None:
            return done
        user = out.recipient or ""
        trigger = out.reply_handle.get("trigger_id")
        clicked: str | None = None
        if not trigger and user:
            # An answer to a click: the engine does not carry the click's trigger id, the
            # adapter kept it (with the message clicked, which the submission is about).
            fresh = self.handles.trigger(team, user)
            if fresh is not None:
                trigger, clicked = fresh
        if action.form not in KNOWN_FORMS and not action.fields:
            raise PermanentError(f"unknown form {action.form!r}")
        if not trigger:
            log.info("no fresh trigger id to open the %s form: sending its fallback", action.form)
            return await self.note(out, client, team)
        texts = Texts(out.locale, lambda m: plain(out, m))
        meta = FormMeta(
            form=action.form,
            channel=out.channel or "",
            target=out.message_id or clicked or out.thread_of or action.context.get("target"),
            choice=action.context.get("choice"),
            context=action.context,
        )
        fields = form_fields(action.form, action.fields, texts)
        intro = action.context.get("intro")
        room = min(INTRO_BLOCKS, MAX_VIEW_BLOCKS - len(fields))
        view = modal_view(
            meta,
            title=plain(out, action.title),
            fields=fields,
            submit=texts("slack.form.submit"),
            close=texts("slack.form.cancel"),
            intro=(
                intro_sections(MRKDWN.escape(intro), room, note_mark(out))
                if intro
                else ()
            ),
        )
        try:
            async with slack_call("views.open"):
                resp = await client.views_open(trigger_id=trigger, view=view)
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, SlackApiError) and error_code(cause) in _TRIGGER_SPENT:
                log.info(
                    "the trigger id expired before the %s form opened: sending its fallback",
                    action.form,
                )
                return await self.note(out, client, team)
            raise
        delivery = Delivery(str(resp["view"]["id"]), out.channel)
        await self.ledger.record(out.key, delivery)
        return delivery
