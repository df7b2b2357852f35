"""decision register: entries (decisions, elections, draws, meetings), their versions and
answers, the generations of members' register links; backfilled from the log

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.schema.UTCDateTime
    op.create_table(
        "register_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=True),
        sa.Column("ritual_kind", sa.String(length=50), nullable=False),
        sa.Column("ritual_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("opened_at", utc(), nullable=True),
        sa.Column("closed_at", utc(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("recorded_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name=op.f("fk_register_entries_network_id_networks")),
        sa.ForeignKeyConstraint(["ritual_id"], ["rituals.id"], name=op.f("fk_register_entries_ritual_id_rituals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_entries")),
        sa.UniqueConstraint("network_id", "kind", "ritual_kind", "ritual_number", "key",
                            name="uq_register_entries_identity"),
    )
    op.create_index("ix_register_entries_number", "register_entries", ["network_id", "kind", "number"])
    op.create_index("ix_register_entries_recorded", "register_entries", ["network_id", "recorded_at"])
    op.create_table(
        "register_versions",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("opened_at", utc(), nullable=True),
        sa.Column("deadline", utc(), nullable=True),
        sa.Column("closed_at", utc(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("objections", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["register_entries.id"],
                                name=op.f("fk_register_versions_entry_id_register_entries")),
        sa.PrimaryKeyConstraint("entry_id", "version", name=op.f("pk_register_versions")),
    )
    op.create_table(
        "register_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("choice", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("subject_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["register_entries.id"],
                                name=op.f("fk_register_answers_entry_id_register_entries")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_register_answers_person_id_persons")),
        sa.ForeignKeyConstraint(["subject_id"], ["persons.id"], name=op.f("fk_register_answers_subject_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_answers")),
    )
    op.create_index("ix_register_answers_entry_id", "register_answers", ["entry_id"])
    op.create_index("ix_register_answers_person_id", "register_answers", ["person_id"])
    op.create_table(
        "register_readers",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name=op.f("fk_register_readers_network_id_networks")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_register_readers_person_id_persons")),
        sa.PrimaryKeyConstraint("network_id", "person_id", name=op.f("pk_register_readers")),
    )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Every record written before the register existed goes into it, in the order it was
    written, through the projection the engine uses for new ones: nothing recorded is lost."""
    from bot.store.register_projection import PeopleIndex, project
    from bot.store.repositories.register import write_steps

    log = sa.table("log", sa.column("id", sa.Integer()), sa.column("network_id", sa.Integer()),
                   sa.column("ritual_id", sa.Integer()), sa.column("ritual_kind", sa.String()),
                   sa.column("ritual_number", sa.Integer()), sa.column("at", bot.store.schema.UTCDateTime()),
                   sa.column("kind", sa.String()), sa.column("summary", sa.JSON()))
    persons = sa.table("persons", sa.column("id", sa.Integer()), sa.column("network_id", sa.Integer()),
                       sa.column("key", sa.String()), sa.column("name", sa.String()),
                       sa.column("organisation", sa.String()), sa.column("merged_into", sa.Integer()))
    kinds = ("decision", "election", "draw", "meeting", "attendance", "minutes")
    indexes: dict[int, PeopleIndex] = {}
    last = 0
    while True:
        rows = conn.execute(sa.select(log).where(log.c.id > last, log.c.kind.in_(kinds))
                            .order_by(log.c.id).limit(500)).all()
        if not rows:
            return
        for r in rows:
            last = r.id
            if r.network_id not in indexes:
                people = conn.execute(sa.select(persons.c.id, persons.c.key, persons.c.name, persons.c.organisation,
                                                persons.c.merged_into).where(persons.c.network_id == r.network_id))
                indexes[r.network_id] = PeopleIndex.from_rows((p[0], p[1], p[2], p[3], p[4]) for p in people)
            summary: Any = r.summary if isinstance(r.summary, dict) else {}
            write = project(r.kind, r.ritual_id, r.ritual_kind, r.ritual_number, r.at, summary, indexes[r.network_id])
            if write is None:
                continue
            steps = write_steps(r.network_id, write)
            result: Any = None
            try:
                while True:
                    stmt = steps.send(result) if result is not None else next(steps)
                    result = conn.execute(stmt)
            except StopIteration:
                pass


def downgrade() -> None:
    op.drop_table("register_readers")
    op.drop_index("ix_register_answers_person_id", table_name="register_answers")
    op.drop_index("ix_register_answers_entry_id", table_name="register_answers")
    op.drop_table("register_answers")
    op.drop_table("register_versions")
    op.drop_index("ix_register_entries_recorded", table_name="register_entries")
    op.drop_index("ix_register_entries_number", table_name="register_entries")
    op.drop_table("register_entries")
