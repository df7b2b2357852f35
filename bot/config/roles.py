"""The `[roles]` section: lists of who holds a role (`animateurs = [...]`, `"délégué" = ["bruno"]`)
beside roles declared as tables, with their seats, term and renewal (`[roles."délégué·e au
comité régional"]`), which become mandates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config.problems import ConfigProblem, problems_from
from bot.config.values import Refusal
from bot.kernel.commands import fold
from bot.kernel.i18n import Msg
from bot.kernel.mandates import QuotaSpec, RenewBy, RoleSpec, same_role
from bot.kernel.scenario import Registry
from bot.kernel.timetext import ConfigDuration

__all__ = ["MANDATES_KIND", "MANDATES_RITUAL", "RoleTable", "check_roles", "implied_ritual", "read_section"]

MANDATES_KIND = "mandates"
"""The ritual kind that follows declared roles (renewals, resignations)."""
MANDATES_RITUAL = "mandats"
"""Its entry's id, added to the configured rituals when the config declares a role."""

_RENEW_WORDS: Mapping[str, RenewBy] = {
    "tirage": "tirage", "tirage au sort": "tirage", "draw": "tirage", "sortition": "tirage",
    "election": "election", "elect": "election",
}
_PERMISSION_LISTS = frozenset({"animateurs", "animateur"})


class RoleTable(BaseModel):
    """One declared role, as the file writes it."""

    model_config = ConfigDict(extra="forbid")

    seats: int = Field(1, ge=1, le=1000)
    term: ConfigDuration
    """How long a mandate lasts ("1 an", "2 ans", "6 mois")."""
    renew_by: RenewBy = "election"
    pool: str | None = None
    """The channel whose members may be drawn or elected."""
    group: str | None = None
    """Or the named group."""
    channel: str | None = None
    """Where renewals are held (default: the pool's channel, else the network's first)."""
    quotas: list[Any] = Field(default_factory=list)
    """As the draws write them (`"territoire<=1"` or tables), read by the draw's own rules."""
    max_consecutive: int | None = Field(None, ge=1, le=100)
    notice: ConfigDuration = timedelta(days=30)
    """How long before a term ends the animateurs are told and the renewal proposed."""
    auto: bool = False
    """Start the renewal by itself at `notice` (else it waits for `mandat renouveler`)."""

    @field_validator("renew_by", mode="before")
    @classmethod
    def _renew(cls, value: Any) -> Any:
        if isinstance(value, str):
            found = _RENEW_WORDS.get(fold(value.strip()))
            if found is None:
                raise Refusal(Msg("config.err.expected_one_of", choices="'tirage' or 'election'"))
            return found
        return value

    @field_validator("pool", mode="before")
    @classmethod
    def _pool(cls, value: Any) -> Any:
        # `pool = ["general"]` reads as the channel: a draw is held among one channel or group.
        if isinstance(value, list):
            if len(value) != 1:
                raise Refusal(Msg("roles.err.one_pool"))
            return value[0]
        return value


def read_section(raw: Any, file: str, registry: Registry) -> tuple[Any, dict[str, RoleSpec], list[ConfigProblem]]:
    """The section's lists (validated with the rest of the file, as before), and its tables
    read as declared roles (quotas by the draw's own reading of them) with their problems; the
    checks that need the rest of the file are `check_roles`."""
    if not isinstance(raw, Mapping):
        return raw, {}, []
    lists = {k: v for k, v in raw.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in raw.items() if isinstance(v, Mapping)}
    declared, problems = _declared(tables, file, registry)
    return lists, declared, problems


