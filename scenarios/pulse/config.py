"""The satisfaction pulse's configuration: `[[rituals]] kind = "pulse"` and its keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from bot.kernel.i18n import Msg
from bot.kernel.schedule import Schedule

COMMON_KEYS = ("id", "kind", "channels")
MAX_QUESTIONS = 3
QUESTION_LENGTH = 300
SHOWN_FROM = 5
"""Results are shown only from this many answers (a split by group: in each group)."""


class QuestionsRefusal(ValueError):
    """Refused `questions`, with its catalog message (config check says it in fr or en)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


class PulseConfig(Schedule):
    """`[[rituals]] kind = "pulse"`: when the question is asked, how long it stays open, what is asked."""

    model_config = ConfigDict(extra="forbid")

    rrule: str = "FREQ=MONTHLY;BYDAY=1MO"
    """The first Monday of each month by default."""
    time: str = "10:00"
    open_days: int = Field(default=6, ge=1, le=27)
    """Days between the question and the close; at the close the answers lose who gave them."""
    remind_days: int = Field(default=3, ge=0, le=27)
    """Days after the question when those who have not answered get one private reminder
    (0: no reminder; on or after the close: none)."""
    questions: list[str] = Field(default_factory=list)
    """Up to three questions, each answered from 1 to 5, in the network's language; empty: the
    one question of the catalog (« how satisfied are you with the network this month? »)."""
    territory: str = Field(default="territoire", min_length=1, max_length=100)
    """The profile attribute that says a member's territory (results split by territory)."""
    seed: str = Field(default="", max_length=200)
    """Mixed into the seed that orders each pulse's comments (never the order given)."""

    @field_validator("questions")
    @classmethod
    def _questions(cls, v: list[str]) -> list[str]:
        if len(v) > MAX_QUESTIONS:
            raise QuestionsRefusal(Msg("pulse.config.too_many", count=len(v), most=MAX_QUESTIONS))
        cleaned = [q.strip() for q in v]
        if any(not q or len(q) > QUESTION_LENGTH for q in cleaned):
            raise QuestionsRefusal(Msg("pulse.config.bad_question", most=QUESTION_LENGTH))
        return cleaned

    @property
    def count(self) -> int:
        """How many questions are asked (the catalog's one when none is configured)."""
        return len(self.questions) or 1


def load_config(raw: Mapping[str, Any]) -> tuple[PulseConfig, list[str]]:
    channels = raw.get("channels") or []
    body = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    return PulseConfig.model_validate(body), [str(c) for c in channels]
