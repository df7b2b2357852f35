"""Alembic environment: runs migrations on the connection the bot hands over (sync side of an async engine)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    # Command-line use (autogenerate while developing): a sync URL in sqlalchemy.url.
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
