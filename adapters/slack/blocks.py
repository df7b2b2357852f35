"""Block Kit the bot sends: messages with choice buttons, modals for forms, and their submissions read back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from adapters.slack.markup import (
    ACTION_ID_MAX,
    BUTTON_TEXT_MAX,
    INPUT_MAX,
    LABEL_MAX,
    MAX_BLOCKS,
    MAX_BUTTONS,
    MODAL_TITLE_MAX,
    PLACEHOLDER_MAX,
    PRIVATE_METADATA_MAX,
    chunks,
    clip,
)

JSONDict = dict[str, Any]

ACTION_PREFIX = "maillage_choice:"
"""action_id of a choice button is this prefix + the choice id; its value is the choice id."""
CHOICES_BLOCK_ID = "maillage_choices"
FORM_CALLBACK_PREFIX = "maillage_form:"
METADATA_EVENT_TYPE = "maillage_action"


def message_metadata(key: str) -> JSONDict:
    """Attached to every bot message: after a crash the key is looked up in the history."""
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key}}


def metadata_key(message: Mapping[str, Any]) -> str | None:
    meta = message.get("metadata")
    if not isinstance(meta, Mapping) or meta.get("event_type") != METADATA_EVENT_TYPE:
        return None
    payload = meta.get("event_payload")
    key = payload.get("key") if isinstance(payload, Mapping) else None
    return str(key) if key is not None else None


@dataclass(frozen=True)
class Button:
    id: str
    label: str
    """Plain text (buttons do not render mrkdwn)."""
    emoji: str
    row: int | None = None
    """Buttons of one row get an actions block of their own (`Choice.row`)."""


def action_id(choice: str) -> str:
    """A button's action id: the prefix and the choice id, or a digest of a choice id too
    long for Slack (the button's value still carries the id itself)."""
    whole = ACTION_PREFIX + choice
    if len(whole) <= ACTION_ID_MAX:
        return whole
    return ACTION_PREFIX + "h" + hashlib.sha256(choice.encode()).hexdigest()[:40]


def text_blocks(mrkdwn: str) -> list[JSONDict]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in chunks(mrkdwn)
        if part.strip()
    ]


def _groups(buttons: Sequence[Button]) -> list[tuple[int, Sequence[Button]]]:
    """Buttons by 25 (Slack's most in one actions block), a new block at each new row; each
    group with the index of its first button."""
    out: list[tuple[int, Sequence[Button]]] = []
    start = 0
    for i in range(1, len(buttons) + 1):
        if i == len(buttons) or i - start == MAX_BUTTONS or buttons[i].row != buttons[start].row:
            out.append((start, buttons[start:i]))
            start = i
    return out


def choice_blocks(buttons: Sequence[Button]) -> list[JSONDict]:
    """One actions block per 25 buttons, and per row when the choices say rows; the first
    keeps the stable block id."""
    out: list[JSONDict] = []
    for start, group in _groups(buttons):
        out.append(
            {
                "type": "actions",
                "block_id": CHOICES_BLOCK_ID if start == 0 else f"{CHOICES_BLOCK_ID}_{start}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action_id(b.id),
                        "text": {
                            "type": "plain_text",
                            "text": clip(f"{b.emoji} {b.label}".strip(), BUTTON_TEXT_MAX),
                            "emoji": True,
                        },
                        "value": b.id,
                    }
                    for b in group
                ],
            }
        )
    return out


def message_blocks(mrkdwn: str, actions: Sequence[JSONDict]) -> list[JSONDict]:
    """Text sections then the choice buttons, within Slack's 50 blocks."""
    room = MAX_BLOCKS - len(actions)
    return [*text_blocks(mrkdwn)[:room], *actions]


# ---------------------------------------------------------------------------------------
# Forms (modals)
# ---------------------------------------------------------------------------------------

FieldKind = Literal["text", "multiline", "datetime"]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    placeholder: str | None = None
    hint: str | None = None
    initial: str | None = None
    max_length: int | None = None

    @property
    def block_id(self) -> str:
        return f"field_{self.name}"


