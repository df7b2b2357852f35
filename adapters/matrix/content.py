"""Matrix event contents the bot sends (HTML messages, threads, edits, reactions, polls, images), each within the event size limit."""

from __future__ import annotations

import bisect
import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.adapter import Outgoing
from bot.kernel.i18n import HTML, PLAIN, Markup, Mention, Msg

HTML_FORMAT = "org.matrix.custom.html"
POLL_START_TYPE = "org.matrix.msc3381.poll.start"
"""The type Element (web, mobile, X) sends and shows; the content also carries the spec's
stable `m.poll` form so clients that only read the stable shape can draw it too."""
POLL_END_TYPE = "org.matrix.msc3381.poll.end"
MAX_POLL_ANSWERS = 20
"""Element refuses to draw polls with more answers than this; more choices use reactions."""
POLL_ANSWER_MAX = 340
"""Element's own limit on the text of a poll answer."""
ALT_MAX = 1000
"""An image's description (its body) is a caption, not a document."""

MAX_EVENT_BYTES = 65_536
"""The homeserver refuses an event (its whole signed JSON) larger than this."""
CONTENT_BUDGET = 40_000
"""Bytes of content, as `content_size` counts them, one event may carry. The rest of the
limit is for what the homeserver wraps around it (ids, hashes, signatures: about 2 KB)
and for encryption in an encrypted room (megolm's base64: a third more, plus some 700
bytes of keys and ids): 40,000 stays under 65,536 either way, as the tests measure."""

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

    def __call__(self, mention: Mention, markup: Markup) -> str:
        user = self.out.user_of(mention)
        if user is None:
            return markup.escape(mention.name)
        if user not in self.user_ids:
            self.user_ids.append(user)
        if markup is HTML:
            return f'<a href="{html.escape(matrix_to(user), quote=True)}">{HTML.escape(mention.name)}</a>'
        return markup.escape(mention.name)


@dataclass(frozen=True)
class Rendered:
    plain: str
    html: str
    mentions: tuple[str, ...] = ()


def render(out: Outgoing, msg: Msg) -> Rendered:
    collector = MentionCollector(out)
    html_text = out.render(msg, HTML, collector)
    plain = out.render(msg, PLAIN, collector)
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
    """An m.replace of `target`; clients without edits show the "* new text" fallback.

    The new content keeps its mentions (they are part of the message), but the edit event's own
    `m.mentions` is empty: the spec pings only those an edit newly mentions, and the bot's edits
    (live counts, a meeting's post as it nears) must never ping again those the message named."""
    replacement = {k: v for k, v in new_content.items() if k != "m.relates_to"}
    fallback = dict(replacement)
    if isinstance(fallback.get("body"), str):
        fallback["body"] = "* " + fallback["body"]
    if isinstance(fallback.get("formatted_body"), str):
        fallback["formatted_body"] = "* " + fallback["formatted_body"]
    if "m.mentions" in fallback:
        fallback["m.mentions"] = {}
    return {**fallback, "m.new_content": replacement,
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


def reaction(target: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


@dataclass(frozen=True)
class PollAnswer:
    id: str
    text: str


def as_poll(choices: Sequence[Any], style: str) -> bool:
    """Whether choices are drawn as a native poll: a question with two answers or more (a single
    action, « Contribuer au hasard », is a reaction to click, not a one-answer poll), as many as
    Element draws; more choices, or a style of reactions, are seeded reactions."""
    return style in ("poll", "buttons") and 1 < len(choices) <= MAX_POLL_ANSWERS


PollEdit = Literal["edit", "end", "keep"]


def poll_edit(voted: bool, answers: Sequence[PollAnswer]) -> PollEdit:
    """What an edit of a poll becomes. A poll nobody has voted on is edited; once someone has,
    it is never edited (MSC3381: clients may drop or misread the votes of an edited poll; the
    poll's own tally shows the count); a question closed (no answers left) ends the poll."""
    if not answers:
        return "end"
    return "keep" if voted else "edit"


def poll_answers(out: Outgoing, choices: Sequence[Any]) -> list[PollAnswer]:
    """Answers from the action's choices: the emoji of the vocabulary, then the label."""
    answers = []
    for choice in choices:
        label = out.render(choice.label)
        text = f"{choice.emoji} {label}".strip()
        if len(text) > POLL_ANSWER_MAX:
            text = text[: POLL_ANSWER_MAX - 1] + "…"
        answers.append(PollAnswer(choice.id, text))
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
    if len(alt) > ALT_MAX:
        alt = alt[: ALT_MAX - 1] + "…"
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


# -- sizes ----------------------------------------------------------------------------------


def content_size(content: Mapping[str, Any]) -> int:
    """Bytes of `content` as the client sends it: compact JSON with non-ASCII escaped, which
    is also what an encrypted room encrypts, and never less than its canonical (UTF-8) size
    in the homeserver's event."""
    return len(json.dumps(content, separators=(",", ":"), ensure_ascii=True))


def fits(content: Mapping[str, Any]) -> bool:
    return content_size(content) <= CONTENT_BUDGET


Build = Callable[[Rendered], dict[str, Any]]


@dataclass(frozen=True)
class Send:
    """One event of a post: the leading parts of a long text, then the post itself."""

    type: str
    content: dict[str, Any]
    part: str = ""
    """Suffix of the transaction id ("" for the post itself, which keeps the key's own)."""


# Our HTML is the renderer's: tags, entities and characters, well formed. A piece is cut
# between atoms, closes the tags open at its end and reopens them at the next one's start.
_ATOM = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});|.",
                   re.DOTALL)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*?(/?)>")
