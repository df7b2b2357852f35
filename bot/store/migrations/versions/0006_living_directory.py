"""living directory: where each profile value came from (config or chat), merged persons, the
profile invitation sent once; the organisation no longer copied among the attributes

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place; a batch copy of the table would
        # have to drop `persons`, which every account and channel member refers to.
        op.execute("ALTER TABLE persons ADD COLUMN merged_into INTEGER REFERENCES persons (id)")
    else:
        op.add_column("persons", sa.Column("merged_into", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_persons_merged_into_persons"), "persons", "persons", ["merged_into"], ["id"])
    op.add_column("persons", sa.Column("invited_at", bot.store.schema.UTCDateTime(), nullable=True))
    op.create_table(
        "person_sources",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("attribute", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("config_value", sa.Text(), nullable=True),
        sa.Column("changed_at", bot.store.schema.UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_person_sources_person_id_persons")),
        sa.ForeignKeyConstraint(["changed_by"], ["persons.id"], name=op.f("fk_person_sources_changed_by_persons")),
        sa.PrimaryKeyConstraint("person_id", "field", "attribute", name=op.f("pk_person_sources")),
    )
    # Earlier releases copied the organisation into the attributes; it is a field of its own
    # (draws read it from there), and a copy would keep the old value after a chat edit.
    persons = sa.table("persons", sa.column("id", sa.Integer()), sa.column("attributes", sa.JSON()))
    conn = op.get_bind()
    for pid, attributes in conn.execute(sa.select(persons.c.id, persons.c.attributes)).all():
        if isinstance(attributes, dict) and "organisation" in attributes:
            kept = {k: v for k, v in attributes.items() if k != "organisation"}
            conn.execute(persons.update().where(persons.c.id == pid).values(attributes=kept))


def downgrade() -> None:
    op.drop_table("person_sources")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_persons_merged_into_persons"), "persons", type_="foreignkey")
    # SQLite drops a column in place (3.35 and later) unless something refers to it.
    op.execute("ALTER TABLE persons DROP COLUMN invited_at")
    op.execute("ALTER TABLE persons DROP COLUMN merged_into")
