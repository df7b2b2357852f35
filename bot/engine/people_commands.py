"""The directory's commands: a member's own profile (`profil territoire Creuse`), and the
animateurs' management of people and roles (`membre ajouter`, `membre corriger`, `membre
fusionner`, `role donner`, `role retirer`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.directory import ANIMATEUR, People, Person
from bot.engine.mandates import appoint
from bot.engine.profiles import Editor, FieldWord, read_field, read_who
from bot.engine.tx import Tx
from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, OptionSpec, Parsed
from bot.kernel.i18n import Code, Lines, Msg, Param
from bot.kernel.inputs import NAME, TITLE
from bot.kernel.mandates import find_role
from bot.kernel.model import Action, Member, PrivateNote, ReplyHandle
from bot.kernel.scenario import Context

_FIELD = ArgSpec("field", "text", "core.directory.arg_field", read=read_field, limit=NAME)
_VALUE = ArgSpec("value", "rest", "core.directory.arg_value", limit=TITLE)
_WHO = ArgSpec("who", "text", "core.directory.arg_who", read=read_who, limit=NAME)

PROFILE = CommandSpec(
    name="profil", aliases=("profile",), route="query", summary_key="core.profile.summary",
    args=(ArgSpec("field", "text", "core.directory.arg_field", required=False, read=read_field, limit=NAME),
          ArgSpec("value", "rest", "core.directory.arg_value", required=False, limit=TITLE)),
    example_key="core.profile.example", in_dm=True,
)
MEMBER_ADD = CommandSpec(
    name="membre ajouter", aliases=("member add",), route="query", summary_key="core.directory.summary_add",
    args=(ArgSpec("name", "rest", "core.directory.arg_name", limit=TITLE),),
    options=(OptionSpec("organisation", ("organisation", "structure"), ("organisation", "organization"), "text",
                        "core.directory.option_organisation", limit=TITLE),
             OptionSpec("account", ("compte",), ("account",), "text", "core.directory.option_account")),
    animateur_only=True, example_key="core.directory.example_add", in_dm=True,
)
MEMBER_SET = CommandSpec(
    name="membre corriger", aliases=("member set",), route="query", summary_key="core.directory.summary_set",
    args=(_WHO, _FIELD, _VALUE), animateur_only=True, example_key="core.directory.example_set", in_dm=True,
)
MEMBER_MERGE = CommandSpec(
    name="membre fusionner", aliases=("member merge",), route="query", summary_key="core.directory.summary_merge",
    args=(_WHO, ArgSpec("other", "text", "core.directory.arg_other", read=read_who, limit=NAME)),
    animateur_only=True, example_key="core.directory.example_merge", in_dm=True,
)
_ROLE = ArgSpec("role", "rest", "core.directory.arg_role", limit=NAME)
ROLE_GIVE = CommandSpec(
    name="role donner", aliases=("role give",), route="query", summary_key="core.directory.summary_role_give",
    args=(_WHO, _ROLE), animateur_only=True, example_key="core.directory.example_role_give", in_dm=True,
)
ROLE_REMOVE = CommandSpec(
    name="role retirer", aliases=("role remove",), route="query", summary_key="core.directory.summary_role_remove",
    args=(_WHO, _ROLE), animateur_only=True, example_key="core.directory.example_role_remove", in_dm=True,
)
PEOPLE_COMMANDS: tuple[CommandSpec, ...] = (MEMBER_ADD, MEMBER_SET, MEMBER_MERGE, ROLE_GIVE, ROLE_REMOVE)


@dataclass(frozen=True)
class Asked:
    """A directory command as the engine hands it over."""

    parsed: Parsed
    member: Member
    channel: str
    reply_to: ReplyHandle
    ctx: Context

    def note(self, msg: Msg) -> list[Action]:
        return [PrivateNote(member=self.member.key, channel=self.channel, text=msg, reply_to=self.reply_to)]


def _label(kind: str, attribute: str) -> Param:
    return attribute if kind == "attribute" else Msg(f"core.directory.field_{kind}")


def _shown(value: str | None) -> Param:
    return value if value else Msg("core.profile.none")


def attributes_line(person: Person, declared: tuple[str, ...]) -> Param:
    """`territoire = Nord, college = —`: the declared attributes first, given or not."""
    names = [*declared, *sorted(a for a in person.attributes if a not in declared)]
    if not names:
        return Msg("core.profile.none")
    return Lines(items=[Msg("core.directory.pair", field=n, value=_shown(person.attributes.get(n))) for n in names],
                 sep=", ")


def show(people: People, person: Person, locale: str) -> Msg:
    roles = sorted(r for r, ids in people.roles.items() if person.id in ids)
    shown_roles: list[Param] = [Msg("core.charter.role_animateur") if r == ANIMATEUR else r for r in roles]
    return Msg("core.profile.show", name=person.name, organisation=_shown(person.organisation),
               attributes=attributes_line(person, people.config.attributes.names),
               roles=Lines(items=shown_roles, sep=", ") if roles else Msg("core.profile.none"),
               locale=person.locale or locale)


async def answer_profile(q: Asked, people: People, tx: Tx) -> list[Action]:
    """`profil`: the member's own profile; `profil <champ> <valeur>`: one value set."""
    pid = people.person_by_key[q.member.key]
    word: FieldWord | None = q.parsed.args.get("field")
    if word is None:
        return q.note(show(people, people.persons[pid], q.ctx.network.locale))
    kind, attribute, value = await _set(q, people, tx, pid, word)
    if kind == "locale" and value is not None:
        return q.note(Msg("core.profile.language_set"))
    return q.note(Msg("core.directory.set", field=_label(kind, attribute), value=_shown(value)))