_HREF = re.compile(r'href="([^"]*)"')
_VOID = frozenset({"br", "hr", "img", "wbr"})


class _Text:
    """A rendered text as atoms, with what is needed to cut it anywhere between two."""

    def __init__(self, text: Rendered) -> None:
        self.atoms: list[str] = _ATOM.findall(text.html)
        self.mentions = text.mentions
        # Each atom's share of the plain twin: characters as they are, entities decoded,
        # tags nothing but a link's end, which adds " (url)" as the plain renderer does
        # (a pill is just the name).
        self.plain: list[str] = []
        # Where the tags are, and the tags open after each: a cut anywhere is a lookup.
        self.tags: list[int] = []
        self.open_after: list[tuple[tuple[str, str], ...]] = []
        stack: list[tuple[str, str]] = []
        links: list[tuple[str, int]] = []
        for i, atom in enumerate(self.atoms):
            match = _TAG.fullmatch(atom) if len(atom) > 2 and atom[0] == "<" else None
            if match is None:
                self.plain.append(html.unescape(atom) if atom[0] == "&" else atom)
                continue
            self.plain.append("")
            closing, name, selfclosing = match.group(1), match.group(2).lower(), match.group(3)
            if name in _VOID or selfclosing:
                continue
            if name == "a" and not closing:
                href = _HREF.search(atom)
                links.append((html.unescape(href.group(1)) if href else "", i))
            elif name == "a" and links:
                url, start = links.pop()
                label = "".join(self.plain[start:i])
                if url and label != url and not url.startswith(matrix_to("")):
                    self.plain[i] = f" ({url})"
            if not closing:
                stack.append((name, atom))
            elif any(n == name for n, _ in stack):
                while stack and stack.pop()[0] != name:
                    pass
            self.tags.append(i)
            self.open_after.append(tuple(stack))

    def open_at(self, index: int) -> tuple[tuple[str, str], ...]:
        """The tags still open before atom `index`: (name, opening tag)."""
        k = bisect.bisect_left(self.tags, index)
        return self.open_after[k - 1] if k else ()

    def piece(self, start: int, end: int, tail: Rendered | None = None) -> Rendered:
        """Atoms [start, end) as a text of its own (`tail` appended: the shortening mark)."""
        opened = self.open_at(start)
        still = self.open_at(end)
        html_text = ("".join(t for _, t in opened) + "".join(self.atoms[start:end])
                     + "".join(f"</{n}>" for n, _ in reversed(still)))
        plain = "".join(self.plain[start:end])
        if tail is not None:
            plain += "\n" + tail.plain
            html_text += "<br>\n" + tail.html
        mentioned = tuple(u for u in self.mentions
                          if html.escape(matrix_to(u), quote=True) in html_text)
        return Rendered(plain, html_text, mentioned)

    def boundary(self, low: int, high: int, *, latest: bool) -> int:
        """A nicer cut than `high` (or `low`, when cutting from the end): after a line break
        or a space in the outer half of [low, high], else the position itself."""
        middle = (low + high) // 2
        span = range(high, middle, -1) if latest else range(low, middle)
        for wanted in ("\n", " "):
            for i in span:
                if 0 < i < len(self.atoms) and self.atoms[i - 1] == wanted:
                    return i
        return high if latest else low


