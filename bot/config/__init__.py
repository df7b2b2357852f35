"""The TOML config, validated into typed settings; errors name the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config.values import EnvName, Refusal
from bot.kernel.i18n import Code, Lines, Msg
from bot.kernel.scenario import Registry
from bot.secrets import register_secret

DEFAULT_STORE_URL = "sqlite+aiosqlite:///maillage.db"
PLATFORMS = ("matrix", "slack", "console")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkSection(_Section):
    name: str
    locale: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"
    charter: str = ""
    command_prefix: str = "!reseau"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refusal(Msg("config.err.timezone", value=value)) from None
        return value


class StoreSection(_Section):
    url: str = DEFAULT_STORE_URL
    """SQLAlchemy async URL; a relative SQLite path is relative to the config file."""
    url_env: EnvName | None = None
    """Name of an environment variable holding the URL (when it carries a password)."""


class MatrixSection(_Section):
    homeserver: str
    user_id: str
    password_env: EnvName | None = None
    access_token_env: EnvName | None = None
    device_name: str = "maillage"
    store_path: str = "matrix-store"
    """Where the crypto store and the session (token, device, sync token) are kept."""
    encryption: bool = True
    join_rooms: bool = True
    pickle_key_env: EnvName | None = None
    """The variable holding the passphrase that encrypts the crypto store's secret keys at rest
    (matrix-nio's pickle key). Without it nio's fixed default is used and only the files'
    permissions protect the keys. Changing it makes an existing crypto store unreadable."""

    @field_validator("homeserver")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if scheme not in ("http", "https") or not sep or not rest.strip("/"):
            raise Refusal(Msg("config.err.homeserver_url", value=value))
        return value

    @model_validator(mode="after")
    def _secret(self) -> MatrixSection:
        if not self.password_env and not self.access_token_env:
            raise Refusal(Msg("config.err.matrix_credentials"))
        return self


class SlackSection(_Section):
    mode: Literal["socket", "http"] = "socket"
    bot_token_env: EnvName | None = "SLACK_BOT_TOKEN"
    app_token_env: EnvName | None = "SLACK_APP_TOKEN"
    signing_secret_env: EnvName | None = "SLACK_SIGNING_SECRET"
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None
    slash_command: str = "/reseau"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    api_base_url: str | None = None
    """Only for tests against a local fake of Slack's Web API."""

    @model_validator(mode="after")
    def _oauth_pair(self) -> SlackSection:
        if bool(self.client_id_env) != bool(self.client_secret_env):
            raise Refusal(Msg("config.err.oauth_pair"))
        return self


class OpsSection(_Section):
    """The operations endpoints (`/healthz`, `/metrics`), on their own port."""

    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class ChannelEntry(_Section):
    id: str
    platform: Literal["matrix", "slack", "console"]
    room: str
    """The platform's id: a Matrix room id or alias, a Slack channel id, a console name."""
    name: str | None = None
    team: str | None = None
    """Slack workspace (team id) when several are installed."""


class MemberEntry(BaseModel):
    """A person: accounts on platforms ("matrix:@alice:example.org", "slack:U0123"),
    organisation, and any other key as an attribute for quotas (territoire, college…)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    accounts: list[str] = Field(default_factory=list)
    organisation: str | None = None
    locale: Literal["fr", "en"] | None = None

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        for acc in value:
            platform, _, user = acc.partition(":")
            if platform not in PLATFORMS or not user:
                raise Refusal(Msg("config.err.account_format", value=acc))
        return value

    @model_validator(mode="after")
    def _attrs(self) -> MemberEntry:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, str | int):
                raise Refusal(Msg("config.err.attribute_text", name=key))
        return self

    @property
    def attributes(self) -> dict[str, str]:
        attrs = {k: str(v) for k, v in (self.model_extra or {}).items()}
        if self.organisation:
            attrs.setdefault("organisation", self.organisation)
        return attrs


class RitualEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    channels: list[str] = Field(default_factory=list)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ConfigFile(_Section):
    network: NetworkSection
    store: StoreSection = StoreSection()
    matrix: MatrixSection | None = None
    slack: SlackSection | None = None
    ops: OpsSection | None = None
    channels: list[ChannelEntry] = Field(default_factory=list)
    members: list[MemberEntry] = Field(default_factory=list)
    roles: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    rituals: list[RitualEntry] = Field(default_factory=list)
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key: str
    msg: Msg


class ConfigError(Exception):
    """One or more problems; each names the file, the key and what was expected."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("; ".join(f"{p.file}: {p.key}: {p.msg.key}" for p in problems))
        self.problems = list(problems)

    def messages(self) -> list[Msg]:
        return [Msg("config.problem", file=p.file, key=Code(text=p.key or "—"), what=p.msg) for p in self.problems]


@dataclass(frozen=True)
class Config:
    """A validated config: the file's sections plus each ritual's validated options."""

    path: Path
    file: ConfigFile
    ritual_options: Mapping[str, Mapping[str, Any]]
    kind_defaults: Mapping[str, Mapping[str, Any]]

    @property
    def network(self) -> NetworkSection:
        return self.file.network

    def store_url(self) -> str:
        url = self.file.store.url
        if self.file.store.url_env:
            url = secret(self.file.store.url_env, "store.url_env", self.path)
        return resolve_sqlite_path(url, self.path.parent)

    def animateurs(self) -> list[str]:
        return list(self.file.roles.get("animateurs", []))


@dataclass(frozen=True)
class EnvNeed:
    """An environment variable `run` reads, named by the config key `key`; with several
    `names`, one of them is enough."""

    key: str
    names: tuple[str, ...]
    first_login_only: bool = False
    """Matrix credentials: once a session is stored, the bot logs in with it."""

    def problem(self, file: str) -> ConfigProblem:
        if self.first_login_only:
            names = Lines(items=[Code(text=n) for n in self.names], sep=", ")
            return ConfigProblem(file, self.key, Msg("config.err.credentials_missing", names=names))
        return ConfigProblem(file, self.key, Msg("config.err.env_missing", name=Code(text=self.names[0])))


def needed_env(config: Config) -> list[EnvNeed]:
    """Every variable `run` will read for this config: the store's URL, then those of the
    platforms the channels use (a section no channel uses is not started)."""
    file = config.file
    needs: list[EnvNeed] = []
    if file.store.url_env:
        needs.append(EnvNeed("store.url_env", (file.store.url_env,)))
    platforms = {c.platform for c in file.channels}
    matrix, slack = file.matrix, file.slack
    if "matrix" in platforms and matrix is not None:
        names = tuple(n for n in (matrix.access_token_env, matrix.password_env) if n)
        key = "matrix.access_token_env" if matrix.access_token_env else "matrix.password_env"
        needs.append(EnvNeed(key, names, first_login_only=True))
        if matrix.pickle_key_env:
            needs.append(EnvNeed("matrix.pickle_key_env", (matrix.pickle_key_env,)))
    if "slack" in platforms and slack is not None:
        wanted: list[tuple[str, str | None]] = []
        if slack.client_id_env:  # several workspaces, installed through OAuth: no bot token
            wanted += [("slack.client_id_env", slack.client_id_env), ("slack.client_secret_env", slack.client_secret_env)]
        else:
            wanted.append(("slack.bot_token_env", slack.bot_token_env))
        wanted.append(("slack.app_token_env", slack.app_token_env) if slack.mode == "socket"
                      else ("slack.signing_secret_env", slack.signing_secret_env))
        needs += [EnvNeed(key, (name,)) for key, name in wanted if name]
    return needs


def missing_env(config: Config, environ: Mapping[str, str] | None = None) -> list[EnvNeed]:
    """The needs that no variable of `environ` (default: this process's) meets; empty counts as unset."""
    env = os.environ if environ is None else environ
    return [need for need in needed_env(config) if not any(env.get(n) for n in need.names)]


def resolve_sqlite_path(url: str, base: Path) -> str:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        rest = url[len(prefix):]
        if rest and not rest.startswith("/") and not rest.startswith(":memory:"):
            return prefix + str((base / rest).resolve())
    return url


def secret(env_name: str, key: str, path: Path | str) -> str:
    """Secrets live in the environment, never in the file: the config names the variable."""
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError([ConfigProblem(str(path), key, Msg("config.err.env_missing", name=Code(text=env_name)))])
    register_secret(value)  # from now on, no log line shows it
    return value


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_PYDANTIC_KEYS = {
    "missing": "config.err.missing",
    "extra_forbidden": "config.err.unknown_key",
    "string_type": "config.err.expected_text",
    "int_type": "config.err.expected_integer",
    "int_parsing": "config.err.expected_integer",
    "float_type": "config.err.expected_number",
    "float_parsing": "config.err.expected_number",
    "bool_type": "config.err.expected_boolean",
    "bool_parsing": "config.err.expected_boolean",
    "list_type": "config.err.expected_list",
    "dict_type": "config.err.expected_table",
    "model_type": "config.err.expected_table",
    "literal_error": "config.err.expected_one_of",
}
_BOUNDS = {
    "greater_than_equal": ("config.err.at_least", "ge"),
    "greater_than": ("config.err.more_than", "gt"),
    "less_than_equal": ("config.err.at_most", "le"),
    "less_than": ("config.err.less_than", "lt"),
}


def problems_from(exc: ValidationError, file: str, prefix: str = "") -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    for err in exc.errors():
        key = _loc([*([prefix] if prefix else []), *err["loc"]])
        typ = err["type"]
        error = err.get("ctx", {}).get("error")
        if isinstance(error, Refusal):
            out.append(ConfigProblem(file, key, error.msg))
        elif typ == "value_error":
            # A validator that does not speak the catalogs yet: its English text, framed.
            out.append(ConfigProblem(file, key, Msg("config.err.invalid", detail=str(error or err["msg"]))))
        elif typ == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", ""))
            out.append(ConfigProblem(file, key, Msg("config.err.expected_one_of", choices=expected)))
        elif typ in _BOUNDS:
            limit = str(err.get("ctx", {}).get(_BOUNDS[typ][1], ""))
            out.append(ConfigProblem(file, key, Msg(_BOUNDS[typ][0], limit=limit)))
        elif typ in _PYDANTIC_KEYS:
            out.append(ConfigProblem(file, key, Msg(_PYDANTIC_KEYS[typ])))
        else:
            out.append(ConfigProblem(file, key, Msg("config.err.invalid", detail=err["msg"])))
    return out


def load(path: Path | str, registry: Registry) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem found."""
    path = Path(path)
    name = str(path)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, "", _unreadable(exc))]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(name, "", Msg("config.err.not_utf8"))]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(name, "", Msg("config.err.toml", detail=str(exc)))]) from None
    return validate(raw, registry, path)


def _unreadable(exc: OSError) -> Msg:
    """Why the file cannot be read, said for a person who typed a path."""
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return Msg("config.err.not_found")
    if isinstance(exc, IsADirectoryError):
        return Msg("config.err.is_directory")
    if isinstance(exc, PermissionError):
        return Msg("config.err.unreadable")
    return Msg("config.err.cannot_read", detail=exc.strerror or type(exc).__name__)


def _account_owners(members: Sequence[MemberEntry], file: str) -> list[ConfigProblem]:
    """An account belongs to one member: listed under two, the second would silently take the
    first one's account, and with it their votes and roles."""
    problems: list[ConfigProblem] = []
    owner: dict[str, int] = {}
    for i, member in enumerate(members):
        for j, account in enumerate(member.accounts):
            first = owner.setdefault(account, i)
            if first != i:
                problems.append(ConfigProblem(file, f"members[{i}].accounts[{j}]", Msg(
                    "config.err.account_taken", value=account, member=members[first].id,
                    where=Code(text=f"members[{first}]"))))
    return problems


def validate(raw: Mapping[str, Any], registry: Registry, path: Path) -> Config:
    name = str(path)
    try:
        file = ConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, name)) from None
    problems: list[ConfigProblem] = []
    channel_ids = [c.id for c in file.channels]
    member_ids = {m.id for m in file.members}
    accounts = {a for m in file.members for a in m.accounts}
    for kind_name, table in [("channels", channel_ids), ("members", [m.id for m in file.members]),
                             ("rituals", [r.id for r in file.rituals])]:
        seen: set[str] = set()
        for i, ident in enumerate(table):
            if ident in seen:
                problems.append(ConfigProblem(name, f"{kind_name}[{i}].id", Msg("config.err.duplicate", value=ident)))
            seen.add(ident)
    problems.extend(_account_owners(file.members, name))
    for platform in ("matrix", "slack"):
        if any(c.platform == platform for c in file.channels) and getattr(file, platform) is None:
            problems.append(ConfigProblem(name, platform, Msg("config.err.section_needed", platform=platform)))
    for role, people in file.roles.items():
        for j, who in enumerate(people):
            if who not in member_ids and who not in accounts and ":" not in who:
                problems.append(ConfigProblem(name, f"roles.{role}[{j}]", Msg("config.err.unknown_person", value=who)))
    for group, people in file.groups.items():
        for j, who in enumerate(people):
            if who not in member_ids and who not in accounts and ":" not in who:
                problems.append(ConfigProblem(name, f"groups.{group}[{j}]", Msg("config.err.unknown_person", value=who)))
    options: dict[str, Mapping[str, Any]] = {}
    for i, ritual in enumerate(file.rituals):
        where = f"rituals[{i}]"
        if ritual.kind not in registry.kinds:
            problems.append(ConfigProblem(name, f"{where}.kind", Msg(
                "config.err.unknown_kind", value=ritual.kind, choices=", ".join(sorted(registry.kinds)))))
            continue
        if not registry.get(ritual.kind).configurable:
            problems.append(ConfigProblem(name, f"{where}.kind", Msg("config.err.not_configurable", value=ritual.kind)))
            continue
        for j, ch in enumerate(ritual.channels):
            if ch not in channel_ids:
                problems.append(ConfigProblem(name, f"{where}.channels[{j}]", Msg("config.err.unknown_channel", value=ch)))
        model = registry.get(ritual.kind).config_model
        if model is None:
            if ritual.options:
                problems.append(ConfigProblem(name, where, Msg("config.err.no_options", kind=ritual.kind)))
            options[ritual.id] = {}
            continue
        try:
            options[ritual.id] = model.model_validate(ritual.options).model_dump(mode="json")
        except ValidationError as exc:
            problems.extend(problems_from(exc, name, where))
    defaults: dict[str, Mapping[str, Any]] = {}
    for kind_name, kind_table in file.defaults.items():
        if kind_name not in registry.kinds:
            problems.append(ConfigProblem(name, f"defaults.{kind_name}", Msg(
                "config.err.unknown_kind", value=kind_name, choices=", ".join(sorted(registry.kinds)))))
            continue
        model = registry.get(kind_name).config_model
        if model is None:
            continue
        try:
            defaults[kind_name] = model.model_validate(kind_table).model_dump(mode="json")
        except ValidationError as exc:
            problems.extend(problems_from(exc, name, f"defaults.{kind_name}"))
    for kind_name, kind in registry.kinds.items():
        if kind_name not in defaults and kind.config_model is not None:
            try:
                defaults[kind_name] = kind.config_model.model_validate({}).model_dump(mode="json")
            except ValidationError:
                defaults[kind_name] = {}
    if problems:
        raise ConfigError(problems)
    return Config(path=path, file=file, ritual_options=options, kind_defaults=defaults)
