"""Every message exists in French and English, with the same parameters; no hard-coded text."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.i18n import HTML, LOCALES, Msg, Renderer, catalog, escape_member_text, parameters
from tests.markups import MARKUPS

ROOT = Path(__file__).resolve().parents[2]


def test_french_and_english_have_the_same_keys() -> None:
    fr, en = set(catalog("fr")), set(catalog("en"))
    assert fr - en == set(), f"missing in English: {sorted(fr - en)}"
    assert en - fr == set(), f"missing in French: {sorted(en - fr)}"


def test_translations_take_the_same_parameters() -> None:
    fr, en = catalog("fr"), catalog("en")
    different = {k: (fr[k], en[k]) for k in fr if k in en
                 and parameters(fr[k]) != parameters(en[k])
                 and k != "core.help.command_word"}
    assert different == {}


def _python_files() -> list[Path]:
    return sorted(p for d in ("bot", "scenarios", "adapters") for p in (ROOT / d).rglob("*.py")
                  if "migrations" not in p.parts)


def _msg_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Msg"]


def test_every_key_used_in_code_exists() -> None:
    missing: list[str] = []
    for path in _python_files():
        for call in _msg_calls(ast.parse(path.read_text("utf-8"))):
            if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                key = call.args[0].value
                for loc in LOCALES:
                    if key not in catalog(loc):
                        missing.append(f"{path.relative_to(ROOT)}:{call.lineno} {key} ({loc})")
    assert missing == []


def test_scenarios_do_not_hard_code_user_facing_text() -> None:
    """A literal sentence passed as a message parameter would bypass the catalogs."""
    offenders: list[str] = []
    for path in _python_files():
        if "scenarios" not in path.parts:
            continue
        for call in _msg_calls(ast.parse(path.read_text("utf-8"))):
            for kw in call.keywords:
                v = kw.value
                if isinstance(v, ast.Constant) and isinstance(v.value, str) and re.search(r"[A-Za-zÀ-ÿ]{2,}\s+[A-Za-zÀ-ÿ]{2,}", v.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} {kw.arg}={v.value!r}")
    assert offenders == []


@pytest.mark.parametrize("fmt", ["html", "mrkdwn", "plain"])
def test_member_content_is_inert(fmt: str) -> None:
    r = Renderer("fr", ZoneInfo("Europe/Paris"), MARKUPS[fmt])
    out = r.param("@room <b>x</b> @channel <!here>")
    assert "@room" not in out and "@channel" not in out
    if fmt != "plain":
        assert "<b>" not in out and "<!here>" not in out


def test_missing_parameter_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        Renderer("fr", ZoneInfo("Europe/Paris")).render(Msg("core.cmd.unknown", word="x"))


def test_escape_keeps_text_readable() -> None:
    assert escape_member_text("Budget 2027", HTML) == "Budget 2027"
