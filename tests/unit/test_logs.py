"""Log lines: one per record, the network and ritual in each, secrets and token shapes redacted."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.cli.logs import JsonFormatter, MaillageHandler, TextFormatter, setup_logging
from bot.logs import (
    ContextFilter,
    SecretFilter,
    bind,
    current_context,
    log_context,
    ritual_label,
    unbind,
)
from bot.secrets import REDACTED, find_secrets, redact, register_secret

# Fake credentials of the right shapes, assembled so that no literal token sits in the source.
SLACK_BOT = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_APP = "xapp-" + "1-A0123456789-1234567890123-abcdef0123456789"
SLACK_USER = "xoxp-" + "1234567890-0987654321-1111111111-abcdef"
MATRIX = "syt_" + "bWFpbGxhZ2U_kXoBbTqCKkOHuUGfXWvO_2GmYvN"


@pytest.fixture
def private_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger that does not propagate: what these tests log on purpose (secrets included)
    never reaches the root handlers, nor the session's secret scan."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(SecretFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("maillage.test.logs.private")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for h in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(h)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"auth.test with {SLACK_BOT}", SLACK_BOT),
        (f"socket mode token {SLACK_APP} refused", SLACK_APP),
        (f"user token {SLACK_USER}", SLACK_USER),
        (f"restored session {MATRIX} for @maillage:example.org", MATRIX),
        ("headers {'Authorization': 'Bearer abcDEF123.456-xyz'}", "abcDEF123.456-xyz"),
        ("GET /_matrix/client/v3/sync?since=s1&access_token=opaque-value-42 200", "opaque-value-42"),
        ('login body {"type": "m.login.password", "password": "correct horse"}', "correct"),
        ("password=hunter22 rejected", "hunter22"),
        ("refresh_token: 'r-token-value'", "r-token-value"),
        ("signing_secret=0123456789abcdef", "0123456789abcdef"),
        ("store postgresql+asyncpg://maillage:s3cr3t-pw@db:5432/maillage unreachable", "s3cr3t-pw"),
    ],
)
def test_token_shapes_are_redacted(text: str, secret: str) -> None:
    clean = redact(text)
    assert secret not in clean and REDACTED in clean
    assert find_secrets(text) and not find_secrets(clean)


@pytest.mark.parametrize(
    "text",
    [
        "matrix: access_token_env = MAILLAGE_MATRIX_TOKEN is not set",
        "password_env names the variable MAILLAGE_MATRIX_PASSWORD",
        "sync token s72594_4483_1934 committed",
        "consent #3: 4 consents, 1 objection",
        "xoxb- is how bot tokens start",
        "https://matrix.example.org/_matrix/client/v3/sync",
    ],
)
def test_ordinary_lines_are_left_alone(text: str) -> None:
    assert redact(text) == text
    assert find_secrets(text) == []


def test_registered_secret_is_redacted_raw_and_url_encoded() -> None:
    value = "Zq9!registered/secret value"
    register_secret(value)
    assert REDACTED in redact(f"x {value} y") and value not in redact(f"x {value} y")
    encoded = "Zq9%21registered%2Fsecret%20value"
    assert encoded not in redact(f"?p={encoded}")
    register_secret("abc")  # too short to match without blanking ordinary words
    assert redact("abc abcdef") == "abc abcdef"


def test_filter_redacts_arguments_tracebacks_and_stacks(private_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = private_log
    logger.info("token %s for %s", SLACK_BOT, "T0123")
    password = "pw-" + "in-exception"
    try:
        raise RuntimeError(f"login refused for password={password}")
    except RuntimeError:
        logger.exception("matrix login failed")
    logger.warning("from %s", MATRIX, stack_info=True)
    out = stream.getvalue()
    for secret in (SLACK_BOT, "pw-in-exception", MATRIX):
        assert secret not in out
    first, second, third = lines(stream)
    assert first["message"] == f"token {REDACTED} for T0123"
    assert "RuntimeError" in str(second["exc"]) and REDACTED in str(second["exc"])
    assert "stack" in third


def test_a_bad_call_is_still_logged_not_raised(private_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = private_log
    logger.info("two %s %s", SLACK_APP)  # one argument short: a bug, but not a crash
    assert SLACK_APP not in stream.getvalue()


def test_network_and_ritual_come_from_the_context(private_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = private_log
    logger.info("outside")
    with log_context(network="Réseau test"):
        logger.info("in the network")
        with log_context(ritual=ritual_label("consent", 3)):
            logger.info("in a round")
        logger.info("back in the network")
    logger.info("explicit", extra={"network": "Autre", "ritual": "draw#1"})
    got = [(r["network"], r["ritual"], r["message"]) for r in lines(stream)]
    assert got == [
        (None, None, "outside"),
        ("Réseau test", None, "in the network"),
        ("Réseau test", "consent#3", "in a round"),
        ("Réseau test", None, "back in the network"),
        ("Autre", "draw#1", "explicit"),
    ]
    assert current_context() == (None, None)


async def test_each_task_keeps_its_own_context() -> None:
    async def handle(network: str, ritual: str) -> tuple[str | None, str | None]:
        tokens = bind(network=network, ritual=ritual)
        try:
            await asyncio.sleep(0)  # the other task runs in between
            return current_context()
        finally:
            unbind(tokens)

    results = await asyncio.gather(handle("A", "consent#1"), handle("B", "draw#2"))
    assert list(results) == [("A", "consent#1"), ("B", "draw#2")]
    assert current_context() == (None, None)


def test_json_line_has_every_field_on_one_line() -> None:
    record = logging.LogRecord("maillage.engine", logging.WARNING, __file__, 1, "a\nb %s", ("c",), None)
    record.network, record.ritual = "Réseau test", "meeting#2"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    doc = json.loads(line)
    assert set(doc) == {"time", "level", "logger", "network", "ritual", "message"}
    assert (doc["level"], doc["logger"], doc["network"], doc["ritual"], doc["message"]) == (
        "WARNING", "maillage.engine", "Réseau test", "meeting#2", "a\nb c")
    assert str(doc["time"]).endswith("+00:00")


def test_text_line_is_one_line_even_with_a_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        exc = sys.exc_info()
    record = logging.LogRecord("maillage.engine", logging.ERROR, __file__, 1, "member typed\nforged line", (), exc)
    record.network, record.ritual = "Réseau test", None
    line = TextFormatter().format(record)
    assert "\n" not in line
    assert ' ERROR maillage.engine network="Réseau test" ritual=- member typed\\nforged line\\nTraceback' in line
    assert "ValueError: boom" in line


def test_setup_logging_installs_one_root_handler_with_both_filters(root_restored: None) -> None:
    stream = io.StringIO()
    setup_logging(json=False, level="INFO")
    handler = setup_logging(json=True, level=logging.DEBUG, stream=stream)
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, MaillageHandler)]
    assert ours == [handler], "calling it again replaces the handler"
    assert root.level == logging.DEBUG
    assert {type(f) for f in handler.filters} == {ContextFilter, SecretFilter}
    with log_context(network="Réseau test", ritual="digest#1"):
        logging.getLogger("maillage.test.setup").info("digest posted")
    doc = json.loads(stream.getvalue().splitlines()[-1])
    assert (doc["logger"], doc["network"], doc["ritual"], doc["message"]) == (
        "maillage.test.setup", "Réseau test", "digest#1", "digest posted")
    # A library's record reaching the root handler is redacted too. Handed straight to the
    # handler, so that no logger (nor the session's scan) sees the secret on purpose.
    record = logging.LogRecord("slack_sdk.web", logging.DEBUG, __file__, 1, "headers: %s",
                               ({"Authorization": f"Bearer {SLACK_BOT}"},), None)
    handler.handle(record)
    assert SLACK_BOT not in stream.getvalue()
