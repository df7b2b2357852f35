"""A draw's settings: `[defaults.draw]` (roles, quotas, rotation, the seed's and the answers'
delays) as typed models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.kernel.commands import fold
from bot.kernel.scenario import Context
from scenarios.sortition.pool import (
    SortitionError,
    parse_quota_token,
)


class QuotaConfig(BaseModel):
    """`{attribute = "territoire", min = 1, max = 1}`; without `value`, for each value."""

    model_config = ConfigDict(extra="forbid")

    attribute: str
    value: str | None = None
    min: int = Field(0, ge=0)
    max: int | None = Field(None, ge=0)


def _quota_list(v: Any) -> Any:
    """Quotas may be written as in the command (`"territoire=1"`) or as tables."""
    if not isinstance(v, list):
        return v
    out: list[Any] = []
    for item in v:
        if isinstance(item, str):
            try:
                q = parse_quota_token(item)
            except SortitionError:
                raise ValueError(f"quota {item!r}: expected e.g. \"territoire=1\" or \"structure<=1\"") from None
            out.append({"attribute": q.attribute, "value": q.value, "min": q.min, "max": q.max})
        else:
            out.append(item)
    return out


class RoleConfig(BaseModel):
    """Settings of draws for one role (`[defaults.draw.roles."délégué"]`)."""

    model_config = ConfigDict(extra="forbid")

    size: int | None = Field(None, ge=1)
    group: str | None = None
    quotas: list[QuotaConfig] = Field(default_factory=list)
    rotation: int | None = Field(None, ge=0)
    balance: bool | None = None

    _quotas = field_validator("quotas", mode="before")(_quota_list)


class DrawConfig(BaseModel):
    """`[defaults.draw]` (command-started draws) or a `[[rituals]]` entry of kind "draw"."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    size: int | None = Field(None, ge=1)
    group: str | None = None
    quotas: list[QuotaConfig] = Field(default_factory=list)
    rotation: int = Field(1, ge=0)
    """Nobody drawn in the last `rotation` draws of the same role may be drawn."""
    balance: bool = True
    """Leximin over past selections plus this draw's chance (draws of the role in the log):
    who served less goes first. False: each draw on its own (plain leximin)."""
    min_contributors: int = Field(2, ge=1)
    commit_hours: float = Field(24.0, gt=0)
    reveal_hours: float = Field(24.0, gt=0)
    accept_hours: float = Field(72.0, gt=0)
    no_answer: Literal["replace", "accept"] = "replace"
    roles: dict[str, RoleConfig] = Field(default_factory=dict)

    _quotas = field_validator("quotas", mode="before")(_quota_list)

    def for_role(self, name: str) -> RoleConfig | None:
        for key in sorted(self.roles):
            if fold(key) == fold(name):
                return self.roles[key]
        return None


def draw_config(ctx: Context) -> DrawConfig:
    raw = {k: v for k, v in dict(ctx.config).items() if k not in ("id", "kind", "channels")}
    return DrawConfig.model_validate(raw)