async def _set(q: Asked, people: People, tx: Tx, pid: int, word: FieldWord) -> tuple[str, str, str | None]:
    editor = Editor(people, tx, people.person_by_key[q.member.key])
    editor.attribute_of(word)  # an unknown field is said before a missing value
    raw: str | None = q.parsed.args.get("value")
    if raw is None:
        example = Msg("core.help.command_word", fr=f"{q.parsed.spec.name} {word.word} …",
                      en=f"{q.parsed.spec.aliases[0]} {word.word} …")
        raise CommandError(Msg("core.directory.missing_value", field=word.word, example=example))
    return await editor.set_value(pid, word, raw)


async def answer_people(q: Asked, people: People, tx: Tx) -> list[Action]:
    """The animateurs' commands (the router let only animateurs through)."""
    spec, args = q.parsed.spec, q.parsed.args
    editor = Editor(people, tx, people.person_by_key[q.member.key])
    if spec is MEMBER_ADD:
        person = await editor.add_person(args["name"], args.get("organisation"), args.get("account"))
        return q.note(Msg("core.directory.added", name=person.name, key=Code(text=person.key)))
    pid = editor.resolve(args["who"])
    person = people.persons[pid]
    if spec is MEMBER_SET:
        kind, attribute, value = await _set(q, people, tx, pid, args["field"])
        return q.note(Msg("core.directory.set_other", name=person.name, field=_label(kind, attribute),
                          value=_shown(value)))
    if spec is MEMBER_MERGE:
        return q.note(await _merge(editor, people, person, editor.resolve(args["other"])))
    declared = find_role(args["role"], people.config.declared_roles, prefix=False)
    if declared is not None:
        # A role the config declares is held by mandate: appointed by whom, when, for a term.
        return q.note(await appoint(tx, people, declared, pid, people.person_by_key[q.member.key],
                                    give=spec is ROLE_GIVE))
    role = editor.role_of(args["role"])
    shown_role: Param = Msg("core.charter.role_animateur") if role == ANIMATEUR else role
    held = spec is ROLE_GIVE
    if not await editor.set_role(pid, role, held):
        return q.note(Msg("core.directory.role_already" if held else "core.directory.role_not_held",
                          name=person.name, role=shown_role))
    return q.note(Msg("core.directory.role_given" if held else "core.directory.role_removed",
                      name=person.name, role=shown_role))


async def _merge(editor: Editor, people: People, keep: Person, other: int) -> Msg:
    gone = people.persons[other]
    if gone.id == keep.id:
        raise CommandError(Msg("core.directory.merge_same", name=keep.name))
    if keep.is_bot or gone.is_bot:
        raise CommandError(Msg("core.directory.merge_bot"))
    if gone.key in people.declared:
        # The config would give the account back at the next start: it stays that person's.
        if keep.key in people.declared:
            raise CommandError(Msg("core.directory.merge_declared_both", name=keep.name, other=gone.name))
        raise CommandError(Msg("core.directory.merge_declared", name=gone.name,
                               command=Code(text=f"membre fusionner {gone.key} {keep.key}")))
    gone_name = gone.name
    await editor.merge(keep.id, gone.id)
    accounts = people.persons[keep.id].accounts
    return Msg("core.directory.merged", name=keep.name, other=gone_name,
               accounts=Lines(items=[Code(text=f"{p}:{u}") for p, _, u in accounts], sep=", ")
               if accounts else Msg("core.profile.none"))

