"""What a Slack payload may look like before Bolt or a listener reads it: each field is absent or of Slack's type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from slack_bolt.request.internals import parse_body

from adapters.slack.blocks import FORM_CALLBACK_PREFIX, FormMeta

MAX_DEPTH = 32
"""Slack's payloads nest a dozen levels at most (a modal's blocks); deeper is junk, and
walking it would only risk the interpreter's recursion limit."""

HANDLED_EVENTS = frozenset(
    {
        "message",
        "reaction_added",
        "reaction_removed",
        "member_joined_channel",
        "member_left_channel",
    }
)
"""Event types the translator reads field by field: their fields are checked strictly."""

# Interactivity kinds Bolt matches on a top-level `callback_id` (a regex match: a string).
_CALLBACK_KINDS = frozenset(
    {
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
        "dialog_suggestion",
        "workflow_step_edit",
        "shortcut",
        "message_action",
    }
)
_KNOWN_TYPES = frozenset(
    {
        "event_callback",
        "url_verification",
        "app_rate_limited",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        *_CALLBACK_KINDS,
    }
)

Str = StrictStr | None
# A datetimepicker's value: seconds since 1970, within what `datetime` can represent.
Stamp = Annotated[StrictInt, Field(ge=0, le=253_402_300_799)]


class Malformed(ValueError):
    """A payload Slack would not send: refused with a short reason, never a traceback."""


class _Open(BaseModel):
    # Unknown fields are Slack's business and pass through; known ones must have their type.
    model_config = ConfigDict(extra="allow", strict=True)


class _Ref(_Open):
    """`team`, `channel`, `enterprise` objects: Bolt reads their `id`."""

    id: Str = None
    name: Str = None
    domain: Str = None
    enterprise_id: Str = None


class _User(_Open):
    id: Str = None
    team_id: Str = None
    username: Str = None
    name: Str = None


class _Authorization(_Open):
    team_id: Str = None
    enterprise_id: Str = None
    user_id: Str = None
    is_enterprise_install: StrictBool | StrictStr | None = None


class _Item(_Open):
    type: Str = None
    channel: Str = None
    ts: Str = None


class _Inner(_Open):
    """`message` and `previous_message` (edits, deletions)."""

    type: Str = None
    subtype: Str = None
    user: StrictStr | _User | None = None
    user_id: Str = None
    ts: Str = None
    thread_ts: Str = None
    bot_id: Str = None
    text: Str = None


class _Tokens(_Open):
    oauth: list[StrictStr] | None = None
    bot: list[StrictStr] | None = None


class _Thread(_Open):
    channel_id: Str = None
    thread_ts: Str = None


class _Event(_Open):
    type: StrictStr
    subtype: Str = None
    user: StrictStr | _User | None = None
    user_id: Str = None
    user_team: Str = None
    team: Str = None
    channel: StrictStr | _Ref | None = None
    channel_id: Str = None
    channel_type: Str = None
    bot_id: Str = None
    text: Str = None
    ts: Str = None
    thread_ts: Str = None
    event_ts: Str = None
    reaction: Str = None
    tab: Str = None
    item: _Item | None = None
    message: _Inner | None = None
    previous_message: _Inner | None = None
    tokens: _Tokens | None = None
    inputs: dict[str, Any] | None = None
    bot_access_token: Str = None
    function_execution_id: Str = None
    assistant_thread: _Thread | None = None


class _Action(_Open):
    action_id: StrictStr
    block_id: Str = None
    type: Str = None
    value: Str = None
    action_ts: Str = None


class _Container(_Open):
    type: Str = None
    message_ts: Str = None
    channel_id: Str = None
    view_id: Str = None


class _InputState(_Open):
    type: Str = None
    value: Str = None
    selected_date: Str = None
    selected_date_time: Stamp | None = None


class _Element(_Open):
    type: Str = None
    action_id: Str = None


class _ViewBlock(_Open):
    type: Str = None
    block_id: Str = None
    optional: StrictBool | None = None
    element: _Element | None = None


class _ViewState(_Open):
    values: dict[StrictStr, dict[StrictStr, _InputState]] | None = None


class _View(_Open):
    id: Str = None
    type: Str = None
    callback_id: Str = None
    private_metadata: Str = None
    team_id: Str = None
    app_installed_team_id: Str = None
    state: _ViewState | None = None
    blocks: list[_ViewBlock] | None = None


class _ResponseUrl(_Open):
    response_url: Str = None


class _FunctionData(_Open):
    execution_id: Str = None
    inputs: dict[str, Any] | None = None