@dataclass(frozen=True)
class FormMeta:
    """What the modal carries to its submission (in `private_metadata`)."""

    form: str
    channel: str
    target: str | None = None
    """Platform id of the message the form is about (the proposal), if any."""
    choice: str | None = None
    """The choice id a submission stands for (e.g. the objection); default: the form id."""
    context: Mapping[str, str] = field(default_factory=dict)

    def dump(self) -> str:
        data = {
            "f": self.form,
            "c": self.channel,
            "t": self.target,
            "k": self.choice,
            "x": dict(self.context),
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if len(text) > PRIVATE_METADATA_MAX:
            # The context is the engine's; without it the submission still names its form.
            data["x"] = {}
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: str) -> FormMeta | None:
        try:
            data = json.loads(text)
            return cls(
                form=str(data["f"]),
                channel=str(data["c"]),
                target=data.get("t"),
                choice=data.get("k"),
                context={str(k): str(v) for k, v in (data.get("x") or {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _plain(text: str, limit: int) -> JSONDict:
    return {"type": "plain_text", "text": clip(text, limit) or "…", "emoji": True}


def _input(f: FormField) -> JSONDict:
    element: JSONDict
    if f.kind == "datetime":
        element = {"type": "datetimepicker", "action_id": f.name}
        if f.initial:
            try:
                element["initial_date_time"] = int(datetime.fromisoformat(f.initial).timestamp())
            except ValueError:
                pass
    else:
        element = {
            "type": "plain_text_input",
            "action_id": f.name,
            "multiline": f.kind == "multiline",
        }
        longest = min(f.max_length or INPUT_MAX, INPUT_MAX)
        if f.max_length:
            element["max_length"] = longest
        if f.placeholder:
            element["placeholder"] = _plain(f.placeholder, PLACEHOLDER_MAX)
        if f.initial:
            # Slack refuses an initial value longer than the field allows.
            element["initial_value"] = clip(f.initial, longest)
    block: JSONDict = {
        "type": "input",
        "block_id": f.block_id,
        "label": _plain(f.label, LABEL_MAX),
        "optional": not f.required,
        "element": element,
    }
    if f.hint:
        block["hint"] = _plain(f.hint, LABEL_MAX)
    return block


def modal_view(
    meta: FormMeta,
    title: str,
    fields: Sequence[FormField],
    submit: str,
    close: str,
    intro: Sequence[JSONDict] = (),
) -> JSONDict:
    """A modal: `intro` (section blocks, already within the view's limits), then the fields."""
    blocks: list[JSONDict] = [*intro, *(_input(f) for f in fields)]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_PREFIX + meta.form,
        "title": _plain(title, MODAL_TITLE_MAX),
        "submit": _plain(submit, MODAL_TITLE_MAX),
        "close": _plain(close, MODAL_TITLE_MAX),
        "private_metadata": meta.dump(),
        "blocks": blocks,
    }


@dataclass(frozen=True)
class Submission:
    meta: FormMeta
    values: Mapping[str, str]
    missing: Sequence[str]
    """Block ids of required fields left blank (answered with `response_action: errors`)."""
    first_block: str | None


def _value(state: Mapping[str, Any]) -> str | None:
    kind = state.get("type")
    if kind == "datetimepicker":
        stamp = state.get("selected_date_time")
        return datetime.fromtimestamp(float(stamp), UTC).isoformat() if stamp is not None else None
    if kind == "datepicker":
        return state.get("selected_date")
    value = state.get("value")
    return str(value) if value is not None else None


def read_submission(view: Mapping[str, Any]) -> Submission | None:
    """The values of one of our modals, or None for a view that is not ours."""
    callback = str(view.get("callback_id") or "")
    if not callback.startswith(FORM_CALLBACK_PREFIX):
        return None
    meta = FormMeta.load(str(view.get("private_metadata") or ""))
    if meta is None:
        return None
    states = (view.get("state") or {}).get("values") or {}
    values: dict[str, str] = {}
    missing: list[str] = []
    first: str | None = None
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        block_id = str(block.get("block_id"))
        first = first or block_id
        element = block.get("element") or {}
        name = str(element.get("action_id"))
        raw = (states.get(block_id) or {}).get(name) or {}
        value = _value(raw)
        if value is not None and value.strip():
            values[name] = value.strip()
        elif not block.get("optional", False):
            # Slack enforces required inputs in its clients; we check again because the
            # engine must never see an objection without its reason.
            missing.append(block_id)
    return Submission(meta=meta, values=values, missing=missing, first_block=first)
