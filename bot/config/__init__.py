"""The TOML config, validated into typed settings; errors name the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.directory import Attributes, DirectorySection, attributes_of, check_directory
from bot.config.problems import ConfigError, ConfigProblem, problems_from
from bot.config.registre import RegistreSection, registre_env
from bot.config.roles import MANDATES_KIND, check_roles, implied_ritual, read_section
from bot.config.values import EnvName, Refusal
from bot.kernel.i18n import Code, Msg
from bot.kernel.i18n.names import split_article
from bot.kernel.mandates import RoleSpec
from bot.kernel.scenario import Registry
from bot.secrets import register_secret

__all__ = [
    "DEFAULT_STORE_URL", "Attributes", "ChannelEntry", "Config", "ConfigError", "ConfigFile", "ConfigProblem",
    "DirectorySection", "EnvNeed",
    "MemberEntry", "NetworkSection", "OpsSection", "PlatformConfig", "Platforms", "RegistreSection", "RitualEntry",
    "StoreSection",
    "load", "missing_env", "needed_env", "problems_from", "resolve_sqlite_path", "secret", "validate",
]

DEFAULT_STORE_URL = "sqlite+aiosqlite:///maillage.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkSection(_Section):
    name: str
    locale: Literal["fr", "en"] = "fr"
    name_with_article: str | None = None
    """The name as a sentence says it, its article first ("le Réseau des tiers-lieux", "la
    Fédération…", "l'Atelier…", "les Tiers-lieux…"): messages then say "du Réseau…", "au
    Réseau…"; without it, "du réseau « Réseau des tiers-lieux »"."""
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


    @field_validator("name_with_article")
    @classmethod
    def _article(cls, value: str | None) -> str | None:
        if value is not None and split_article(value.strip()) is None:
            raise Refusal(Msg("config.err.name_with_article", value=value))
        return value.strip() if value is not None else None

class StoreSection(_Section):
    url: str = DEFAULT_STORE_URL
    """SQLAlchemy async URL; a relative SQLite path is relative to the config file."""
    url_env: EnvName | None = None
    """Name of an environment variable holding the URL (when it carries a password)."""


class OpsSection(_Section):
    """The operations endpoints (`/healthz`, `/metrics`), on their own port."""

    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


def _platforms(info: ValidationInfo) -> Sequence[str]:
    """The platforms registered for this validation (its context, given by `validate`)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    return tuple(context.get("platforms", ()))


def _one_of(names: Sequence[str]) -> str:
    """The choices as pydantic lists a Literal's: 'a', 'b' or 'c'."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class ChannelEntry(_Section):
    id: str
    platform: str
    """A registered platform's name (matrix, slack, console…)."""
    room: str
    """The platform's id: a Matrix room id or alias, a Slack channel id, a console name."""
    name: str | None = None
    team: str | None = None
    """Slack workspace (team id) when several are installed."""

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, value: object, info: ValidationInfo) -> object:
        names = _platforms(info)
        if value not in names:
            raise Refusal(Msg("config.err.expected_one_of", choices=_one_of(names)))
        return value


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
    def _accounts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        names = _platforms(info)
        for acc in value:
            platform, _, user = acc.partition(":")
            if platform not in names or not user:
                raise Refusal(Msg("config.err.account_format", value=acc))
        return value

    @model_validator(mode="after")
    def _attrs(self) -> MemberEntry:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, str | int):
                raise Refusal(Msg("config.err.attribute_text", name=key))
        return self

    @property
    def own_attributes(self) -> dict[str, str]:
        """The attributes the entry gives, the organisation (a field of its own) aside."""
        return {k: str(v) for k, v in (self.model_extra or {}).items()}

    @property
    def attributes(self) -> dict[str, str]:
        attrs = self.own_attributes
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
    """The platform-neutral sections; each platform's own (`[matrix]`, `[slack]`) is validated
    by the model it registers, between `[store]` and `[ops]` (the order problems are listed in)."""

    network: NetworkSection
    store: StoreSection = StoreSection()
    ops: OpsSection | None = None
    registre: RegistreSection | None = None
    channels: list[ChannelEntry] = Field(default_factory=list)
    members: list[MemberEntry] = Field(default_factory=list)
    roles: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    directory: DirectorySection | None = None
    rituals: list[RitualEntry] = Field(default_factory=list)
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)


