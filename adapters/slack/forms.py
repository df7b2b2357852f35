"""The forms the adapter can draw as modals ("proposal", "objection"), and the Slack-only texts it writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.slack.blocks import FieldKind, FormField
from bot.kernel.i18n import Msg, has_key, normalize_locale

_DEFAULT_FIELDS: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "proposal": (
        {"name": "title", "label": "slack.form.proposal.title", "kind": "text", "max_length": 150},
        {
            "name": "text",
            "label": "slack.form.proposal.text",
            "kind": "multiline",
            "placeholder": "slack.form.proposal.text_placeholder",
            "max_length": 2900,
        },
        {
            "name": "deadline",
            "label": "slack.form.proposal.deadline",
            "kind": "datetime",
            "required": False,
            "hint": "slack.form.proposal.deadline_hint",
        },
    ),
    "objection": (
        {
            "name": "reason",
            "label": "slack.form.objection.reason",
            "kind": "multiline",
            "placeholder": "slack.form.objection.reason_placeholder",
            "max_length": 2900,
        },
    ),
}

KNOWN_FORMS = frozenset(_DEFAULT_FIELDS)


class Texts:
    """Renders plain-text labels in one locale, from a Msg or a catalog key (`slack.*`)."""

    def __init__(self, locale: str, render: Callable[[Msg], str]) -> None:
        self.locale = normalize_locale(locale)
        self._render = render

    def __call__(self, value: Any) -> str:
        if isinstance(value, Msg):
            return self._render(value)
        if isinstance(value, Mapping) and "key" in value:
            return self._render(Msg.model_validate(dict(value)))
        if isinstance(value, str):
            if has_key(value, self.locale):
                return self._render(Msg(value))
            return value
        return str(value)


def _kind(spec: Mapping[str, Any]) -> FieldKind:
    value = spec.get("kind")
    if value == "datetime":
        return "datetime"
    if value == "multiline" or spec.get("multiline"):
        return "multiline"
    return "text"


def form_fields(form: str, declared: Sequence[Mapping[str, Any]], texts: Texts) -> list[FormField]:
    """The fields of a form: as the action declares them, else the adapter's defaults.

    A declared field is `{"id" (or "name"), "label", "kind": text|multiline|datetime (or
    "multiline": true), "required", "placeholder", "hint", "initial", "max_length"}`;
    labels are Msgs (or their JSON) or catalog keys."""
    specs = declared or _DEFAULT_FIELDS.get(form, ())
    out: list[FormField] = []
    for spec in specs:
        name = str(spec.get("id") or spec.get("name") or "")
        if not name:
            continue
        out.append(
            FormField(
                name=name,
                label=texts(spec.get("label") or name),
                kind=_kind(spec),
                required=bool(spec.get("required", True)),
                placeholder=texts(spec["placeholder"]) if spec.get("placeholder") else None,
                hint=texts(spec["hint"]) if spec.get("hint") else None,
                initial=str(spec["initial"]) if spec.get("initial") else None,
                max_length=int(spec["max_length"]) if spec.get("max_length") else None,
            )
        )
    return out
