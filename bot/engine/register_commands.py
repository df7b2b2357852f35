"""`registre`: a member's personal link to the network's register on the web (signed,
expiring; a new one replaces the old), and `registre revoquer`, which cancels every link."""

from __future__ import annotations

from datetime import timedelta

from bot.config import ConfigError, secret
from bot.engine.directory import People
from bot.engine.register_links import MIN_SECRET, Pass, link, sign
from bot.engine.tx import Tx
from bot.kernel.commands import CommandSpec
from bot.kernel.i18n import Link, Msg, When
from bot.kernel.model import Action, DirectMessage, Member, PrivateNote, ReplyHandle
from bot.kernel.register import ROOT

REGISTER = CommandSpec(
    name="registre", aliases=("register",), route="query", summary_key="registre.summary", in_dm=True,
)
REGISTER_REVOKE = CommandSpec(
    name="registre revoquer", aliases=("register revoke",), route="query", summary_key="registre.summary_revoke",
    in_dm=True,
)
REGISTER_COMMANDS: tuple[CommandSpec, ...] = (REGISTER, REGISTER_REVOKE)


async def answer_register(spec: CommandSpec, member: Member, channel: str, reply_to: ReplyHandle | None,
                          people: People, tx: Tx) -> list[Action]:
    def note(text: Msg) -> list[Action]:
        return [PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)]

    config = people.config
    section = config.file.registre
    pid = people.person_by_key[member.key]
    if spec is REGISTER_REVOKE:
        await tx.unit.register.bump_reader(people.network_id, pid, tx.now)
        return note(Msg("registre.revoked"))
    if section is None or section.base_url is None:
        return note(Msg("registre.off"))
    if section.visibility == "public":
        return note(Msg("registre.public", link=Link(url=section.base_url + ROOT)))
    assert section.secret_env is not None  # the config refuses a members-only register without one
    try:
        key = secret(section.secret_env, "registre.secret_env", config.path)
    except ConfigError:
        key = ""
    if len(key) < MIN_SECRET:
        return note(Msg("registre.no_secret"))
    # A new link replaces the ones given before: only the latest generation opens the register.
    generation = await tx.unit.register.bump_reader(people.network_id, pid, tx.now)
    until = tx.now + timedelta(days=section.link_days)
    token = sign(key, Pass(people.network_id, pid, generation, int(until.timestamp())))
    dm = DirectMessage(member=member.key, text=Msg("registre.link", link=Link(url=link(section.base_url, token)),
                                                   until=When(at=until, style="datetime")))
    return [dm] if channel == "dm" else [dm, *note(Msg("registre.sent"))]
