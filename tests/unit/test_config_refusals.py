"""Config mistakes refused in a sentence naming the file, the key and what is expected: taken accounts, secrets in `*_env` keys, unreadable paths, variables `run` would miss."""

from __future__ import annotations

import base64
import errno
import logging
import os
import random
import string
import subprocess
import sys
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.matrix.config import MatrixSection
from adapters.slack.config import SlackSection
from bot import cli
from bot.cli.adapters import platform_configs
from bot.config import (
    ConfigError,
    ConfigFile,
    RegistreSection,
    StoreSection,
    load,
    missing_env,
    validate,
)
from bot.config.values import check_env_name, looks_like_secret
from bot.kernel.i18n import render_plain
from scenarios import registry
from tests.spaces import spaces

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.toml").read_text("utf-8")
REGISTRY = registry()
PLATFORMS = platform_configs()

MATRIX = """
[matrix]
homeserver = "http://127.0.0.1:9"
user_id = "@maillage:localhost"
password_env = "MAILLAGE_TEST_MATRIX_PASSWORD"
"""


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """`main` installs its own log handler on the captured stderr: put the session's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def check(capsys: pytest.CaptureFixture[str], path: Path, *options: str) -> tuple[int, str, str]:
    code = cli.main([*options, "config", "check", "-c", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, spaces(out), spaces(err)


def write(tmp_path: Path, text: str, name: str = "reseau.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def problems(raw: dict[str, Any], name: str = "reseau.toml") -> list[str]:
    with pytest.raises(ConfigError) as err:
        validate(raw, REGISTRY, Path(name), PLATFORMS)
    return [spaces(render_plain(m, "fr")) for m in err.value.messages()]


# ------------------------------------------------------------------ one account, one member


def test_an_account_under_two_members_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace('accounts = ["console:bruno"]', 'accounts = ["console:alice"]'))
    code, out, err = check(capsys, path)
    assert code == 2 and "valide" not in out
    line = next(ln for ln in err.splitlines() if "members[1].accounts[0]" in ln)
    assert str(path) in line and "console:alice" in line and "« alice »" in line and "members[0]" in line
    code, _, err = check(capsys, path, "--lang", "en")
    assert code == 2 and "already belongs to member “alice”" in err


members_with_accounts = st.lists(
    st.lists(st.sampled_from(["console:a", "console:b", "matrix:@a:x.org", "slack:U1", "slack:U2"]),
             max_size=3),
    min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(members_with_accounts)
def test_an_account_belongs_to_one_member_whatever_the_layout(accounts: list[list[str]]) -> None:
    """Refused exactly when some account is listed under two members; each later listing is
    named, with the member who had it first. The same account twice in one member is harmless."""
    raw = tomllib.loads(EXAMPLE)
    raw["members"] = [{"id": f"p{i}", "accounts": accs} for i, accs in enumerate(accounts)]
    raw["roles"], raw["groups"] = {}, {}
    owner: dict[str, int] = {}
    expected: list[str] = []
    for i, accs in enumerate(accounts):
        for j, acc in enumerate(accs):
            if owner.setdefault(acc, i) != i:
                expected.append(f"members[{i}].accounts[{j}] : le compte « {acc} » est déjà celui de "
                                f"« p{owner[acc]} » (members[{owner[acc]}])")
    if not expected:
        validate(raw, REGISTRY, Path("reseau.toml"), PLATFORMS)
        return
    found = problems(raw)
    assert len(found) == len(expected)
    for text, want in zip(found, expected, strict=True):
        assert text.startswith("reseau.toml : ") and want in text


# ------------------------------------------------------------------ `*_env` keys


def _env_keys() -> list[tuple[str, type[BaseModel], dict[str, Any]]]:
    """Every `*_env` key of every section, found by looking, so a new one is tested too."""
    minimal: dict[type[BaseModel], dict[str, Any]] = {
        StoreSection: {},
        RegistreSection: {"visibility": "members", "secret_env": "MAILLAGE_REGISTRE_SECRET"},
        MatrixSection: {"homeserver": "https://m.example.org", "user_id": "@b:example.org",
                        "password_env": "MAILLAGE_MATRIX_PASSWORD"},
        SlackSection: {"client_id_env": "MAILLAGE_SLACK_CLIENT_ID", "client_secret_env": "MAILLAGE_SLACK_CLIENT_SECRET"},
    }
    keys = []
    # The file's own sections, and each registered platform's.
    sections = [(field, info.annotation) for field, info in ConfigFile.model_fields.items()]
    sections += [(p.name, p.section) for p in PLATFORMS if p.section is not None]
    for field, annotation in sections:
        model = next((a for a in typing.get_args(annotation) if isinstance(a, type)), annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name in model.model_fields:
            if name.endswith("_env"):
                keys.append((f"{field}.{name}", model, minimal[model]))
    return keys


ENV_KEYS = _env_keys()


def test_every_env_key_is_covered() -> None:
    assert {k for k, _, _ in ENV_KEYS} >= {"store.url_env", "matrix.password_env", "matrix.access_token_env",
                                          "matrix.pickle_key_env", "slack.bot_token_env", "slack.app_token_env",
                                          "slack.signing_secret_env", "slack.client_id_env",
                                          "slack.client_secret_env", "registre.secret_env"}


TOKEN_TAIL = st.text(string.ascii_letters + string.digits + "-_", min_size=10, max_size=60)


@st.composite
def generated_secret(draw: st.DrawFn) -> str:
    """What generators and platforms hand out. Random strings come from a seeded generator, so
    that shrinking changes the seed, never the randomness."""
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**64)))
    alnum = string.ascii_letters + string.digits
    kind = draw(st.sampled_from(["hex", "urlsafe", "base64", "alnum", "upper_digits"]))
    if kind == "hex":  # Slack signing and client secrets, `openssl rand -hex`, token_hex()
        return rng.randbytes(draw(st.integers(min_value=8, max_value=64))).hex()
    if kind == "urlsafe":  # secrets.token_urlsafe(), from its default (32 bytes, 43 characters) up
        return base64.urlsafe_b64encode(rng.randbytes(draw(st.integers(32, 64)))).decode().rstrip("=")
    if kind == "base64":  # `openssl rand -base64 N`
        return base64.b64encode(rng.randbytes(draw(st.integers(12, 64)))).decode()
    # Letters and digits only, as long as secrets.token_urlsafe() makes them by default (43):
    # shorter ones are caught almost always, not always (see looks_random).
    if kind == "alnum":  # `pwgen -s 43`, password managers
        return "".join(rng.choice(alnum) for _ in range(draw(st.integers(43, 64))))
    return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(draw(st.integers(43, 64))))


secret_values = st.one_of(
    st.builds("".join, st.tuples(st.sampled_from(["xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-", "syt_", "syr_"]),
                                  TOKEN_TAIL)),
    st.builds(lambda user, pw: f"postgresql+asyncpg://{user}:{pw}@db/maillage",
              st.text(string.ascii_lowercase, min_size=1, max_size=8), TOKEN_TAIL),
    st.integers(min_value=8, max_value=64).map(lambda n: random.Random(n).randbytes(n).hex()),
    # Anything that cannot be a variable's name: a password with spaces or symbols, a URL…
    st.text(min_size=1, max_size=40).filter(lambda v: not v.isidentifier() or not v.isascii()),
)

WORDS = ["maillage", "matrix", "slack", "bot", "app", "token", "password", "secret", "key", "signing", "client",
         "id", "database", "url", "pickle", "store", "reseau", "tiers", "lieux", "voironnais", "prod", "test",
         "access", "homeserver", "oauth", "postgres", "nord", "isere", "cooperative", "https", "api", "user"]


@st.composite
def ordinary_names(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
    style = draw(st.sampled_from(["UPPER", "lower", "camel", "Pascal"]))
    if style == "UPPER":
        name = "_".join(w.upper() for w in words)
    elif style == "lower":
        name = "_".join(words)
    else:
        name = "".join(w.capitalize() for w in words)
        name = name if style == "Pascal" else name[0].lower() + name[1:]
    return name + draw(st.sampled_from(["", "", "2", "_2", "_V2", "_2026"]))


def _section_error(model: type[BaseModel], base: dict[str, Any], field: str, value: str) -> list[str]:
    from pydantic import ValidationError

    from bot.config import problems_from

    with pytest.raises(ValidationError) as err:
        model.model_validate({**base, field: value})
    return [spaces(render_plain(p.msg, "fr")) for p in problems_from(err.value, "reseau.toml")]


def assert_refused(key: tuple[str, type[BaseModel], dict[str, Any]], value: str) -> None:
    full, model, base = key
    field = full.split(".", 1)[1]
    texts = _section_error(model, base, field, value)
    assert texts, f"{full} = {value!r} was accepted"
    assert any("NOM de la variable" in t or "nom d'une variable" in t for t in texts)
    if len(value) >= 6:  # shorter ones occur in any sentence
        for text in texts:
            assert value not in text  # it would land in a terminal or a CI log


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENV_KEYS), secret_values)
def test_a_secret_under_any_env_key_is_refused_without_being_repeated(
        key: tuple[str, type[BaseModel], dict[str, Any]], value: str) -> None:
    """Token shapes, URLs, hex and whatever is not a name: refused, always."""
    assert_refused(key, value)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENV_KEYS), generated_secret())
def test_generated_secrets_under_any_env_key_are_refused(
        key: tuple[str, type[BaseModel], dict[str, Any]], value: str) -> None:
    """Random strings are caught with a measured probability, not a certainty (a few in a
    million escape, see looks_random): the examples are fixed, so the test fails on a
    regression, never by chance."""
    assert_refused(key, value)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ENV_KEYS), ordinary_names())
def test_ordinary_variable_names_pass_under_any_env_key(
        key: tuple[str, type[BaseModel], dict[str, Any]], name: str) -> None:
    full, model, base = key
    section = model.model_validate({**base, full.split(".", 1)[1]: name})
    assert getattr(section, full.split(".", 1)[1]) == name


@pytest.mark.parametrize("name", [
    "MAILLAGE_MATRIX_PASSWORD", "MAILLAGE_MATRIX_TOKEN", "MAILLAGE_MATRIX_PICKLE_KEY", "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MAILLAGE_DATABASE_URL", "DATABASE_URL", "PGPASSWORD",
    "matrix_password", "MatrixAccessTokenV2", "OAUTH2_CLIENT_SECRET", "AWS_S3_SECRET_KEY", "X509_CERT_PASSWORD",
    "HTTPS_PROXY_PASSWORD", "HOMESERVER_PASSWORD_RESEAU_TIERS_LIEUX_DU_VOIRONNAIS", "E2E_MATRIX_PASSWORD",
    "reseauTiersLieuxMatrixPassword", "XMLHttpRequestToken", "_SECRET", "PW", "GITHUB_TOKEN", "BOT_TOKEN_2024",
    "slackBotIdDbUrl2", "maillageIdIdIdId2",
])
def test_real_world_names_pass(name: str) -> None:
    assert check_env_name(name) == name and not looks_like_secret(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_name_or_a_refusal(value: str) -> None:
    from bot.config.values import Refusal

    try:
        assert check_env_name(value) == value
    except Refusal as exc:
        assert exc.msg.key in ("config.err.env_name", "config.err.env_is_secret")


def test_the_detector_can_fail() -> None:
    """Each rule is needed: a sample that only it catches."""
    assert looks_like_secret("xoxb-1234567890-abcdefghij")  # a token's shape
    assert looks_like_secret("syt_bWFpbGxhZ2U_abcdEFGHijklMNOP_0a1b2c")  # a valid name, yet a token
    assert looks_like_secret("0123456789abcdef0123456789abcdef")  # hex
    assert looks_like_secret("Xk9fT2mQ8vR4nL7pW3sY6tZ1")  # random letters and digits
    assert not looks_like_secret("MAILLAGE_MATRIX_PASSWORD")


def test_secret_in_env_key_through_check_and_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    token = "xoxb-2710263811-4567890123456-AbCdEfGhIjKlMnOpQrStUvWx"
    cfg = EXAMPLE.replace('platform = "console"', 'platform = "matrix"') + MATRIX.replace(
        '"MAILLAGE_TEST_MATRIX_PASSWORD"', f'"{token}"')
    path = write(tmp_path, cfg)
    for command in ("config check", "run"):
        code = cli.main([*command.split(), "-c", str(path)])
        out, err = capsys.readouterr()
        assert code == 2, command
        assert token not in out + err and "Traceback" not in err
        line = next(ln for ln in err.splitlines() if "matrix.password_env" in ln)
        assert str(path) in line and "MAILLAGE_MATRIX_PASSWORD" in line


# ------------------------------------------------------------------ paths that are not readable files


def test_a_directory_is_refused_by_the_program(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "bot.cli", "config", "check", "-c", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{tmp_path} : — : c'est un dossier : le chemin d'un fichier TOML est attendu" in spaces(res.stderr)


@pytest.mark.parametrize(("exc", "words"), [
    (PermissionError(errno.EACCES, "Permission denied"), "lecture refusée : le fichier doit être lisible"),
    (IsADirectoryError(errno.EISDIR, "Is a directory"), "c'est un dossier"),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory"), "fichier introuvable"),
    (OSError(errno.EIO, "Input/output error"), "lecture impossible (Input/output error)"),
])
def test_a_file_that_cannot_be_read_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, exc: OSError, words: str) -> None:
    path = write(tmp_path, EXAMPLE)

    def refuse(self: Path, *args: Any, **kwargs: Any) -> str:
        raise exc

    monkeypatch.setattr(Path, "read_text", refuse)
    code, _, err = check(capsys, path)
    assert code == 2 and f"{path} : — : {words}" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_for_real(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    path.chmod(0)
    code, _, err = check(capsys, path)
    assert code == 2 and "lecture refusée" in err


# ------------------------------------------------------------------ what `run` will need


SLACK = """
[slack]
mode = "{mode}"
{oauth}
"""


def network(tmp_path: Path, *, matrix: bool = False, slack: str | None = None, oauth: bool = False,
            url_env: bool = False, pickle: bool = False) -> Path:
    cfg = EXAMPLE
    if url_env:
        cfg = cfg.replace('url = "sqlite+aiosqlite:///maillage.db"', 'url_env = "MAILLAGE_TEST_DB_URL"')
    channels = ""
    if matrix:
        cfg += MATRIX + ('pickle_key_env = "MAILLAGE_TEST_PICKLE"\n' if pickle else "")
        channels += '\n[[channels]]\nid = "mx"\nplatform = "matrix"\nroom = "!r:localhost"\n'
    if slack:
        cfg += SLACK.format(mode=slack, oauth='client_id_env = "MAILLAGE_TEST_CID"\n'
                            'client_secret_env = "MAILLAGE_TEST_CSECRET"' if oauth else "")
        channels += '\n[[channels]]\nid = "sl"\nplatform = "slack"\nroom = "C0123"\n'
    return write(tmp_path, cfg + channels)


def test_check_lists_the_variables_run_would_miss(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAILLAGE_TEST_DB_URL", "MAILLAGE_TEST_MATRIX_PASSWORD", "MAILLAGE_TEST_PICKLE",
                 "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = network(tmp_path, matrix=True, slack="socket", url_env=True, pickle=True)
    code, out, err = check(capsys, path)
    assert code == 1 and "Configuration valide" in out
    assert "Variables d'environnement que « maillage run » lira et qui ne sont pas définies" in err
    for key, name in [("store.url_env", "MAILLAGE_TEST_DB_URL"), ("matrix.password_env", "MAILLAGE_TEST_MATRIX_PASSWORD"),
                      ("matrix.pickle_key_env", "MAILLAGE_TEST_PICKLE"), ("slack.bot_token_env", "SLACK_BOT_TOKEN"),
                      ("slack.app_token_env", "SLACK_APP_TOKEN")]:
        line = next(ln for ln in err.splitlines() if f" : {key} : " in ln)
        assert line.startswith(str(path)) and name in line
    monkeypatch.setenv("MAILLAGE_TEST_DB_URL", "sqlite+aiosqlite:///x.db")
    monkeypatch.setenv("MAILLAGE_TEST_MATRIX_PASSWORD", "a password")
    monkeypatch.setenv("MAILLAGE_TEST_PICKLE", "a passphrase")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abcdefabcdef")
    monkeypatch.setenv("SLACK_APP_TOKEN", "")  # empty is unset
    code, _, err = check(capsys, path, "--lang", "en")
    assert code == 1 and "slack.app_token_env" in err and "SLACK_APP_TOKEN" in err
    assert "MAILLAGE_TEST_DB_URL" not in err
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abcdefabcdef")
    assert check(capsys, path)[0] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["socket", "http"]), oauth=st.booleans(),
       present=st.sets(st.sampled_from(["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                                        "MAILLAGE_TEST_CID", "MAILLAGE_TEST_CSECRET"])))
def test_check_agrees_with_what_the_slack_adapter_reads(tmp_path_factory: pytest.TempPathFactory, mode: str,
                                                        oauth: bool, present: set[str]) -> None:
    """`config check` and the Slack adapter must not drift: the check finds nothing missing
    exactly when the adapter's settings can be read from the same environment."""
    from adapters.slack.settings import SlackSettings

    path = network(tmp_path_factory.mktemp("slack"), slack=mode, oauth=oauth)
    config = load(path, REGISTRY, PLATFORMS)
    environ = {name: "value-" + name.lower() for name in present}
    section = config.section("slack", SlackSection)
    assert section is not None
    try:
        SlackSettings.from_section(section, path=path, environ=environ)
        adapter_ok = True
    except ConfigError:
        adapter_ok = False
    assert (not missing_env(config, environ)) == adapter_ok


