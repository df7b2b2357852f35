"""A transaction on the SQL store and its repositories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.repositories.answers import SqlAnswers
from bot.store.repositories.forget import SqlForgetting
from bot.store.repositories.journal import SqlJournal, SqlSettings
from bot.store.repositories.mandates import SqlMandates
from bot.store.repositories.messages import SqlInbound, SqlRefs
from bot.store.repositories.outbox import SqlOutbox
from bot.store.repositories.people import SqlNetworks, SqlPeople
from bot.store.repositories.register import SqlRegister
from bot.store.repositories.rituals import SqlRituals, SqlTimers
from bot.store.repositories.sql import is_postgres


class SqlUnit:
    """`bot.store.ports.Unit` on one SQLAlchemy connection inside a transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.networks = SqlNetworks(conn)
        self.people = SqlPeople(conn)
        self.rituals = SqlRituals(conn)
        self.timers = SqlTimers(conn)
        self.refs = SqlRefs(conn)
        self.inbound = SqlInbound(conn)
        self.outbox = SqlOutbox(conn)
        self.journal = SqlJournal(conn)
        self.settings = SqlSettings(conn)
        self.register = SqlRegister(conn)
        self.answers = SqlAnswers(conn)
        self.mandates = SqlMandates(conn)
        self.forgetting = SqlForgetting(conn)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        async with self.conn.begin_nested():
            yield

    async def probe(self) -> None:
        await self.conn.execute(text("SELECT 1"))

    async def serialize(self, name: str) -> None:
        if is_postgres(self.conn):
            await self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