def _largest(low: int, high: int, ok: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with ok(n), assuming ok is (nearly) monotone; None if
    not even ok(low). Only values tested ok are returned."""
    if not ok(low):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if ok(mid):
            low = mid
        else:
            high = mid - 1
    return low


def shortened(text: Rendered, build: Build, mark: Rendered) -> dict[str, Any]:
    """`build(text)`, or when over the budget, `build` of the longest beginning of `text`
    that fits followed by `mark` (a visible "shortened" note)."""
    whole = build(text)
    if fits(whole):
        return whole
    atoms = _Text(text)
    n = len(atoms.atoms)
    # Each atom is at least a byte of content: no piece within the budget holds more.
    end = _largest(0, min(n, CONTENT_BUDGET), lambda k: fits(build(atoms.piece(0, k, mark))))
    if end is None:
        return build(mark)
    nicer = build(atoms.piece(0, atoms.boundary(0, end, latest=True), mark))
    return nicer if fits(nicer) else build(atoms.piece(0, end, mark))


def split(text: Rendered, last: Build, lead: Build) -> list[dict[str, Any]]:
    """`last(text)` when it fits; otherwise the contents of consecutive pieces: the leading
    ones built by `lead`, the final one by `last`, each within the budget, the pieces
    together the whole text (a long proposal becomes a few messages, then its poll)."""
    whole = last(text)
    if fits(whole):
        return [whole]
    atoms = _Text(text)
    n = len(atoms.atoms)
    # The final piece first, as long as `last` allows, preferably starting on a new line.
    first = _smallest_start(atoms, n, last)
    if first is None:
        # Even an empty final piece is too large (its other parts are): all text goes ahead.
        first, tail = n, last(Rendered("", "", ()))
    else:
        tail = last(atoms.piece(first, n))
        nicer = atoms.boundary(first, n, latest=False)
        if nicer != first and fits(candidate := last(atoms.piece(nicer, n))):
            first, tail = nicer, candidate
    contents: list[dict[str, Any]] = []
    start = 0
    while start < first:

        def fitting(k: int, s: int = start) -> bool:
            return fits(lead(atoms.piece(s, k)))

        end = _largest(start + 1, min(first, start + CONTENT_BUDGET), fitting)
        if end is None:
            # One atom over the budget (a giant tag): its plain text goes instead.
            piece = atoms.piece(start, start + 1)
            contents += split(Rendered(piece.plain, html.escape(piece.plain, quote=False)),
                              lead, lead)
            start += 1
            continue
        piece = atoms.piece(start, end)
        if end < first:
            nicer = atoms.boundary(start + 1, end, latest=True)
            if nicer != end and fits(lead(candidate_piece := atoms.piece(start, nicer))):
                end, piece = nicer, candidate_piece
        if piece.plain.strip():
            contents.append(lead(piece))
        start = end
    return [*contents, tail]


def _smallest_start(atoms: _Text, n: int, build: Build) -> int | None:
    low, high = max(0, n - CONTENT_BUDGET), n
    if not fits(build(atoms.piece(n, n))):
        return None
    while low < high:
        mid = (low + high) // 2
        if fits(build(atoms.piece(mid, n))):
            high = mid
        else:
            low = mid + 1
    return low


def post(text: Rendered, *, thread: str | None, notice: bool,
         answers: Sequence[PollAnswer] | None = None) -> list[Send]:
    """The events of a post: a message, or a poll when `answers` are given, preceded by
    the leading parts of a text too long for one event."""

    def lead(piece: Rendered) -> dict[str, Any]:
        return in_thread(message(piece, notice), thread)

    if answers:
        def last(piece: Rendered) -> dict[str, Any]:
            return in_thread(poll_start(piece.plain, answers), thread)
        kind = POLL_START_TYPE
    else:
        last, kind = lead, "m.room.message"
    contents = split(text, last, lead)
    return [Send("m.room.message", c, f"p{i}") for i, c in enumerate(contents[:-1])] + [
        Send(kind, contents[-1])]


def mark(out: Outgoing) -> Rendered:
    """The visible note ending a text shortened to fit one event."""
    return render(out, Msg("outbound.shortened"))


def edit_message(target: str, text: Rendered, note: Rendered) -> dict[str, Any]:
    return shortened(text, lambda r: edit(target, message(r)), note)


def edit_poll(target: str, text: Rendered, answers: Sequence[PollAnswer],
              note: Rendered) -> dict[str, Any]:
    return shortened(text, lambda r: edit(target, poll_start(r.plain, answers)), note)


def end_poll(target: str, text: Rendered, note: Rendered) -> dict[str, Any]:
    return shortened(text, lambda r: poll_end(target, r.plain), note)
