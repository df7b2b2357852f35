"""The secret scan plugin: a session whose code logs a secret fails, a clean one passes."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

LEAKY = '''
import logging

def test_logs_a_slack_token():
    token = "xoxb-" + "1234567890-abcdefghijklmnop"
    logging.getLogger("adapters.slack").debug("calling auth.test with %s", token)

def test_logs_an_environment_secret(monkeypatch):
    monkeypatch.setenv("MAILLAGE_MATRIX_PASSWORD", "correct-horse-battery")
    logging.getLogger("maillage.engine").info("login as %s", "correct-horse-battery")
'''

REGISTERED_LATER = '''
import logging
from bot.secrets import register_secret

def test_logs_then_registers():
    logging.getLogger("maillage").info("url is %s", "postgres-pw-9f8e7d")
    register_secret("postgres-pw-9f8e7d")
'''

CLEAN = '''
import logging

def test_logs_nothing_secret():
    logging.getLogger("maillage.engine").info("network %s running", "Réseau test")
    logging.getLogger("maillage.engine").info("token env var is %s", "SLACK_BOT_TOKEN")
'''


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The inner session runs in a subprocess: what it logs on purpose never reaches this
    # session's own scan. It imports the plugin and `bot` from this checkout.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return pytester


def test_a_leaked_token_fails_the_session(run: pytest.Pytester) -> None:
    run.makepyfile(test_leaky=LEAKY)
    result = run.runpytest_subprocess("-p", "tests.fixtures.secret_scan", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*secrets in log records*",
        "*test_logs_a_slack_token*DEBUG adapters.slack*xoxb*",
        "*test_logs_an_environment_secret*INFO maillage.engine*",
        "*2 log records hold a secret*",
    ])
    # The report names the leak without printing it again.
    assert "abcdefghijklmnop" not in result.stdout.str()
    assert "correct-horse-battery" not in result.stdout.str()


def test_a_secret_registered_after_being_logged_is_still_found(run: pytest.Pytester) -> None:
    run.makepyfile(test_later=REGISTERED_LATER)
    result = run.runpytest_subprocess("-p", "tests.fixtures.secret_scan", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_logs_then_registers*", "*1 log records hold a secret*"])


def test_a_clean_session_passes(run: pytest.Pytester) -> None:
    run.makepyfile(test_clean=CLEAN)
    result = run.runpytest_subprocess("-p", "tests.fixtures.secret_scan", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*secret scan: 2 log records, no secret*"])
