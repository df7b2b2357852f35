"""The `[registre]` section: who may read the network's register on the web, at which address,
and the variable holding the secret that signs members' personal links."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.values import EnvName, Refusal
from bot.kernel.i18n import Msg

__all__ = ["RegistreSection", "Visibility", "registre_env"]

Visibility = Literal["public", "members"]


class RegistreSection(BaseModel):
    """`[registre]`: `visibility = "public"` (anyone with the address) or `"members"` (only
    through a personal link `!reseau registre` sends), `base_url` (the address the ops server
    is reached at: chat messages link to their page), `secret_env` (members only: the variable
    holding the signing secret), `link_days` (how long a personal link opens the register)."""

    model_config = ConfigDict(extra="forbid")

    visibility: Visibility = "members"
    base_url: str | None = None
    secret_env: EnvName | None = None
    link_days: int = Field(30, ge=1, le=366)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value) or "?" in value:
            raise Refusal(Msg("config.err.registre_url"))
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secret(self) -> RegistreSection:
        if self.visibility == "members" and self.secret_env is None:
            raise Refusal(Msg("config.err.registre_secret"))
        return self


def registre_env(section: RegistreSection | None) -> tuple[str, ...]:
    """The variable `run` reads for the register (the members' links' secret), if any."""
    if section is None or section.visibility != "members" or section.secret_env is None:
        return ()
    return (section.secret_env,)

