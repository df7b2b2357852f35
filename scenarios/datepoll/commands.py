"""The date poll's commands, declared once: start a poll, answer it, close it, cancel it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, fold
from bot.kernel.i18n import Msg
from bot.kernel.inputs import TEXT, TITLE, WHEN, plain_digits, shown

__all__ = ["ANSWER", "CANCEL", "CLOSE", "COMMANDS", "MAX_SLOTS", "NEW", "read_answer"]

MAX_SLOTS = 10
"""More slots than this is no poll a member answers on a phone (and 30 Slack buttons)."""
YES, MAYBE, NO = "yes", "maybe", "no"
ANSWERS = (YES, MAYBE, NO)
_WORDS = {
    "oui": YES, "yes": YES, "o": YES, "y": YES, "ok": YES,
    "si besoin": MAYBE, "si-besoin": MAYBE, "sibesoin": MAYBE, "peut-etre": MAYBE, "if needed": MAYBE,
    "if need be": MAYBE, "maybe": MAYBE,
    "non": NO, "no": NO, "n": NO,
}  # fmt: skip


def read_answer(part: str) -> dict[str, Any]:
    """`2 si besoin` → {"slot": 2, "answer": "maybe"}; CommandError saying what is expected."""
    words = part.split(None, 1)
    number = words[0].rstrip(".:)") if words else ""
    if len(words) == 2 and number.isascii() and number.isdigit() and 1 <= int(number) <= MAX_SLOTS:
        value = _WORDS.get(" ".join(fold(words[1]).split()))
        if value is not None:
            return {"slot": int(number), "answer": value}
    raise CommandError(Msg("datepoll.cmd.bad_answer", value=shown(part)))


def _slot_text(part: str) -> str:
    return plain_digits(part, "core.input.when")


def _answers(words: Sequence[str]) -> bool:
    """`dates 1 oui, 2 non` answers (a slot's number first); `dates « titre » …` starts a poll,
    and so does `dates 12/01 18h, …` (the title forgotten: answered about the title)."""
    return bool(words) and words[0].rstrip(".:)").isdigit()


ANSWER = CommandSpec(
    name="dates reponse",
    aliases=("when answer",),
    route="ritual",
    summary_key="datepoll.cmd.summary_answer",
    args=(ArgSpec("answers", "list", "datepoll.arg.answers", limit=TEXT, read=read_answer,
                  missing_key="datepoll.cmd.answers_missing"),),
    example_key="datepoll.cmd.example_answer",
)
NEW = CommandSpec(
    name="dates",
    aliases=("when",),
    route="start",
    summary_key="datepoll.cmd.summary_new",
    args=(
        ArgSpec("title", "quoted", "datepoll.arg.title", limit=TITLE, missing_key="datepoll.cmd.title_missing"),
        ArgSpec("slots", "list", "datepoll.arg.slots", limit=WHEN, read=_slot_text,
                missing_key="datepoll.cmd.slots_missing"),
        ArgSpec("deadline", "when", "datepoll.arg.deadline", required=False, limit=WHEN),
    ),
    animateur_only=True,
    example_key="datepoll.cmd.example_new",
    instead=(ANSWER, _answers),
)
CLOSE = CommandSpec(
    name="dates clore",
    aliases=("when close",),
    route="ritual",
    summary_key="datepoll.cmd.summary_close",
    args=(ArgSpec("slot", "int", "datepoll.arg.slot", required=False, bad_key="datepoll.cmd.bad_slot"),),
    animateur_only=True,
    example_key="datepoll.cmd.example_close",
)
CANCEL = CommandSpec(
    name="dates annuler",
    aliases=("when cancel",),
    route="ritual",
    summary_key="datepoll.cmd.summary_cancel",
    args=(ArgSpec("reason", "rest", "datepoll.arg.reason", required=False),),
    animateur_only=True,
    example_key="datepoll.cmd.example_cancel",
)

COMMANDS: tuple[CommandSpec, ...] = (NEW, ANSWER, CLOSE, CANCEL)
