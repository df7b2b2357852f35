"""The engine's own commands: help generated from the declarations, profile, personal data, register links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine.directory import People
from bot.engine.forget import accounts_line, forget, my_data
from bot.engine.people_commands import (
    PEOPLE_COMMANDS,
    PROFILE,
    Asked,
    answer_people,
    answer_profile,
    show,
)
from bot.engine.register_commands import REGISTER_COMMANDS, answer_register
from bot.engine.tx import Tx
from bot.kernel.commands import (
    ArgSpec,
    CommandError,
    CommandSpec,
    Grammar,
    Parsed,
    help_for,
    help_index,
)
from bot.kernel.i18n import Msg
from bot.kernel.inputs import shown
from bot.kernel.model import Action, Member, PrivateNote, ReplyHandle
from bot.kernel.scenario import Context

HELP = CommandSpec(
    name="aide", aliases=("help",), route="query", summary_key="core.help.summary_help",
    args=(ArgSpec("command", "words", "core.help.arg_command", required=False),),
    example_key="core.help.example_help", in_dm=True,
)
MY_DATA = CommandSpec(
    name="mes-donnees", aliases=("my-data",), route="query", summary_key="core.profile.summary_my_data",
    in_dm=True,
)
FORGET = CommandSpec(
    name="oublie-moi", aliases=("forget-me",), route="query", summary_key="core.profile.summary_forget",
    args=(ArgSpec("confirm", "words", "core.profile.arg_confirm", required=False),), in_dm=True,
)
CORE_COMMANDS: tuple[CommandSpec, ...] = (HELP, PROFILE, MY_DATA, FORGET, *PEOPLE_COMMANDS, *REGISTER_COMMANDS)


@dataclass(frozen=True)
class CoreQuery:
    parsed: Parsed
    member: Member
    channel: str
    reply_to: ReplyHandle
    grammar: Grammar
    ctx: Context


def _note(q: CoreQuery, msg: Msg) -> list[Action]:
    return [PrivateNote(member=q.member.key, channel=q.channel, text=msg, reply_to=q.reply_to)]


async def answer_core(q: CoreQuery, people: People, tx: Tx) -> Sequence[Action]:
    spec = q.parsed.spec
    if spec is HELP:
        words: list[str] = q.parsed.args.get("command", [])
        if words:
            found = q.grammar.find(words)
            if found is None:
                raise CommandError(Msg("core.cmd.unknown", word=shown(" ".join(words)), suggestion=Msg("core.cmd.see_help")))
            return _note(q, help_for(found[0]))
        return _note(q, help_index(q.grammar.specs, q.member.is_animateur))
    if spec is PROFILE:
        return await answer_profile(Asked(q.parsed, q.member, q.channel, q.reply_to, q.ctx), people, tx)
    if spec in PEOPLE_COMMANDS:
        return await answer_people(Asked(q.parsed, q.member, q.channel, q.reply_to, q.ctx), people, tx)
    if spec is MY_DATA:
        return await _my_data(q, people, tx)
    if spec is FORGET:
        return await _forget(q, people, tx)
    if spec in REGISTER_COMMANDS:
        return await answer_register(spec, q.member, q.channel, q.reply_to, people, tx)
    raise CommandError(Msg("core.cmd.see_help"))


async def _my_data(q: CoreQuery, people: People, tx: Tx) -> list[Action]:
    pid = people.person_by_key[q.member.key]
    person = people.persons[pid]
    # From the register: the decisions, elections, draws and meetings that name the person,
    # and their answers there (a round still open is recorded when it closes).
    mine = await tx.unit.register.person_answers(people.network_id, pid)
    summary = Msg("core.profile.my_data", accounts=accounts_line(people, pid),
                  profile=show(people, person, q.ctx.network.locale), events=mine.entries, answers=mine.answers)
    return await my_data(q.member, q.channel, q.reply_to, people, tx, summary)


async def _forget(q: CoreQuery, people: People, tx: Tx) -> list[Action]:
    words = [w.lower() for w in q.parsed.args.get("confirm", [])]
    if words not in (["confirmer"], ["confirm"]):
        return _note(q, Msg("core.profile.forget_confirm"))
    return await forget(q.member, q.channel, q.reply_to, people, tx, q.ctx.network.locale)
