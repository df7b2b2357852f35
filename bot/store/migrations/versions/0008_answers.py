"""answers as rows: one row per member's answer (consent choices, RSVPs, attendance,
nominations, draw contributions and acceptances), the previous one kept when it changes;
every ritual's answers carried out of its state, which keeps only its counts

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.store.schema
from bot.store.answers_backfill import CONVERTERS, Row

CLOSING = frozenset({"adopted", "objections", "no_quorum"})
"""The outcomes a round's deadline gives (its closing record counts its circle)."""

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
    _carry_answers_out()


def _carry_answers_out() -> None:
    """Every ritual's answers, from its state to rows; the state slimmed to its counts."""
    utc = bot.store.schema.UTCDateTime
    conn = op.get_bind()
    rituals = sa.table("rituals", sa.column("id", sa.Integer()), sa.column("network_id", sa.Integer()),
                       sa.column("kind", sa.String()), sa.column("state", sa.JSON()),
                       sa.column("updated_at", utc()))
    persons = sa.table("persons", sa.column("id", sa.Integer()), sa.column("network_id", sa.Integer()),
                       sa.column("key", sa.String()), sa.column("name", sa.String()),
                       sa.column("merged_into", sa.Integer()))
    answers = sa.table("answers", *(sa.column(c) for c in (
        "network_id", "ritual_id", "topic", "part", "version", "person_id", "value", "reason", "subject_id")),
        sa.column("data", sa.JSON()), sa.column("at", utc()), sa.column("superseded_at", utc()))
    people = conn.execute(sa.select(persons.c.id, persons.c.network_id, persons.c.key, persons.c.name,
                                    persons.c.merged_into)).all()
    merged = {p.id: p.merged_into for p in people if p.merged_into is not None}

    def final(pid: int) -> int:
        for _ in range(len(merged)):  # bounded: a cycle would be a bug, not a hang
            if pid not in merged:
                break
            pid = merged[pid]
        return pid

    by_key = {(p.network_id, p.key): final(p.id) for p in people}
    names: dict[tuple[int, str], list[int]] = {}
    for p in people:
        if p.merged_into is None:
            names.setdefault((p.network_id, p.name), []).append(p.id)

    def person(network: int, key: str | None, name: str | None) -> int | None:
        if key is not None:
            return by_key.get((network, key))
        found = names.get((network, name or ""), [])
        return found[0] if len(found) == 1 else None

    # How many counted for each round when it closed, as its closing record said.
    log = sa.table("log", sa.column("id", sa.Integer()), sa.column("ritual_id", sa.Integer()),
                   sa.column("kind", sa.String()), sa.column("summary", sa.JSON()))
    circles: dict[int, int] = {}
    for ritual_id, summary in conn.execute(sa.select(log.c.ritual_id, log.c.summary).where(
            log.c.kind == "decision").order_by(log.c.id)).all():
        if isinstance(summary, dict) and summary.get("outcome") in CLOSING \
                and isinstance(summary.get("circle_size"), int):
            circles[ritual_id] = summary["circle_size"]

    for r in conn.execute(sa.select(rituals).order_by(rituals.c.id)).all():
        convert = CONVERTERS.get(r.kind)
        if convert is None or not isinstance(r.state, dict):
            continue
        state, rows = convert(r.state, r.updated_at, circles.get(r.id))
        values: list[dict[str, Any]] = [_values(r.network_id, r.id, row, person) for row in rows]
        if values:
            conn.execute(answers.insert(), values)
        if state != r.state:
            conn.execute(rituals.update().where(rituals.c.id == r.id).values(state=state))


def _values(network: int, ritual: int, row: Row, person: Any) -> dict[str, Any]:
    return {"network_id": network, "ritual_id": ritual, "topic": row.topic, "part": row.part, "version": row.version,
            "person_id": person(network, row.member, row.name) if (row.member or row.name) else None,
            "value": row.value, "reason": row.reason,
            "subject_id": person(network, row.subject, None) if row.subject else None,
            "data": dict(row.data), "at": row.at, "superseded_at": row.superseded_at}


def downgrade() -> None:
    op.drop_index("ix_answers_person_id", table_name="answers")
    op.drop_index("ix_answers_ritual_person", table_name="answers")
    op.drop_index("uq_answers_current", table_name="answers")
    op.drop_table("answers")
