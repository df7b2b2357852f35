"""ritual origin: how a ritual came to be (command, config, implicit) is a column, not a key prefix

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rituals") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=10), nullable=False, server_default="command"))
    op.execute("UPDATE rituals SET origin = 'config' WHERE key LIKE 'cfg:%'")
    op.execute("UPDATE rituals SET origin = 'implicit' WHERE key LIKE 'auto:%'")


def downgrade() -> None:
    with op.batch_alter_table("rituals") as batch:
        batch.drop_column("origin")
