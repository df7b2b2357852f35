"""What the bot sends on Matrix: posts (a poll where there are choices), edits, reactions, direct messages, private notes and images, each send idempotent by its transaction id."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from aiohttp import ClientConnectionError
from nio import RoomSendResponse, UploadResponse
from nio.exceptions import EncryptionError, LocalProtocolError

from adapters.matrix import content as mx
from adapters.matrix.account import Account, kv_key, raise_for
from adapters.matrix.crypto import Encryption
from adapters.matrix.dms import DirectRooms
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import NAMESPACE
from bot.adapter import Delivery, Outgoing, PermanentError, TransientError
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Attachment,
    Choice,
    DirectMessage,
    Edit,
    Image,
    OpenForm,
    Post,
    PrivateNote,
    React,
)

log = logging.getLogger(__name__)

KILL_AFTER_SEND = "kill-after-send"
"""The crash tests' fault point: SIGKILL the process right after the homeserver accepted a
send and before the caller could record it."""


class InFlight:
    """The sends under way: the sync loop lets them go out before its next long poll."""

    def __init__(self) -> None:
        self.count = 0
        self.started = asyncio.Event()
        """Set when a send starts (the sync loop clears it before waiting)."""
        self.idle = asyncio.Event()
        """Set while no send is under way."""
        self.idle.set()

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        self.count += 1
        self.idle.clear()
        self.started.set()
        try:
            yield
        finally:
            self.count -= 1
            if not self.count:
                self.idle.set()


class _DuplicateAnnotation(Exception):
    """The same reaction from the bot is already there: nothing to do."""


class Outbound:
    """Performs the engine's actions on Matrix."""

    def __init__(self, account: Account, rooms: Rooms, dms: DirectRooms, crypto: Encryption,
                 in_flight: InFlight, fault: str | None = None) -> None:
        self.account = account
        self.rooms = rooms
        self.dms = dms
        self.crypto = crypto
        self.in_flight = in_flight
        self._fault = fault
        """Crash tests only: the point where the process kills itself (`kill-after-send`)."""

    async def perform(self, out: Outgoing) -> Delivery:
        performer = self._performers.get(type(out.action))
        if performer is None:
            raise PermanentError(f"the Matrix adapter cannot perform {type(out.action).__name__}")
        with self.in_flight.sending():
            try:
                return await performer(self, out)
            except (ClientConnectionError, TimeoutError) as exc:
                raise TransientError(f"Matrix unreachable: {exc or type(exc).__name__}") from exc

    async def _perform_post(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, Post)
        room_id = self.rooms.room(out.channel)
        event_id = await self._post_in(room_id, out, action.text, out.thread_of, action.choices,
                                       action.choice_style, action.notice)
        if action.image is not None:
            # An image is its own event on Matrix: beside a top-level post it would be a second
            # post in the room, so it goes in the post's thread (the digest's chart under it).
            await self._send_image(room_id, out, action.image, out.thread_of or event_id)
        return Delivery(event_id, channel=out.channel)

    async def _perform_edit(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, Edit)
        room_id = self.rooms.room(out.channel)
        target = out.message_id
        if not target:
            raise PermanentError("an edit needs the id of the message it replaces")
        text = mx.render(out, action.text)
        poll = await self.account.kv.get(NAMESPACE, kv_key("poll", target))
        if isinstance(poll, Mapping):
            answers = ([mx.PollAnswer(str(a), str(t)) for a, t in poll.get("answers", [])]
                       if action.choices is None else mx.poll_answers(out, action.choices))
            voted = bool(await self.account.kv.get(NAMESPACE, kv_key("voted", target)))
            match mx.poll_edit(voted, answers):
                case "edit":
                    await self._send(room_id, mx.POLL_START_TYPE,
                                     mx.edit_poll(target, text, answers, mx.mark(out)), mx.txn_id(out.key))
                case "end":
                    # No answers left: the question is closed — end the poll with the new text.
                    await self._send(room_id, mx.POLL_END_TYPE, mx.end_poll(target, text, mx.mark(out)),
                                     mx.txn_id(out.key))
                case "keep":
                    log.debug("poll %s has votes: not edited (its own tally shows the count)", target)
            return Delivery(target, channel=out.channel)
        await self._send(room_id, "m.room.message", mx.edit_message(target, text, mx.mark(out)),
                         mx.txn_id(out.key))
        if action.choices:
            await self._seed_reactions(room_id, target, action.choices, out.key)
        return Delivery(target, channel=out.channel)

    async def _perform_react(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, React)
        room_id = self.rooms.room(out.channel)
        if not out.message_id:
            raise PermanentError("a reaction needs the id of the message it reacts to")
        event_id = await self._react(room_id, out.message_id, action.emoji, mx.txn_id(out.key))
        return Delivery(event_id, channel=out.channel)

    async def _perform_dm(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, DirectMessage)
        room_id = await self.dms.room_for(_recipient(out))
        event_id = await self._post_in(room_id, out, action.text, None, action.choices,
                                       action.choice_style, True)
        return Delivery(event_id, channel=room_id)

    async def _perform_note(self, out: Outgoing) -> Delivery:
        # Matrix has no message only one member sees in a room: a direct message instead.
        action = out.action
        assert isinstance(action, PrivateNote | OpenForm)
        text = action.text if isinstance(action, PrivateNote) else action.fallback
        room_id = await self.dms.room_for(_recipient(out))
        event_id = await self._post_in(room_id, out, text, None, [], "reactions", True)
        if isinstance(action, PrivateNote) and action.attachment is not None:
            await self._send_file(room_id, out, action.attachment)
        return Delivery(event_id, channel=room_id)

    _performers: ClassVar[dict[type, Callable[[Outbound, Outgoing], Awaitable[Delivery]]]] = {
        Post: _perform_post,
        Edit: _perform_edit,
        React: _perform_react,
        DirectMessage: _perform_dm,
        PrivateNote: _perform_note,
        OpenForm: _perform_note,
    }

    async def _post_in(self, room_id: str, out: Outgoing, text: Msg, thread: str | None,
                       choices: Sequence[Choice], style: str, notice: bool) -> str:
        rendered = mx.render(out, text)
        if choices and mx.as_poll(choices, style):
            # Matrix has no buttons: a native poll is the closest thing Element shows.
            answers = mx.poll_answers(out, choices)
            event_id = await self._send_all(
                room_id, mx.post(rendered, thread=thread, notice=notice, answers=answers), out.key)
            await self.account.kv.put(NAMESPACE, kv_key("poll", event_id),
                                      {"answers": [[a.id, a.text] for a in answers]})
            return event_id
        event_id = await self._send_all(room_id, mx.post(rendered, thread=thread, notice=notice), out.key)
        if choices:
            await self._seed_reactions(room_id, event_id, choices, out.key)
        return event_id

    async def _send_all(self, room_id: str, sends: Sequence[mx.Send], key: str) -> str:
        """A text too long for one event goes first in parts; the post itself (last) keeps
        the key's transaction id and is the one answered, reacted to and edited."""
        for send in sends[:-1]:
            await self._send(room_id, send.type, send.content, mx.txn_id(key, send.part))
        return await self._send(room_id, sends[-1].type, sends[-1].content, mx.txn_id(key))

    async def _seed_reactions(self, room_id: str, target: str, choices: Sequence[Choice], key: str) -> None:
        """The vocabulary as reactions under the message: members click instead of typing."""
        for choice in choices:
            part = "r." + hashlib.sha256(choice.emoji.encode()).hexdigest()[:12]
            await self._react(room_id, target, choice.emoji, mx.txn_id(key, part))

    async def _react(self, room_id: str, target: str, emoji: str, txn: str) -> str | None:
        try:
            return await self._send(room_id, "m.reaction", mx.reaction(target, emoji), txn)
        except _DuplicateAnnotation:
            return None

    async def _upload(self, room_id: str, out: Outgoing, data: bytes, media_type: str, filename: str,
                      part: str) -> Mapping[str, Any]:
        """Upload once per key (a retried send reuses it), encrypted in an encrypted room."""
        kv = self.account.kv
        encrypted = self.account.is_encrypted(room_id)
        media_key = kv_key("media", f"{out.key}:{part}:{int(encrypted)}")
        uploaded = await kv.get(NAMESPACE, media_key)
        if not isinstance(uploaded, Mapping):
            response, keys = await self.account.client.upload(
                io.BytesIO(data), content_type=media_type, filename=filename, encrypt=encrypted,
                filesize=len(data))
            if not isinstance(response, UploadResponse):
                raise_for(response, "upload the file")
            uploaded = {"url": response.content_uri, "keys": keys}
            await kv.put(NAMESPACE, media_key, uploaded)
        return uploaded

    async def _send_file(self, room_id: str, out: Outgoing, attachment: Attachment) -> str:
        """A member's file (m.file) in their direct conversation, after the note that says what it is."""
        data = base64.b64decode(attachment.data_b64)
        uploaded = await self._upload(room_id, out, data, attachment.media_type, attachment.filename, "file")
        body: dict[str, Any] = {"msgtype": "m.file", "body": attachment.filename, "filename": attachment.filename,
                                "info": {"mimetype": attachment.media_type, "size": len(data)}}
        if self.account.is_encrypted(room_id):
            body["file"] = {**(uploaded.get("keys") or {}), "url": uploaded["url"]}
        else:
            body["url"] = str(uploaded["url"])
        return await self._send(room_id, "m.room.message", body, mx.txn_id(out.key, "file"))

    async def _send_image(self, room_id: str, out: Outgoing, image: Image, thread: str | None) -> str:
        kv = self.account.kv
        data = base64.b64decode(image.png_b64)
        encrypted = self.account.is_encrypted(room_id)
        media_key = kv_key("media", f"{out.key}:{int(encrypted)}")
        uploaded = await kv.get(NAMESPACE, media_key)
        if not isinstance(uploaded, Mapping):
            response, keys = await self.account.client.upload(
                io.BytesIO(data), content_type="image/png", filename=image.filename,
                encrypt=encrypted, filesize=len(data))
            if not isinstance(response, UploadResponse):
                raise_for(response, "upload the image")
            uploaded = {"url": response.content_uri, "keys": keys}
            # Remembered so a retried send reuses the upload instead of storing the file twice.
            await kv.put(NAMESPACE, media_key, uploaded)
        size = mx.png_size(data)
        alt = out.render(image.alt)
        if encrypted:
            file = {**(uploaded.get("keys") or {}), "url": uploaded["url"]}
            body = mx.image(alt, image.filename, len(data), file=file,
                            width=size[0] if size else None, height=size[1] if size else None)
        else:
            body = mx.image(alt, image.filename, len(data), url=str(uploaded["url"]),
                            width=size[0] if size else None, height=size[1] if size else None)
        return await self._send(room_id, "m.room.message", mx.in_thread(body, thread),
                                mx.txn_id(out.key, "img"))

    async def _send(self, room_id: str, event_type: str, body: dict[str, Any], txn: str) -> str:
        """One idempotent send: the same `txn` from this device is one event, however many
        times it is sent (the homeserver answers a resend with the first event's id)."""
        account = self.account
        client = account.client
        if client.olm is not None and room_id not in client.rooms:
            # An encrypted send needs the room's members; they arrive with the next sync.
            raise TransientError(f"room {room_id} not synced yet", retry_after=1)
        partner = self.dms.partner_of.get(room_id)
        if partner is not None and account.is_encrypted(room_id) and not account.knows(room_id, partner):
            raise TransientError(f"the direct conversation {room_id} does not list {partner} yet", retry_after=1)
        if account.is_encrypted(room_id) and event_type != "m.reaction":
            await self.crypto.query_keys()
        try:
            response = await account.client.room_send(room_id, event_type, body, tx_id=txn,
                                                      ignore_unverified_devices=True)
        except LocalProtocolError as exc:
            raise TransientError(f"cannot send to {room_id} yet: {exc}", retry_after=1) from exc
        except EncryptionError as exc:
            raise TransientError(f"cannot encrypt for {room_id}: {exc}", retry_after=2) from exc
        if isinstance(response, RoomSendResponse):
            if self._fault == KILL_AFTER_SEND:
                log.warning("Matrix: fault injection: killing the process after sending %s", txn)
                os.kill(os.getpid(), signal.SIGKILL)
            return str(response.event_id)
        if getattr(response, "status_code", None) == "M_DUPLICATE_ANNOTATION":
            raise _DuplicateAnnotation()
        raise_for(response, f"send {event_type} to {room_id}")


def _recipient(out: Outgoing) -> str:
    if not out.recipient:
        raise PermanentError("a direct message needs the recipient's Matrix id")
    return out.recipient