class _Payload(_Open):
    """Every top-level field Bolt's context builder, its matchers or our listeners read."""

    type: Str = None
    token: Str = None
    ssl_check: Str = None
    challenge: Str = None
    command: Str = None
    text: Str = None
    team: StrictStr | _Ref | None = None
    team_id: Str = None
    enterprise: StrictStr | _Ref | None = None
    enterprise_id: Str = None
    context_team_id: Str = None
    context_enterprise_id: Str = None
    is_enterprise_install: StrictBool | StrictStr | None = None
    is_ext_shared_channel: StrictBool | None = None
    authorizations: list[_Authorization] | None = None
    user: StrictStr | _User | None = None
    user_id: Str = None
    user_name: Str = None
    channel: StrictStr | _Ref | None = None
    channel_id: Str = None
    channel_name: Str = None
    thread_ts: Str = None
    event_id: Str = None
    event: _Event | None = None
    message: _Inner | None = None
    previous_message: _Inner | None = None
    item: _Item | None = None
    trigger_id: Str = None
    response_url: Str = None
    response_urls: list[_ResponseUrl] | None = None
    callback_id: Str = None
    action_id: Str = None
    actions: list[_Action] | None = None
    container: _Container | None = None
    view: _View | None = None
    function_execution_id: Str = None
    bot_access_token: Str = None
    function_data: _FunctionData | None = None
    assistant_thread: _Thread | None = None

    @model_validator(mode="before")
    @classmethod
    def _event_not_null(cls, data: Any) -> Any:
        # `event: null` is not an absent event: Bolt reads `body.get("event", {}).get(...)`.
        if isinstance(data, Mapping) and "event" in data and data["event"] is None:
            raise ValueError("event is null")
        return data


def _depth_ok(value: Any) -> bool:
    """Whether `value` nests at most MAX_DEPTH containers (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "payload"
    return f"{where}: {error['msg']}"


def check(body: Any) -> Mapping[str, Any]:
    """The payload itself when Bolt and the listeners can read it; Malformed otherwise."""
    if not isinstance(body, Mapping):
        raise Malformed(f"the payload is a {type(body).__name__}, not an object")
    if not _depth_ok(body):
        raise Malformed(f"the payload nests deeper than {MAX_DEPTH} levels")
    try:
        payload = _Payload.model_validate(dict(body))
    except ValidationError as exc:
        raise Malformed(_first_problem(exc)) from None
    _check_kind(payload)
    return body


def _check_kind(payload: _Payload) -> None:
    """What each kind of request must carry for its listener (Bolt indexes these)."""
    kind = payload.type
    if kind is None:
        if payload.command is not None or payload.ssl_check is not None:
            return
        raise Malformed("neither a type nor a command: not a Slack request")
    if kind not in _KNOWN_TYPES:
        raise Malformed(f"unknown payload type {kind!r}")
    if kind == "event_callback":
        _check_event(payload.event)
    elif kind == "url_verification" and payload.challenge is None:
        raise Malformed("url_verification without a challenge")
    elif kind == "block_actions" and not payload.actions:
        raise Malformed("block_actions without actions")
    elif kind in ("view_submission", "view_closed"):
        _check_view(payload.view)
    elif kind in _CALLBACK_KINDS and payload.callback_id is None:
        raise Malformed(f"{kind} without a callback_id")
    elif kind == "block_suggestion" and payload.action_id is None:
        raise Malformed("block_suggestion without an action_id")


def _check_event(event: _Event | None) -> None:
    if event is None:
        raise Malformed("event_callback without an event")
    if event.type not in HANDLED_EVENTS:
        return
    # The translator reads these as ids: an object there is not a member or a channel.
    if not isinstance(event.user, str | None):
        raise Malformed(f"{event.type} event: user is not an id")
    if not isinstance(event.channel, str | None):
        raise Malformed(f"{event.type} event: channel is not an id")


def _check_view(view: _View | None) -> None:
    if view is None or view.callback_id is None:
        raise Malformed("a view payload without a view callback_id")
    if view.type is None:
        # Bolt's matchers read view["type"] (workflow steps) before any listener runs.
        raise Malformed("a view payload without a view type")
    if view.callback_id.startswith(FORM_CALLBACK_PREFIX):
        # One of our forms: its metadata is ours and must read back.
        if FormMeta.load(view.private_metadata or "") is None:
            raise Malformed("one of our forms came back with unreadable metadata")


def read_http_body(raw: bytes, content_type: str | None) -> Mapping[str, Any]:
    """A signed HTTP body as Bolt will parse it (JSON, a form, or a form's `payload=` JSON),
    checked; Malformed for what Bolt would choke on."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    if not text:
        raise Malformed("the body is empty")
    try:
        # Bolt's own parser, so what is checked is exactly what its listeners will see.
        body = parse_body(text, content_type)
    except (ValueError, RecursionError):
        raise Malformed("the body is not valid JSON or form data") from None
    return check(body)