S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class EnvNeed:
    """An environment variable `run` reads, named by the config key `key`; with several
    `names`, one of them is enough."""

    key: str
    names: tuple[str, ...]
    first_login_only: bool = False
    """Credentials needed only for a first login: once a session is stored, the bot logs in with it."""
    message: Msg | None = None
    """What to say when none is set (default: the first name is not set)."""

    def problem(self, file: str) -> ConfigProblem:
        what = self.message or Msg("config.err.env_missing", name=Code(text=self.names[0]))
        return ConfigProblem(file, self.key, what)


def _no_env(section: Any) -> Sequence[EnvNeed]:
    return ()


@dataclass(frozen=True)
class PlatformConfig(Generic[S]):
    """What a platform registers in the config: its name (the `platform` of channels, the
    prefix of accounts) and, if it has one, its `[name]` section's model and the variables
    `run` reads for it. The composition root passes the registered platforms in, as it
    passes the rituals' registry: the config knows no platform of its own."""

    name: str
    section: type[S] | None = None
    needed_env: Callable[[S], Sequence[EnvNeed]] = _no_env


Platforms = Sequence[PlatformConfig[Any]]


@dataclass(frozen=True)
class Config:
    """A validated config: the file's sections plus each ritual's validated options."""

    path: Path
    file: ConfigFile
    ritual_options: Mapping[str, Mapping[str, Any]]
    kind_defaults: Mapping[str, Mapping[str, Any]]
    sections: Mapping[str, BaseModel] = field(default_factory=dict)
    """The platforms' own sections present in the file, by platform name."""
    platforms: tuple[PlatformConfig[Any], ...] = ()
    """The platforms registered when the file was validated."""
    attributes: Attributes = field(default_factory=Attributes)
    """What members may say about themselves (`[directory]`, or the attributes the members use)."""
    declared_roles: Mapping[str, RoleSpec] = field(default_factory=dict)
    """The roles `[roles]` declares as tables (seats, term, renewal), by name."""
    implied: tuple[RitualEntry, ...] = ()
    """Rituals the file implies without listing them (the mandates ritual of declared roles)."""

    @property
    def rituals(self) -> list[RitualEntry]:
        """The configured rituals: the file's `[[rituals]]`, then those it implies."""
        return [*self.file.rituals, *self.implied]

    @property
    def network(self) -> NetworkSection:
        return self.file.network

    def section(self, name: str, model: type[S]) -> S | None:
        """The `[name]` section as validated by its platform's `model`, or None when absent."""
        value = self.sections.get(name)
        if value is None:
            return None
        if not isinstance(value, model):
            raise TypeError(f"the [{name}] section is a {type(value).__name__}, not a {model.__name__}")
        return value

    def rooms(self, platform: str) -> list[str]:
        """The platform ids of the channels bound on `platform`, in the file's order."""
        return [c.room for c in self.file.channels if c.platform == platform]

    def store_url(self) -> str:
        url = self.file.store.url
        if self.file.store.url_env:
            url = secret(self.file.store.url_env, "store.url_env", self.path)
        return resolve_sqlite_path(url, self.path.parent)

    def animateurs(self) -> list[str]:
        return list(self.file.roles.get("animateurs", []))


def needed_env(config: Config) -> list[EnvNeed]:
    """Every variable `run` will read for this config: the store's URL, then those of the
    platforms the channels use (a section no channel uses is not started)."""
    file = config.file
    needs: list[EnvNeed] = []
    if file.store.url_env:
        needs.append(EnvNeed("store.url_env", (file.store.url_env,)))
    needs += [EnvNeed("registre.secret_env", (name,)) for name in registre_env(file.registre)]
    used = {c.platform for c in file.channels}
    for platform in config.platforms:
        section = config.sections.get(platform.name)
        if platform.name in used and section is not None:
            needs += platform.needed_env(section)
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


