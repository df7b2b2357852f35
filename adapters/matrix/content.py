"""Matrix event contents the bot sends: HTML messages, threads, edits, reactions, polls, images."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.adapter import Outgoing
from bot.i18n import Fmt, Mention, Msg, escape_member_text

HTML_FORMAT = "org.matrix.custom.html"
POLL_START_TYPE = "org.matrix.msc3381.poll.start"
"""The type Element (web, mobile, X) sends and shows; the content also carries the spec's
stable `m.poll` form so clients that only read the stable shape can draw it too."""
POLL_END_TYPE = "org.matrix.msc3381.poll.end"
MAX_POLL_ANSWERS = 20
"""Element refuses to draw polls with more answers than this; more choices use reactions."""

_TXN_SAFE = re.compile(r"[A-Za-z0-9._~-]{1,120}")


def txn_id(key: str, part: str = "") -> str:
    """The send's transaction id, derived only from the outbox key: the homeserver
    deduplicates a resend of the same key (after a crash) from the same device."""
    base = key if _TXN_SAFE.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"mlg.{base}" + (f".{part}" if part else "")


def matrix_to(user_id: str) -> str:
    return f"https://matrix.to/#/{user_id}"


@dataclass
class MentionCollector:
    """Renders mentions as Matrix pills and remembers who was mentioned (`m.mentions`)."""

    out: Outgoing
    user_ids: list[str] = field(default_factory=list)

    def __call__(self, mention: Mention, fmt: Fmt) -> str:
        user = self.out.user_of(mention)
        if user is None:
            return escape_member_text(mention.name, fmt)
        if user not in self.user_ids:
            self.user_ids.append(user)
        if fmt == "html":
            name = escape_member_text(mention.name, "html")
            return f'<a href="{html.escape(matrix_to(user), quote=True)}">{name}</a>'
        return escape_member_text(mention.name, fmt)


@dataclass(frozen=True)
class Rendered:
    plain: str
    html: str
    mentions: tuple[str, ...] = ()


def render(out: Outgoing, msg: Msg) -> Rendered:
    collector = MentionCollector(out)
    html_text = out.render(msg, "html", collector)
    plain = out.render(msg, "plain", collector)
    return Rendered(plain, html_text, tuple(collector.user_ids))


def message(text: Rendered, notice: bool = True) -> dict[str, Any]:
    """An m.room.message with an HTML body and its plain-text fallback."""
    content: dict[str, Any] = {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text.plain,
    }
    if text.html != html.escape(text.plain, quote=False):
        content["format"] = HTML_FORMAT
        content["formatted_body"] = text.html
    # Intentional mentions: only the members named ping, never the whole room.
    content["m.mentions"] = {"user_ids": list(text.mentions)} if text.mentions else {}
    return content


def in_thread(content: dict[str, Any], root: str | None) -> dict[str, Any]:
    """Put the content in the thread of `root` (with the reply fallback older clients show)."""
    if root is None:
        return content
    return {
        **content,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }


def edit(target: str, new_content: Mapping[str, Any]) -> dict[str, Any]:
    """An m.replace of `target`; clients without edits show the "* new text" fallback."""
    replacement = {k: v for k, v in new_content.items() if k != "m.relates_to"}
    fallback = dict(replacement)
    if isinstance(fallback.get("body"), str):
        fallback["body"] = "* " + fallback["body"]
    if isinstance(fallback.get("formatted_body"), str):
        fallback["formatted_body"] = "* " + fallback["formatted_body"]
    return {**fallback, "m.new_content": replacement,
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


def reaction(target: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


@dataclass(frozen=True)
class PollAnswer:
    id: str
    text: str


def poll_answers(out: Outgoing, choices: Sequence[Any]) -> list[PollAnswer]:
    """Answers from the action's choices: the emoji of the vocabulary, then the label."""
    answers = []
    for choice in choices:
        label = out.render(choice.label, "plain")
        answers.append(PollAnswer(choice.id, f"{choice.emoji} {label}".strip()))
    return answers


def poll_start(question: str, answers: Sequence[PollAnswer], *, disclosed: bool = True) -> dict[str, Any]:
    """A poll in both the MSC3381 unstable shape (what Element reads) and the spec's stable
    `m.poll` shape, plus a numbered text fallback for clients without polls."""
    fallback = question + "".join(f"\n{i}. {a.text}" for i, a in enumerate(answers, 1))
    return {
        "org.matrix.msc3381.poll.start": {
            "kind": "org.matrix.msc3381.poll.disclosed" if disclosed
            else "org.matrix.msc3381.poll.undisclosed",
            "max_selections": 1,
            "question": {"org.matrix.msc1767.text": question, "body": question,
                         "msgtype": "m.text"},
            "answers": [{"id": a.id, "org.matrix.msc1767.text": a.text} for a in answers],
        },
        "m.poll": {
            "kind": "m.disclosed" if disclosed else "m.undisclosed",
            "max_selections": 1,
            "question": {"m.text": [{"body": question}]},
            "answers": [{"m.id": a.id, "m.text": [{"body": a.text}]} for a in answers],
        },
        "org.matrix.msc1767.text": fallback,
        "m.text": [{"body": fallback}],
        "body": fallback,
    }


def poll_end(start: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start},
        "org.matrix.msc3381.poll.end": {},
        "org.matrix.msc1767.text": text,
        "m.text": [{"body": text}],
        "body": text,
    }


def image(alt: str, filename: str, size: int, *, url: str | None = None,
          file: Mapping[str, Any] | None = None, width: int | None = None,
          height: int | None = None) -> dict[str, Any]:
    """An m.image: `url` for a clear upload, `file` (with the keys) in an encrypted room."""
    info: dict[str, Any] = {"mimetype": "image/png", "size": size}
    if width and height:
        info.update(w=width, h=height)
    content: dict[str, Any] = {"msgtype": "m.image", "body": alt, "filename": filename, "info": info}
    if file is not None:
        content["file"] = dict(file)
    else:
        content["url"] = url
    return content


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (IHDR), so clients reserve the right space."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None
