"""The Slack door: unsigned or stale requests get 401 before any parsing, signed malformed ones 400 and one warning, never 500."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.blocks import FORM_CALLBACK_PREFIX, FormMeta
from adapters.slack.door import MAX_BODY_BYTES
from adapters.slack.envelope import Malformed, check
from adapters.slack.inbound import Translator, at
from tests.fakes.slack_fake import SignedRequest, signed_event, signed_interaction
from tests.integration.test_slack_adapter_kit import ALICE, GENERAL, SECRET, TEAM, Rig, rig

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def sign(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> str:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Raw:
    """A request as bytes, so bodies that are not text (invalid UTF-8) can be sent."""

    headers: dict[str, str]
    body: bytes
    fresh: bool = False
    """Signed with "now": signed again when sent (the table is built at collection, which
    may be more than Slack's five minutes before the test runs)."""

    def as_sent(self) -> Raw:
        if not self.fresh:
            return self
        stamp = str(int(time.time()))
        return Raw({**self.headers, "x-slack-request-timestamp": stamp, "x-slack-signature": sign(self.body, stamp)},
                   self.body)


def signed(body: bytes | str, content_type: str = JSON, timestamp: str | None = None) -> Raw:
    data = body.encode() if isinstance(body, str) else body
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    return Raw(
        {
            "content-type": content_type,
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": sign(data, stamp),
        },
        data,
        fresh=timestamp is None,
    )


async def post(r: Rig, request: Raw | SignedRequest) -> tuple[int, str]:
    if isinstance(request, Raw):
        request = request.as_sent()
    body = request.body if isinstance(request, Raw) else request.body.encode()
    async with r.http.post(r.url + "/slack/events", data=body, headers=request.headers) as resp:
        return resp.status, await resp.text()


def troubles(records: list[logging.LogRecord]) -> list[str]:
    """Records no refusal may leave: errors, and anything with a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR or r.exc_info or r.stack_info
    ]


def warnings_of(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


def interaction_body(payload: Any) -> str:
    return "payload=" + quote(json.dumps(payload), safe="")


def a_message(text: str = "!reseau aide") -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event": {
            "type": "message",
            "user": ALICE,
            "channel": GENERAL,
            "text": text,
            "ts": "1700000000.000100",
        },
    }


# ---------------------------------------------------------------------------------------
# Unsigned: 401, nothing parsed, nothing logged above INFO
# ---------------------------------------------------------------------------------------

UNSIGNED_BODIES: dict[str, bytes] = {
    "malformed JSON": b'{"type": "event_callback", "event": ',
    "JSON array": b'[{"type": "event_callback"}]',
    "bad payload= field": b"payload=%7Bnot-json",
    "invalid UTF-8": b'{"text": "\xff\xfe\xc3"}',
    "empty body": b"",
    "a real event": json.dumps(a_message()).encode(),
}


def unsigned_variants(body: bytes) -> dict[str, Raw]:
    now = str(int(time.time()))
    good = sign(body, now)
    return {
        "no headers": Raw({"content-type": JSON}, body),
        "non-numeric timestamp": Raw(
            {"x-slack-request-timestamp": "soon", "x-slack-signature": sign(body, "soon")}, body
        ),
        "unicode digits as timestamp": Raw(
            {"x-slack-request-timestamp": "١٧٠٠٠٠٠٠٠٠", "x-slack-signature": good}, body
        ),
        "timestamp with a sign": Raw(
            {"x-slack-request-timestamp": "+" + now, "x-slack-signature": sign(body, "+" + now)},
            body,
        ),
        "stale timestamp": Raw(
            {
                "x-slack-request-timestamp": str(int(time.time()) - 6 * 60),
                "x-slack-signature": sign(body, str(int(time.time()) - 6 * 60)),
            },
            body,
        ),
        "timestamp from the future": Raw(
            {
                "x-slack-request-timestamp": str(int(time.time()) + 6 * 60),
                "x-slack-signature": sign(body, str(int(time.time()) + 6 * 60)),
            },
            body,
        ),
        "bad signature": Raw(
            {"x-slack-request-timestamp": now, "x-slack-signature": sign(body, now, "wrong")},
            body,
        ),
        "signature not hex": Raw(
            {"x-slack-request-timestamp": now, "x-slack-signature": "v0=" + "zz" * 32}, body
        ),
        "no signature": Raw({"x-slack-request-timestamp": now}, body),
    }


@pytest.mark.parametrize("body_kind", sorted(UNSIGNED_BODIES))
async def test_every_unsigned_or_stale_request_gets_401_and_no_error(
    tmp_path: Path, body_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with rig(tmp_path) as r:
        for variant, request in unsigned_variants(UNSIGNED_BODIES[body_kind]).items():
            status, _ = await post(r, request)
            assert status == 401, (body_kind, variant)
        assert r.sink.calls == []
    assert troubles(caplog.records) == []
    assert warnings_of(caplog.records) == []


async def test_a_huge_unsigned_body_gets_401_and_is_not_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    huge = b'{"type": "event_callback", "pad": "' + b"x" * (3 * MAX_BODY_BYTES) + b'"}'
    async with rig(tmp_path) as r:
        now = str(int(time.time()))
        forged = Raw(
            {"x-slack-request-timestamp": now, "x-slack-signature": sign(huge, now, "x")}, huge
        )
        assert (await post(r, forged))[0] == 401
        assert (await post(r, Raw({"content-type": JSON}, huge)))[0] == 401
        # Signed, but over the size Slack ever sends: refused with one warning.
        caplog.clear()
        assert (await post(r, signed(huge)))[0] == 413
        assert len(warnings_of(caplog.records)) == 1
        assert r.sink.calls == []
    assert troubles(caplog.records) == []


# ---------------------------------------------------------------------------------------
# Signed but malformed: 400 and exactly one warning
# ---------------------------------------------------------------------------------------


def _form_view(meta: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": ALICE, "team_id": TEAM},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": FORM_CALLBACK_PREFIX + "objection",
            "private_metadata": meta,
            "state": {"values": {}},
            "blocks": [],
        },
    }


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"event": value}
    return value


SIGNED_MALFORMED: dict[str, Raw] = {
    "malformed JSON": signed('{"type": "event_callback", "event": '),
    "JSON array": signed("[1, 2, 3]"),
    "JSON string": signed('"event_callback"'),
    "JSON nested past the recursion limit": signed("[" * 100_000 + "]" * 100_000),
    "JSON nested deeper than Slack": signed(json.dumps({"type": "event_callback", **_deep(60)})),
    "bad payload= field": signed("payload=%7Bnot-json", FORM),
    "payload= holding an array": signed(interaction_body([{"type": "block_actions"}]), FORM),
    "invalid UTF-8": signed(b'{"type": "\xff\xfe"}'),
    "empty body": signed(b""),
    "not a Slack request": signed('{"hello": "world"}'),
    "unknown type": signed('{"type": "launch_missiles"}'),
    "event as a list": signed(json.dumps({**a_message(), "event": [{"type": "message"}]})),
    "event null": signed(json.dumps({**a_message(), "event": None})),
    "event without a type": signed(json.dumps({**a_message(), "event": {"user": ALICE}})),
    "message with an object as user": signed(
        json.dumps({**a_message(), "event": {**a_message()["event"], "user": {"id": ALICE}}})
    ),
    "team as a number": signed(json.dumps({**a_message(), "team": 7})),
    "authorizations as a string": signed(json.dumps({**a_message(), "authorizations": "all"})),
    "actions null": signed(
        interaction_body({"type": "block_actions", "user": {"id": ALICE}, "actions": None}), FORM
    ),
    "actions empty": signed(
        interaction_body({"type": "block_actions", "user": {"id": ALICE}, "actions": []}), FORM
    ),
    "action without action_id": signed(
        interaction_body({"type": "block_actions", "actions": [{"value": "x"}]}), FORM
    ),
    "action_id as a number": signed(
        interaction_body({"type": "block_actions", "actions": [{"action_id": 3}]}), FORM
    ),
    "junk view metadata": signed(interaction_body(_form_view("{junk")), FORM),
    "view metadata as an object": signed(
        interaction_body(
            {**_form_view(""), "view": {**_form_view("")["view"], "private_metadata": {}}}
        ),
        FORM,
    ),
    "view without a callback_id": signed(
        interaction_body({"type": "view_submission", "view": {"id": "V1"}}), FORM
    ),
    "view without a type": signed(
        interaction_body({**_form_view(FormMeta(form="proposal", channel=GENERAL).dump()),
                          "view": {k: v for k, v in _form_view(FormMeta(form="proposal", channel=GENERAL).dump())[
                              "view"].items() if k != "type"}}),
        FORM,
    ),
    "datetime out of range": signed(
        interaction_body(
            {
                **_form_view(FormMeta(form="proposal", channel=GENERAL).dump()),
                "view": {
                    **_form_view(FormMeta(form="proposal", channel=GENERAL).dump())["view"],
                    "state": {
                        "values": {
                            "field_deadline": {
                                "deadline": {
                                    "type": "datetimepicker",
                                    "selected_date_time": 10**30,
                                }
                            }
                        }
                    },
                },
            }
        ),
        FORM,
    ),
    "url_verification without a challenge": signed('{"type": "url_verification"}'),
}


@pytest.mark.parametrize("kind", sorted(SIGNED_MALFORMED))
async def test_a_signed_malformed_request_gets_400_and_one_warning(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path) as r:
        caplog.clear()
        caplog.set_level(logging.INFO)
        status, _ = await post(r, SIGNED_MALFORMED[kind])
        assert status == 400, kind
        assert r.sink.calls == []
        assert troubles(caplog.records) == []
        assert len(warnings_of(caplog.records)) == 1, warnings_of(caplog.records)


async def test_well_formed_requests_still_pass_the_door(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with rig(tmp_path) as r:
        assert (await post(r, signed_event(a_message(), SECRET)))[0] == 200
        challenge = {"type": "url_verification", "challenge": "abc", "token": "t"}
        status, text = await post(r, signed_event(challenge, SECRET))
        assert status == 200 and "abc" in text
        # Kinds the bot does not use are acked quietly, not logged as unhandled.
        shortcut = {"type": "shortcut", "callback_id": "x", "team": {"id": TEAM}}
        assert (await post(r, signed_interaction(shortcut, SECRET)))[0] == 200
        limited = {"type": "app_rate_limited", "team_id": TEAM, "minute_rate_limited": 1}
        assert (await post(r, signed_event(limited, SECRET)))[0] == 200
        assert len(r.sink.events) == 1
    assert troubles(caplog.records) == []


# ---------------------------------------------------------------------------------------
# Generated junk, signed and unsigned
# ---------------------------------------------------------------------------------------

KEYS = [
    "type", "event", "actions", "view", "user", "team", "channel", "authorizations",
    "enterprise", "command", "text", "trigger_id", "response_url", "response_urls",
    "container", "message", "previous_message", "callback_id", "action_id", "challenge",
    "ssl_check", "team_id", "user_id", "channel_id", "event_id", "is_ext_shared_channel",
    "is_enterprise_install", "item", "state", "values", "blocks", "private_metadata", "id",
    "ts", "thread_ts", "event_ts", "subtype", "bot_id", "reaction", "tokens", "bot",
    "element", "optional", "block_id", "value", "action_ts", "selected_date_time",
    "selected_date", "message_ts", "channel_type", "user_team", "function_data", "inputs",
    "assistant_thread", "function_execution_id", "app_installed_team_id", "token",
]  # fmt: skip
WORDS = [
    "event_callback", "block_actions", "view_submission", "view_closed", "url_verification",
    "app_rate_limited", "shortcut", "message_action", "block_suggestion", "message",
    "reaction_added", "reaction_removed", "member_joined_channel", "member_left_channel",
    "app_uninstalled", "tokens_revoked", "interactive_message", "datetimepicker",
    "plain_text_input", "input", "modal", "/reseau", "1", "im", "U0ALICE", "C0GENERAL",
    "D0DM", TEAM, "1700000000.000100", "1e400", "nan", "-1", "!reseau aide",
    FORM_CALLBACK_PREFIX + "objection", "maillage_choice:consent", "thread_broadcast",
    FormMeta(form="objection", channel=GENERAL).dump(),
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=25,
)
envelopes = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8).map(
    lambda d: d if "type" in d else {**d, "type": "event_callback"}
)


def _templates() -> list[tuple[str, dict[str, Any]]]:
    """Real payloads of each kind the bot reads, for mutation."""
    meta = FormMeta(form="objection", channel=GENERAL, target="1700000000.000100").dump()
    view = _form_view(meta)
    view["view"]["blocks"] = [
        {
            "type": "input",
            "block_id": "field_reason",
            "element": {"type": "plain_text_input", "action_id": "reason"},
        }
    ]
    view["view"]["state"] = {
        "values": {"field_reason": {"reason": {"type": "plain_text_input", "value": "non"}}}
    }
    reaction = {
        **a_message(),
        "event": {
            "type": "reaction_added",
            "user": ALICE,
            "reaction": "white_check_mark",
            "item": {"type": "message", "channel": GENERAL, "ts": "1700000000.000100"},
            "event_ts": "1700000001.000200",
        },
    }
    joined = {
        **a_message(),
        "event": {"type": "member_joined_channel", "user": ALICE, "channel": GENERAL},
    }
    click = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": ALICE, "team_id": TEAM},
        "trigger_id": "1.2.abc",
        "container": {"message_ts": "1700000000.000100", "channel_id": GENERAL},
        "channel": {"id": GENERAL},
        "actions": [
            {
                "action_id": "maillage_choice:consent",
                "value": "consent",
                "action_ts": "1700000002.000300",
            }
        ],
    }
    return [
        ("json", a_message()),
        ("json", reaction),
        ("json", joined),
        ("json", {"type": "url_verification", "challenge": "c"}),
        ("payload", click),
        ("payload", view),
        ("form", {"command": "/reseau", "text": "aide", "user_id": ALICE, "channel_id": GENERAL}),
    ]


TEMPLATES = _templates()


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*here, index))
    return found


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[str, Any]:
    """A real payload with a few of its fields replaced by junk or removed: (kind, body)."""
    kind, template = draw(st.sampled_from(TEMPLATES))
    body: Any = json.loads(json.dumps(template))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            continue
        parent = body
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    if kind == "form" and isinstance(body, dict):
        body = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    return kind, body


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    """A mutated payload as the body of a request."""
    kind, body = draw(mutated_payloads())
    if kind == "json":
        return json.dumps(body).encode(), JSON
    if kind == "payload":
        return interaction_body(body).encode(), FORM
    return urlencode(body if isinstance(body, dict) else {}).encode(), FORM


@st.composite
def junk_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bodies of every kind Slack's endpoint can be sent: JSON, forms, `payload=`, bytes."""
    kind = draw(st.sampled_from(["mutated", "json", "payload", "form", "bytes", "text"]))
    content_type = draw(st.sampled_from([JSON, FORM, "text/plain", "Application/JSON"]))
    if kind == "mutated":
        return draw(mutated())
    if kind == "json":
        return json.dumps(draw(envelopes | json_values)).encode(), content_type
    if kind == "payload":
        payload = draw(envelopes.map(json.dumps) | st.text(max_size=30))
        return ("payload=" + quote(payload, safe="")).encode(), FORM
    if kind == "form":
        fields = draw(st.dictionaries(st.sampled_from(KEYS), st.text(max_size=20), max_size=6))
        return urlencode(fields).encode(), FORM
    if kind == "text":
        return draw(st.text(max_size=200)).encode(), content_type
    return draw(st.binary(max_size=300)), content_type


@contextmanager
def live_rig() -> Iterator[tuple[Rig, asyncio.AbstractEventLoop]]:
    """A started rig on a loop of its own, so hypothesis (synchronous) can drive it."""
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as tmp:
        manager = rig(Path(tmp))
        r = loop.run_until_complete(manager.__aenter__())
        try:
            yield r, loop
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
            loop.close()


FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_generated_unsigned_requests_always_get_401(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    stamps = st.one_of(
        st.none(),
        st.text(max_size=14),
        st.integers(min_value=-(10**13), max_value=10**13).map(str),
        st.just("now"),
    )
    signatures = st.one_of(
        st.none(),
        st.text(max_size=70),
        st.binary(min_size=32, max_size=32).map(lambda b: "v0=" + b.hex()),
    )
    with live_rig() as (r, loop):

        @FUZZ
        @given(junk_bodies(), stamps, signatures)
        def run(body: tuple[bytes, str], stamp: str | None, signature: str | None) -> None:
            data, content_type = body
            headers = {"content-type": content_type}
            if stamp is not None:
                headers["x-slack-request-timestamp"] = (
                    str(int(time.time())) if stamp == "now" else stamp
                )
            if signature is not None:
                headers["x-slack-signature"] = signature
            request = Raw({k: v for k, v in headers.items() if v.isprintable()}, data)
            status, _ = loop.run_until_complete(post(r, request))
            assert status == 401

        run()
        assert r.sink.calls == []
    assert troubles(caplog.records) == []
    assert warnings_of(caplog.records) == []


def test_generated_signed_junk_never_gets_500_nor_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    statuses: set[int] = set()
    with live_rig() as (r, loop):

        @FUZZ
        @given(junk_bodies())
        def run(body: tuple[bytes, str]) -> None:
            data, content_type = body
            before = len(caplog.records)
            status, _ = loop.run_until_complete(post(r, signed(data, content_type)))
            statuses.add(status)
            assert status < 500
            new = caplog.records[before:]
            assert troubles(new) == []
            if status == 400:
                assert len(warnings_of(new)) == 1

        run()
    # The generator reaches both sides of the door.
    assert {200, 400} <= statuses


# ---------------------------------------------------------------------------------------
# The check and the translator alone
# ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_payloads().map(lambda kind_body: kind_body[1]) | envelopes)
def test_what_the_check_lets_through_the_translator_reads_without_failing(body: Any) -> None:
    try:
        payload = check(body)
    except Malformed:
        return
    translator = Translator("!reseau")
    if payload.get("type") == "event_callback":
        translator.event(payload, "U0BOT")
    elif payload.get("type") == "block_actions":
        translator.button(payload)
    elif payload.get("command") is not None:
        translator.slash_command(payload)


@given(st.one_of(st.floats(), st.text(max_size=30), st.integers(), st.none()))
def test_a_slack_timestamp_of_any_shape_reads_as_a_date_or_none(value: Any) -> None:
    result = at(value)
    assert result is None or result.tzinfo is not None


# ---------------------------------------------------------------------------------------
# Socket Mode
# ---------------------------------------------------------------------------------------


async def test_malformed_socket_frames_are_dropped_or_acked_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with rig(tmp_path, mode="socket", signing_secret=None) as r:
        fake = r.fake
        await fake.wait_socket_connected()
        frames: list[tuple[str, str | None]] = [
            ("{not json", None),
            ("[1, 2]", None),
            ('"hello"', None),
            ('{"type": "events_api"}', None),
            ('{"type": "events_api", "envelope_id": 12, "payload": {}}', None),
        ]
        for kind, payload in [
            ("events_api", [1, 2]),
            ("events_api", {**a_message(), "event": [1]}),
            ("interactive", {"type": "block_actions", "actions": None}),
            ("interactive", _form_view("{junk")),
            ("slash_commands", "command=/reseau"),
            ("telepathy", a_message()),
        ]:
            envelope_id = str(uuid.uuid4())
            frame = {"type": kind, "envelope_id": envelope_id, "payload": payload}
            frames.append((json.dumps(frame), envelope_id))
        for data, envelope_id in frames:
            caplog.clear()
            await fake.send_raw_frame(data, envelope_id=envelope_id)
            if envelope_id is not None:
                ack = await fake.wait_ack(envelope_id)
                assert ack.payload is None
            else:
                await asyncio.sleep(0.05)
            assert troubles(caplog.records) == [], data
            assert len(warnings_of(caplog.records)) == 1, (data, warnings_of(caplog.records))
        # The loop reads on: a good envelope after all that is handled.
        good = await fake.send_envelope("events_api", a_message())
        await fake.wait_ack(good)
        assert len(await r.sink.wait_for(1)) == 1
        assert r.adapter.connected()
        assert fake.errors == []