def load(path: Path | str, registry: Registry, platforms: Platforms) -> Config:
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
    return validate(raw, registry, path, platforms)


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


def _top_order(platforms: Platforms) -> list[str]:
    """The file's top-level keys in the order problems are listed: the platforms' sections
    between `[store]` and `[ops]`, where they always were."""
    core = list(ConfigFile.model_fields)
    at = core.index("store") + 1
    return core[:at] + [p.name for p in platforms if p.section is not None] + core[at:]


def _validate_file(raw: Mapping[str, Any], platforms: Platforms,
                   name: str) -> tuple[ConfigFile, dict[str, BaseModel]]:
    """The platform-neutral sections, validated with the registered platforms' names, and
    each platform's section by its own model; every problem of either, in the file's order."""
    own = {p.name: p.section for p in platforms if p.section is not None}
    core = {k: v for k, v in raw.items() if k not in own}
    problems: list[ConfigProblem] = []
    file: ConfigFile | None = None
    try:
        file = ConfigFile.model_validate(core, context={"platforms": [p.name for p in platforms]})
    except ValidationError as exc:
        problems += problems_from(exc, name)
    sections: dict[str, BaseModel] = {}
    for key, model in own.items():
        if key not in raw:
            continue
        try:
            sections[key] = model.model_validate(raw[key])
        except ValidationError as exc:
            problems += problems_from(exc, name, key)
    if problems or file is None:
        order = _top_order(platforms)

        def rank(problem: ConfigProblem) -> int:
            top = problem.key.split(".", 1)[0].split("[", 1)[0]
            return order.index(top) if top in order else len(order)

        # Unknown keys come last, as pydantic lists them after the known ones.
        raise ConfigError(sorted(problems, key=rank))
    return file, sections


def validate(raw: Mapping[str, Any], registry: Registry, path: Path, platforms: Platforms) -> Config:
    name = str(path)
    # `[roles]` lists are read with the file; its tables (declared roles) on their own.
    lists, declared, role_problems = read_section(raw.get("roles"), name, registry)
    if "roles" in raw:
        raw = {**raw, "roles": lists}
    try:
        file, sections = _validate_file(raw, platforms, name)
    except ConfigError as exc:
        raise ConfigError([*exc.problems, *role_problems]) from None
    problems: list[ConfigProblem] = list(role_problems)
    problems += check_roles(file.roles, declared, [c.id for c in file.channels], file.groups, name)
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
    problems.extend(check_directory(file.directory, [(m.id, m.own_attributes) for m in file.members], name))
    for platform in platforms:
        needed = platform.section is not None and platform.name not in sections
        if needed and any(c.platform == platform.name for c in file.channels):
            problems.append(ConfigProblem(name, platform.name, Msg("config.err.section_needed", platform=platform.name)))
    for role, people in file.roles.items():
        for j, who in enumerate(people):
            if who not in member_ids and who not in accounts and ":" not in who:
                problems.append(ConfigProblem(name, f"roles.{role}[{j}]", Msg("config.err.unknown_person", value=who)))
    for group, people in file.groups.items():
        for j, who in enumerate(people):
            if who not in member_ids and who not in accounts and ":" not in who:
                problems.append(ConfigProblem(name, f"groups.{group}[{j}]", Msg("config.err.unknown_person", value=who)))
    options: dict[str, Mapping[str, Any]] = {}
    kinds = frozenset(r.kind for r in file.rituals)
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
            # The kinds declared beside it: a kind's default may depend on them (the charter
            # is said in the digest only where there is one).
            options[ritual.id] = model.model_validate(ritual.options, context={"kinds": kinds}).model_dump(mode="json")
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
    implied = implied_ritual(declared, {r.id for r in file.rituals}, registry)
    if implied is not None:
        options[implied[0]] = implied[1]
    return Config(path=path, file=file, ritual_options=options, kind_defaults=defaults, sections=sections,
                  platforms=tuple(platforms),
                  attributes=attributes_of(file.directory, [m.own_attributes for m in file.members]),
                  declared_roles=declared,
                  implied=(RitualEntry(id=implied[0], kind=MANDATES_KIND),) if implied is not None else ())
