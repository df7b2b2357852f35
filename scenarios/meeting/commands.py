"""The meetings' commands, declared once: a one-off meeting, cancel, agenda, minutes, calendar, record, mute."""

from __future__ import annotations

from bot.kernel.commands import ArgSpec, CommandSpec
from bot.kernel.inputs import NAME, TITLE

__all__ = ["AGENDA", "CALENDAR", "CANCEL", "COMMANDS", "MINUTES", "MUTE", "NEW", "PERSONAL_OFF", "PERSONAL_ON",
           "RECORD", "ROLE_SWAP", "UNMUTE"]

NEW = CommandSpec(
    name="reunion",
    aliases=("meeting",),
    route="singleton",
    summary_key="meeting.cmd.summary_new",
    # `reunion "Titre" <date, heure et lieu>`: the title must be quoted, the rest is read by
    # the meeting with the network's clock and time zone (`scenarios.meeting.when`).
    args=(
        ArgSpec("title", "quoted", "meeting.arg.title", limit=TITLE, missing_key="meeting.cmd.title_missing"),
        ArgSpec("text", "when", "meeting.arg.when", missing_key="meeting.cmd.when_missing"),
    ),
    animateur_only=True,
    example_key="meeting.cmd.example_new",
)
CANCEL = CommandSpec(
    name="reunion annuler",
    aliases=("meeting cancel",),
    route="singleton",
    summary_key="meeting.cmd.summary_cancel",
    args=(ArgSpec("reason", "rest", "meeting.arg.reason", required=False),),
    animateur_only=True,
    example_key="meeting.cmd.example_cancel",
)
AGENDA = CommandSpec(
    name="ordre-du-jour",
    aliases=("agenda",),
    route="singleton",
    summary_key="meeting.cmd.summary_agenda",
    args=(ArgSpec("text", "rest", "meeting.arg.item", required=False),),
    example_key="meeting.cmd.example_agenda",
)
MINUTES = CommandSpec(
    name="reunion cr",
    aliases=("meeting minutes",),
    route="singleton",
    summary_key="meeting.cmd.summary_minutes",
    args=(ArgSpec("url", "text", "meeting.arg.url"),),
    example_key="meeting.cmd.example_minutes",
)
CALENDAR = CommandSpec(
    name="reunion calendrier",
    aliases=("meeting calendar",),
    route="singleton",
    summary_key="meeting.cmd.summary_calendar",
    example_key="meeting.cmd.example_calendar",
    in_dm=True,
)
RECORD = CommandSpec(
    name="reunion fiche",
    aliases=("meeting record",),
    route="singleton",
    summary_key="meeting.cmd.summary_record",
    example_key="meeting.cmd.example_record",
)
MUTE = CommandSpec(
    name="reunion sourdine",
    aliases=("meeting mute",),
    route="singleton",
    summary_key="meeting.cmd.summary_mute",
    args=(ArgSpec("series", "rest", "meeting.arg.series", required=False, limit=NAME),),
    example_key="meeting.cmd.example_mute",
    in_dm=True,
)
UNMUTE = CommandSpec(
    name="reunion reactiver",
    aliases=("meeting unmute",),
    route="singleton",
    summary_key="meeting.cmd.summary_unmute",
    args=(ArgSpec("series", "rest", "meeting.arg.series", required=False, limit=NAME),),
    example_key="meeting.cmd.example_unmute",
    in_dm=True,
)

PERSONAL_ON = CommandSpec(
    name="reunion rappels perso",
    aliases=("meeting reminders on", "meeting reminders"),
    route="singleton",
    summary_key="meeting.cmd.summary_personal_on",
    args=(ArgSpec("series", "rest", "meeting.arg.series", required=False, limit=NAME),),
    example_key="meeting.cmd.example_personal_on",
    in_dm=True,
)
PERSONAL_OFF = CommandSpec(
    name="reunion rappels perso non",
    aliases=("meeting reminders off",),
    route="singleton",
    summary_key="meeting.cmd.summary_personal_off",
    args=(ArgSpec("series", "rest", "meeting.arg.series", required=False, limit=NAME),),
    example_key="meeting.cmd.example_personal_off",
    in_dm=True,
)
ROLE_SWAP = CommandSpec(
    name="reunion role echanger",
    aliases=("meeting role swap",),
    route="singleton",
    summary_key="meeting.cmd.summary_swap",
    args=(ArgSpec("who", "rest", "meeting.arg.who", limit=NAME, missing_key="meeting.cmd.swap_missing"),),
    example_key="meeting.cmd.example_swap",
    in_dm=True,
)

COMMANDS: tuple[CommandSpec, ...] = (NEW, CANCEL, AGENDA, MINUTES, CALENDAR, RECORD, MUTE, UNMUTE, PERSONAL_ON,
                                     PERSONAL_OFF, ROLE_SWAP)
