"""leases: one process at a time holds a Matrix account's sync loop; timers indexed per network;
a directory version per network, so processes sharing a store see each other's member changes

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("acquired_at", bot.store.schema.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bot.store.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_index(op.f("ix_timers_network_id_due_at"), "timers", ["network_id", "due_at"])
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("directory_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("directory_version")
    op.drop_index(op.f("ix_timers_network_id_due_at"), table_name="timers")
    op.drop_table("leases")
