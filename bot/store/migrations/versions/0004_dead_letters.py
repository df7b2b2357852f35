"""dead letters: events that failed deterministically, recorded once; message contents: what a
ritual's message last said, so an edit that changes nothing is not sent

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=True),
        sa.Column("channel", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("at", bot.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_dead_letters_network_id_networks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("platform", "event_id", name=op.f("uq_dead_letters_platform_event_id")),
    )
    op.create_index("ix_dead_letters_network_at", "dead_letters", ["network_id", "at"])
    op.create_table(
        "message_contents",
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("channel_key", sa.String(length=100), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("choices_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["ritual_id"], ["rituals.id"],
                                name=op.f("fk_message_contents_ritual_id_rituals")),
        sa.PrimaryKeyConstraint("ritual_id", "ref", "channel_key", name=op.f("pk_message_contents")),
    )


def downgrade() -> None:
    op.drop_table("message_contents")
    op.drop_index("ix_dead_letters_network_at", table_name="dead_letters")
    op.drop_table("dead_letters")