def test_oauth_keys_go_in_pairs() -> None:
    raw = tomllib.loads(EXAMPLE)
    raw["slack"] = {"client_id_env": "MAILLAGE_CID"}
    found = problems(raw)
    assert any("slack : client_id_env et client_secret_env vont ensemble" in t for t in found), found


# ------------------------------------------------------------------ in the user's language


@pytest.mark.parametrize(("change", "key", "fr", "en"), [
    (('timezone = "Europe/Paris"', 'timezone = "Paris/Nord"'), "network.timezone",
     "fuseau horaire « Paris/Nord » inconnu : un nom IANA est attendu", "unknown time zone “Paris/Nord”"),
    (('accounts = ["console:alice"]', 'accounts = ["alice"]'), "members[0].accounts",
     "compte « alice » : plateforme:identifiant attendu", "account “alice”: platform:id expected"),
    (('college = "associations"', 'college = ["a", "b"]'), "members[0]",
     "l'attribut « college » doit être un texte", "attribute “college” must be text"),
    (("[network]", '[ops]\nport = 70000\n\n[network]'), "ops.port",
     "nombre inférieur ou égal à 65535 attendu", "less than or equal to 65535"),
])
def test_our_own_refusals_speak_the_users_language(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   change: tuple[str, str], key: str, fr: str, en: str) -> None:
    path = write(tmp_path, EXAMPLE.replace(*change))
    for lang, words in (("fr", fr), ("en", en)):
        code, _, err = check(capsys, path, "--lang", lang)
        assert code == 2
        assert any(ln.startswith(str(path)) and key in ln and words in ln for ln in err.splitlines()), err


@pytest.mark.parametrize("homeserver", ["matrix.example.org", "ftp://m.example.org", "https://", ""])
def test_a_homeserver_must_be_a_url(homeserver: str) -> None:
    raw = tomllib.loads(EXAMPLE + MATRIX.replace("http://127.0.0.1:9", homeserver))
    assert any("matrix.homeserver : adresse" in t and "https://matrix.example.org" in t for t in problems(raw))


def test_run_without_matrix_credentials_says_which_variables(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """No stored session and none of the named variables set: the start ends in a sentence
    naming the file, the key and the variable, not in a traceback."""
    monkeypatch.delenv("MAILLAGE_TEST_MATRIX_PASSWORD", raising=False)
    path = network(tmp_path, matrix=True)
    code = cli.main(["run", "-c", str(path)])
    err = spaces(capsys.readouterr().err)
    assert code == 2 and "Traceback" not in err
    line = next(ln for ln in err.splitlines() if " : matrix.password_env : " in ln)
    assert line.startswith(str(path)) and "MAILLAGE_TEST_MATRIX_PASSWORD" in line
    assert "première connexion à Matrix" in line
