"""The tables: networks, channels, people and accounts, rituals, answers, mandates, inbound ids, outbox, timers, log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc(value: Any) -> datetime | None:
    """An aggregate (MIN of a date column) comes back raw, past the column's type: read it
    the way UTCDateTime does."""
    if value is None:
        return None
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]


networks = Table(
    "networks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Bumped by every change to the network's people, accounts or channel members: a process
    # that sees it move reloads its in-memory directory (another process made the change).
    Column("directory_version", Integer, nullable=False, default=0, server_default="0"),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("key", String(100), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("platform_id", String(255), nullable=False),
    Column("name", String(200)),
    UniqueConstraint("network_id", "key"),
    Index("ix_channels_platform", "platform", "platform_id"),
)

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("name", String(200), nullable=False),
    Column("organisation", String(200)),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("locale", String(10)),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("is_bot", Boolean, nullable=False, default=False),
    Column("from_config", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    # An animateur merged this person into another: the row keeps the key, which now means
    # the other person; its accounts, channels and roles moved there.
    Column("merged_into", ForeignKey("persons.id")),
    # When the person was invited to complete their profile: once, even across rejoins.
    Column("invited_at", UTCDateTime),
    UniqueConstraint("network_id", "key"),
)

person_sources = Table(
    "person_sources",
    metadata,
    Column("person_id", ForeignKey("persons.id"), primary_key=True),
    Column("field", String(20), primary_key=True),
    Column("attribute", String(100), primary_key=True, default=""),
    Column("source", String(10), nullable=False),
    Column("config_value", Text),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", ForeignKey("persons.id")),
)
"""Where each profile value came from (config or chat, when, by whom), and what the config said
of it then: at boot a chat edit stands until the config's value changes."""

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("scope", String(100), nullable=False, default=""),
    Column("user_id", String(255), nullable=False),
    Column("person_id", ForeignKey("persons.id"), nullable=False),
    Column("display_name", String(200)),
    UniqueConstraint("network_id", "platform", "scope", "user_id"),
)