def _declared(tables: Mapping[str, Any], file: str, registry: Registry) -> tuple[dict[str, RoleSpec],
                                                                                 list[ConfigProblem]]:
    declared: dict[str, RoleSpec] = {}
    problems: list[ConfigProblem] = []
    for name, raw in tables.items():
        where = _key(name)
        if fold(name) in _PERMISSION_LISTS or not name.strip():
            problems.append(ConfigProblem(file, where, Msg("roles.err.permission_list")))
            continue
        try:
            table = RoleTable.model_validate(raw)
        except ValidationError as exc:
            problems += problems_from(exc, file, where)
            continue
        quotas, found = _quotas(table.quotas, file, where, registry)
        problems += found
        if table.notice >= table.term:
            problems.append(ConfigProblem(file, f"{where}.notice", Msg("roles.err.notice")))
        if table.pool is not None and table.group is not None:
            problems.append(ConfigProblem(file, f"{where}.group", Msg("roles.err.pool_or_group")))
        declared[name] = RoleSpec(
            name=name, seats=table.seats, term=table.term, renew_by=table.renew_by, pool=table.pool,
            group=table.group, channel=table.channel, quotas=quotas, max_consecutive=table.max_consecutive,
            notice=table.notice, auto=table.auto)
    return declared, problems


def check_roles(lists: Mapping[str, Any], declared: Mapping[str, RoleSpec], channels: Sequence[str],
                groups: Mapping[str, Any], file: str) -> list[ConfigProblem]:
    """The declared roles against the rest of the file: their channels and groups exist, and
    no two roles (declared or listed) are one role written two ways."""
    problems: list[ConfigProblem] = []
    for name, spec in declared.items():
        where = _key(name)
        for key, value in (("pool", spec.pool), ("channel", spec.channel)):
            if value is not None and value not in channels:
                problems.append(ConfigProblem(file, f"{where}.{key}", Msg("config.err.unknown_channel", value=value)))
        if spec.group is not None and spec.group not in groups:
            problems.append(ConfigProblem(file, f"{where}.group", Msg("roles.err.unknown_group", value=spec.group)))
    names = [*lists, *declared]
    for i, name in enumerate(names):
        twin = next((other for other in names[:i] if same_role(other, name)), None)
        if twin is not None:
            problems.append(ConfigProblem(file, _key(name), Msg("roles.err.twice", value=name, other=twin)))
    return problems


def _quotas(raw: Sequence[Any], file: str, where: str, registry: Registry) -> tuple[tuple[QuotaSpec, ...],
                                                                                   list[ConfigProblem]]:
    if not raw:
        return (), []
    draw = registry.kinds.get("draw")
    model = draw.config_model if draw is not None else None
    if model is None:
        return (), [ConfigProblem(file, f"{where}.quotas", Msg("roles.err.no_draws"))]
    try:
        read = model.model_validate({"quotas": list(raw)}).model_dump(mode="json")
    except ValidationError as exc:
        return (), problems_from(exc, file, where)
    return tuple(QuotaSpec(attribute=str(q["attribute"]), value=q.get("value"), min=int(q.get("min") or 0),
                           max=q.get("max")) for q in read.get("quotas", [])), []


def _key(name: str) -> str:
    return f'roles."{name}"'


def describe(spec: RoleSpec) -> dict[str, Any]:
    """The role as the mandates ritual's options keep it: when it changes, the ritual is told
    again at the next start (and plans its renewals anew)."""
    return {"seats": spec.seats, "term": spec.term.total_seconds(), "renew_by": spec.renew_by, "pool": spec.pool,
            "group": spec.group, "channel": spec.channel, "quotas": [q.as_params() for q in spec.quotas],
            "max_consecutive": spec.max_consecutive, "notice": spec.notice.total_seconds(), "auto": spec.auto}


def implied_ritual(declared: Mapping[str, RoleSpec], taken: set[str],
                   registry: Registry) -> tuple[str, dict[str, Any]] | None:
    """Declared roles bring the mandates ritual (renewals on their own timers): its entry's id
    and options. It is configured like any ritual, so that the boot starts it, tells it again
    when the roles change (its options are the roles), and retires it when none is declared."""
    if not declared or MANDATES_KIND not in registry.kinds:
        return None
    ident = next(i for i in (MANDATES_RITUAL, *(f"{MANDATES_RITUAL}-{n}" for n in range(2, 100))) if i not in taken)
    return ident, {"roles": {n: describe(spec) for n, spec in sorted(declared.items())}}
