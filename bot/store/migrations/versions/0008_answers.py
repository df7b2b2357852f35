"""answers as rows: one row per member's answer (consent choices, RSVPs, attendance,
nominations, draw contributions and acceptances), the previous one kept when it changes

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.schema.UTCDateTime
    op.create_table(
        "answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", utc(), nullable=False),
        sa.Column("superseded_at", utc(), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name=op.f("fk_answers_network_id_networks")),
        sa.ForeignKeyConstraint(["ritual_id"], ["rituals.id"], name=op.f("fk_answers_ritual_id_rituals")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_answers_person_id_persons")),
        sa.ForeignKeyConstraint(["subject_id"], ["persons.id"], name=op.f("fk_answers_subject_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    current = sa.text("superseded_at IS NULL")
    op.create_index("uq_answers_current", "answers", ["ritual_id", "topic", "part", "version", "person_id"],
                    unique=True, sqlite_where=current, postgresql_where=current)
    op.create_index("ix_answers_ritual_person", "answers", ["ritual_id", "person_id"])
    op.create_index("ix_answers_person_id", "answers", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_answers_person_id", table_name="answers")
    op.drop_index("ix_answers_ritual_person", table_name="answers")
    op.drop_index("uq_answers_current", table_name="answers")
    op.drop_table("answers")