channel_members = Table(
    "channel_members",
    metadata,
    Column("channel_id", ForeignKey("channels.id"), primary_key=True),
    Column("person_id", ForeignKey("persons.id"), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("network_id", ForeignKey("networks.id"), primary_key=True),
    Column("role", String(100), primary_key=True),
    Column("person_id", ForeignKey("persons.id"), primary_key=True),
)

rituals = Table(
    "rituals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("key", String(200), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="open"),
    Column("channels", JSON, nullable=False, default=list),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    # "command" (started by a member), "config" (a [[rituals]] entry; key = its id), or
    # "implicit" (a kind present in every network).
    Column("origin", String(10), nullable=False, default="command", server_default="command"),
    UniqueConstraint("network_id", "key"),
    UniqueConstraint("network_id", "kind", "number"),
    Index("ix_rituals_open", "network_id", "status", "kind"),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("platform", String(20), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

reactions = Table(
    "reactions",
    metadata,
    Column("platform", String(20), primary_key=True),
    Column("reaction_id", String(255), primary_key=True),
    Column("target", String(255), nullable=False),
    Column("key", String(100), nullable=False),
    Column("sender", String(255), nullable=False),
)

message_refs = Table(
    "message_refs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id"), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("channel_key", String(100), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("platform_channel", String(255)),
    Column("platform_message_id", String(255)),
    Column("choices", JSON, nullable=False, default=dict),
    UniqueConstraint("ritual_id", "ref", "channel_key"),
    Index("ix_message_refs_platform", "platform", "platform_message_id"),
)

pending_replies = Table(
    "pending_replies",
    metadata,
    Column("network_id", ForeignKey("networks.id"), primary_key=True),
    Column("person_id", ForeignKey("persons.id"), primary_key=True),
    Column("ritual_id", ForeignKey("rituals.id"), nullable=False),
    Column("ref", String(200), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id")),
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("platform", String(20), nullable=False),
    Column("action", JSON, nullable=False),
    Column("route", JSON, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("not_before", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    Index("ix_outbox_pending", "status", "not_before"),
)

timers = Table(
    "timers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    UniqueConstraint("ritual_id", "name"),
    Index("ix_timers_due", "due_at"),
    # The alarm asks each network for its earliest timer and then for the ones due: both
    # are index range scans, so a process never reads the timers of the far future.
    Index("ix_timers_network_id_due_at", "network_id", "due_at"),
)

log = Table(
    "log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id")),
    Column("ritual_kind", String(50), nullable=False),
    Column("ritual_number", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("summary", JSON, nullable=False),
    Index("ix_log_network_at", "network_id", "at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
"""Who holds a singleton job (one Matrix account's sync loop) until when; renewed by the holder."""

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sender", String(255)),
    Column("channel", String(255)),
    Column("error", Text, nullable=False),
    Column("detail", Text),
    Column("event", JSON),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "event_id"),
    Index("ix_dead_letters_network_at", "network_id", "at"),
)
"""Events (and timer firings) that failed deterministically: recorded once, with the error, so the
rest of their batch goes on and an operator can read them (`maillage db dead-letters`)."""

message_contents = Table(
    "message_contents",
    metadata,
    Column("ritual_id", ForeignKey("rituals.id"), primary_key=True),
    Column("ref", String(200), primary_key=True),
    Column("channel_key", String(100), primary_key=True),
    Column("text_hash", String(64), nullable=False),
    Column("choices_hash", String(64)),
)
"""What each ritual message last said (hashes of its text and choices), as decided: an edit that
would change nothing is not sent."""

kv = Table(
    "kv",
    metadata,
    Column("namespace", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", JSON),
    Column("updated_at", UTCDateTime, nullable=False),
)


register_entries = Table(
    "register_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id")),
    Column("ritual_kind", String(50), nullable=False),
    Column("ritual_number", Integer, nullable=False),
    # "decision", "election", "draw" or "meeting"; `key` tells apart the meetings of one
    # calendar (an occurrence), empty for the others.
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False, default=""),
    # The number the register shows: the ritual's own (decision #3), or for a meeting its
    # order in the network's register.
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("status", String(30), nullable=False),
    Column("opened_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("counts", JSON, nullable=False, default=dict),
    Column("data", JSON, nullable=False, default=dict),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("network_id", "kind", "ritual_kind", "ritual_number", "key", name="uq_register_entries_identity"),
    Index("ix_register_entries_number", "network_id", "kind", "number"),
    Index("ix_register_entries_recorded", "network_id", "recorded_at"),
)
"""The decision register: one row per decision, election, draw and meeting, projected from the
rituals' records (`Record`) in the transaction that writes them; `data` keeps what the kind's
page shows besides the columns (a draw's verifiable record, an election's nominations)."""

register_versions = Table(
    "register_versions",
    metadata,
    Column("entry_id", ForeignKey("register_entries.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text),
    Column("opened_at", UTCDateTime),
    Column("deadline", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("outcome", String(30)),
    Column("counts", JSON, nullable=False, default=dict),
    Column("objections", JSON, nullable=False, default=list),
)
"""Every version of a decision: its text, dates, outcome, counts and objections with reasons."""

register_answers = Table(
    "register_answers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("entry_id", ForeignKey("register_entries.id"), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    # The person when the directory knows them (their name is read from it, so a forgotten
    # person shows their pseudonym); `name` only for someone it could not tell.
    Column("person_id", ForeignKey("persons.id")),
    Column("name", String(200)),
    Column("organisation", String(200)),
    Column("choice", String(30), nullable=False),
    Column("reason", Text),
    Column("subject_id", ForeignKey("persons.id")),
    Column("subject_name", String(200)),
    Index("ix_register_answers_entry_id", "entry_id"),
    Index("ix_register_answers_person_id", "person_id"),
)
"""Who answered what: consent answers per version (never for an anonymous round), an
election's nominations and changes (`subject` is the person named), a meeting's attendance."""

register_readers = Table(
    "register_readers",
    metadata,
    Column("network_id", ForeignKey("networks.id"), primary_key=True),
    Column("person_id", ForeignKey("persons.id"), primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Members-only registers: each person's link carries their generation; a new link or
`registre revoquer` bumps it, and every older link stops opening the register."""

answers = Table(
    "answers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    Column("ritual_id", ForeignKey("rituals.id"), nullable=False),
    # What is answered ("consent", "rsvp", "attendance", "nomination", "contribution"…), in
    # which part of the ritual (an election's candidate, a meeting's occurrence; 0 otherwise)
    # and which version of it (a decision's amendments; 1 otherwise).
    Column("topic", String(30), nullable=False),
    Column("part", Integer, nullable=False, default=0),
    Column("version", Integer, nullable=False, default=1),
    # Who answered; NULL once an anonymous round has closed. People are referred to by id
    # only, so forgetting a person never rewrites these rows' text or JSON.
    Column("person_id", ForeignKey("persons.id")),
    Column("value", String(200)),
    Column("reason", Text),
    Column("subject_id", ForeignKey("persons.id")),
    Column("data", JSON, nullable=False, default=dict),
    Column("at", UTCDateTime, nullable=False),
    Column("superseded_at", UTCDateTime),
    # One current answer per person and question, whatever the processes: a vote is never
    # counted twice. Anonymized rows (no person) are distinct for the index.
    Index("uq_answers_current", "ritual_id", "topic", "part", "version", "person_id", unique=True,
          sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
    Index("ix_answers_ritual_person", "ritual_id", "person_id"),
    # What every answer reads: a member's current answers in a round, found without walking
    # the history of their changes (which grows with every changed answer).
    Index("ix_answers_current_person", "ritual_id", "person_id",
          sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
    Index("ix_answers_person_id", "person_id"),
)
"""Members' answers, one row each (`RecordAnswer`): a changed answer supersedes the previous
row (kept, with `superseded_at`) and adds the new one; a withdrawn answer is a row without a
value."""

mandates = Table(
    "mandates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("network_id", ForeignKey("networks.id"), nullable=False),
    # A role the config declares, in its spelling; the person by id only (a forgotten person's
    # mandates stay, their name goes).
    Column("role", String(200), nullable=False),
    Column("person_id", ForeignKey("persons.id"), nullable=False),
    # Their organisation when chosen: who represented which organisation stays true later.
    Column("organisation", String(200)),
    # "election", "draw" (with the ritual's number) or "appointed" (by whom, at `chosen_at`).
    Column("how", String(20), nullable=False),
    Column("ritual_number", Integer),
    Column("appointed_by", ForeignKey("persons.id")),
    Column("chosen_at", UTCDateTime, nullable=False),
    # "active" (held, or about to be once `started_at` comes), "offered" (a freed seat offered
    # to the next on a draw's reserve list, not answered yet), "ended".
    Column("status", String(20), nullable=False),
    Column("started_at", UTCDateTime),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("ended_why", String(20)),
    Column("reserve_rank", Integer),
    Column("replaces", Integer),
    Index("ix_mandates_network_id_role", "network_id", "role"),
    Index("ix_mandates_person_id", "person_id"),
)
"""Who holds which role, chosen how, from when until when, and why it ended (term, resignation,
a seat declined, replaced, removed): a row per person and term, never deleted."""
