"""current answers indexed by ritual and person: the answers an event reads (a member's current
ones in a round) are found among the current answers, not among the whole history of changes

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_answers_current_person", "answers", ["ritual_id", "person_id"],
                    sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    op.drop_index("ix_answers_current_person", table_name="answers")
