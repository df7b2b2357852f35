"""mandates: who holds which declared role, chosen how (election, draw, appointment), from when
until when, and why it ended; a seat offered to the next on a draw's reserve list

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.schema.UTCDateTime
    op.create_table(
        "mandates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("ritual_number", sa.Integer(), nullable=True),
        sa.Column("appointed_by", sa.Integer(), nullable=True),
        sa.Column("chosen_at", utc(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", utc(), nullable=True),
        sa.Column("ends_at", utc(), nullable=False),
        sa.Column("ended_at", utc(), nullable=True),
        sa.Column("ended_why", sa.String(length=20), nullable=True),
        sa.Column("reserve_rank", sa.Integer(), nullable=True),
        sa.Column("replaces", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name=op.f("fk_mandates_network_id_networks")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_mandates_person_id_persons")),
        sa.ForeignKeyConstraint(["appointed_by"], ["persons.id"], name=op.f("fk_mandates_appointed_by_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
    )
    op.create_index("ix_mandates_network_id_role", "mandates", ["network_id", "role"])
    op.create_index("ix_mandates_person_id", "mandates", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_mandates_person_id", table_name="mandates")
    op.drop_index("ix_mandates_network_id_role", table_name="mandates")
    op.drop_table("mandates")
