"""The `[matrix]` section of the config, its refusals and the variables `run` reads for it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from bot.config import EnvNeed, PlatformConfig
from bot.config.values import EnvName, Refusal
from bot.kernel.i18n import Code, Lines, Msg


class MatrixSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
            raise Refusal(Msg("matrix.config.homeserver_url", value=value))
        return value

    @model_validator(mode="after")
    def _secret(self) -> MatrixSection:
        if not self.password_env and not self.access_token_env:
            raise Refusal(Msg("matrix.config.credentials"))
        return self


def credentials_need(key: str, names: tuple[str, ...]) -> EnvNeed:
    """The login's variables (one is enough); needed only for the first login: once a session
    is stored, the bot logs in with it."""
    listed = Lines(items=[Code(text=n) for n in names], sep=", ")
    return EnvNeed(key, names, first_login_only=True,
                   message=Msg("matrix.config.credentials_missing", names=listed))


def needed_env(section: MatrixSection) -> list[EnvNeed]:
    """The variables `run` reads for Matrix: the login's (token or password), the pickle key."""
    names = tuple(n for n in (section.access_token_env, section.password_env) if n)
    key = "matrix.access_token_env" if section.access_token_env else "matrix.password_env"
    needs = [credentials_need(key, names)]
    if section.pickle_key_env:
        needs.append(EnvNeed("matrix.pickle_key_env", (section.pickle_key_env,)))
    return needs


MATRIX = PlatformConfig("matrix", MatrixSection, needed_env)
"""What Matrix registers in the config: channels and accounts named `matrix`, the `[matrix]` section."""
