"""Problems found in a config, each naming the file, the key and what was expected; pydantic's errors said that way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from bot.config.values import Refusal
from bot.kernel.i18n import Code, Msg


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
        elif isinstance(own := getattr(error, "msg", None), Msg):
            # A ritual's own refusal (its config model cannot import this floor's Refusal).
            out.append(ConfigProblem(file, key, own))
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
