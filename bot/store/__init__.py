"""The durable store: an async SQLAlchemy engine on SQLite (WAL, the default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Interval, case, event, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store import schema
from bot.store.migrate import upgrade
from bot.store.repositories import SqlUnit
from bot.store.sqlite_driver import one_hop_dbapi


class Store:
    """Owns the database engine; every write of the bot goes through `transaction()`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._kept: AsyncConnection | None = None
        """The connection `writing` keeps between its transactions."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection: on SQLite it starts a deferred transaction, so reading never
        takes the write lock (WAL readers see the last commit and block nobody)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(maillage_readonly=True)
            yield conn

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        """A write transaction and its repositories (`bot.store.ports.Unit`)."""
        async with self.transaction() as conn:
            yield SqlUnit(conn)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlUnit]:
        """A write transaction for the engine's writer, which never runs two at once: on a
        connection kept between its transactions, not taken from the pool and given back each
        time (a quarter of what an empty transaction costs in processor time). A connection
        that failed is closed and the next transaction opens another (the pool's ping does
        the same for the others)."""
        conn = self._kept
        if conn is None or conn.closed or conn.invalidated:
            conn = self._kept = await self.engine.connect()
        try:
            async with conn.begin():
                yield SqlUnit(conn)
        except BaseException:
            if conn.invalidated:
                self._kept = None
                await conn.close()
            raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlUnit]:
        """The repositories on a read-only connection."""
        async with self.read() as conn:
            yield SqlUnit(conn)

    async def migrate(self) -> None:
        await upgrade(self.engine)

    async def reconnect(self) -> None:
        """Close every connection, the writer's kept one too: the next transactions open new
        ones (a connection's settings are made when it opens)."""
        if self._kept is not None:
            kept, self._kept = self._kept, None
            await kept.close()
        await self.engine.dispose()

    async def close(self) -> None:
        await self.reconnect()

    def kv(self) -> StoreKeyValue:
        return StoreKeyValue(self)

    def leases(self) -> StoreLeases:
        return StoreLeases(self)


class StoreLeases:
    """`bot.adapter.Leases` on the `leases` table: a named job held by one process at a time.

    Taking and renewing are one atomic upsert: the row changes hands only when its holder
    renews it or when it has expired. On PostgreSQL the database's clock decides expiry, so
    processes on different machines need not agree on the time; SQLite is one machine."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _now(self) -> Any:
        if self.store.is_postgres:
            # clock_timestamp(), not now(): the latter is frozen at the transaction's start.
            return func.timezone("UTC", func.clock_timestamp())
        return datetime.now(UTC)

    async def hold(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease or renew it for `ttl` seconds; False while another process holds it."""
        table = schema.leases
        now = self._now()
        expires = now + (literal(timedelta(seconds=ttl), Interval()) if self.store.is_postgres
                         else timedelta(seconds=ttl))
        ins = (pg_insert if self.store.is_postgres else sqlite_insert)(table)
        stmt = ins.values(name=name, holder=holder, acquired_at=now, expires_at=expires)
        upsert = stmt.on_conflict_do_update(
            index_elements=[table.c.name],
            set_={
                "holder": stmt.excluded.holder,
                "expires_at": stmt.excluded.expires_at,
                # A renewal keeps the time the lease was taken; a takeover restarts it.
                "acquired_at": case((table.c.holder == stmt.excluded.holder, table.c.acquired_at),
                                    else_=stmt.excluded.acquired_at),
            },
            where=(table.c.holder == stmt.excluded.holder) | (table.c.expires_at < stmt.excluded.acquired_at),
        ).returning(table.c.holder)
        async with self.store.transaction() as conn:
            row = (await conn.execute(upsert)).first()
        return row is not None and row[0] == holder

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), so another process need not wait for it
        to expire."""
        async with self.store.transaction() as conn:
            await conn.execute(schema.leases.delete().where(
                schema.leases.c.name == name, schema.leases.c.holder == holder))

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the lease and until when (tests and operators read it)."""
        async with self.store.read() as conn:
            row = (await conn.execute(select(schema.leases.c.holder, schema.leases.c.expires_at)
                                      .where(schema.leases.c.name == name))).first()
        return None if row is None else (row[0], row[1])


class StoreKeyValue:
    """`bot.adapter.KeyValue` on the `kv` table: adapters' durable state."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, namespace: str, key: str) -> Any | None:
        async with self.store.read() as conn:
            row = (
                await conn.execute(
                    select(schema.kv.c.value).where(
                        schema.kv.c.namespace == namespace, schema.kv.c.key == key
                    )
                )
            ).first()
        return None if row is None else row[0]

    async def put(self, namespace: str, key: str, value: Any) -> None:
        now = datetime.now(UTC)
        async with self.store.transaction() as conn:
            updated = await conn.execute(
                schema.kv.update()
                .where(schema.kv.c.namespace == namespace, schema.kv.c.key == key)
                .values(value=value, updated_at=now)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    schema.kv.insert().values(namespace=namespace, key=key, value=value, updated_at=now)
                )


def _sqlite_setup(engine: AsyncEngine, synchronous: str) -> None:
    # The driver's own transaction handling is turned off so that every transaction starts
    # with BEGIN IMMEDIATE: the write lock is taken up front, so two writers never deadlock
    # upgrading a read lock (SQLITE_BUSY mid-transaction).
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: SyncConnection) -> None:
        readonly = conn.get_execution_options().get("maillage_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def create_engine_for(url: str, synchronous: str = "FULL", pool_size: int = 5) -> AsyncEngine:
    """An async engine with the settings the bot relies on. SQLite: WAL, synchronous=FULL by
    default (a committed vote survives a power cut, not only a crash)."""
    if url.startswith("sqlite"):
        module = one_hop_dbapi() if url.startswith("sqlite+aiosqlite") else None
        engine = create_async_engine(url, module=module) if module is not None else create_async_engine(url)
        _sqlite_setup(engine, synchronous)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


async def open_store(url: str, migrate: bool = True, synchronous: str = "FULL") -> Store:
    store = Store(create_engine_for(url, synchronous))
    if migrate:
        await store.migrate()
    return store
