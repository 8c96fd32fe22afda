"""Named leases on PostgreSQL: a session advisory lock, held on a connection of its own (not the pool's)
for as long as the holder keeps it. PostgreSQL releases it when that connection ends, however the process
ends, so a standby's next try after the holder dies succeeds at once. The `leases` table only records who
holds it, for `holder()`."""

from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import datetime, timedelta

import asyncpg

from storage.postgres.db import Connection, PostgresDatabase

__all__ = ["AdvisoryLeases"]

log = logging.getLogger(__name__)

# The first half of every lease's advisory key (the second is the lease's name in this schema).
LEASE_SPACE = 0x616C6C65  # "alle"


class AdvisoryLeases:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        self._held: dict[str, tuple[str, asyncpg.Connection]] = {}  # name -> (holder, its connection)
        self._lock = asyncio.Lock()

    async def _key(self, conn: asyncpg.Connection | Connection, name: str) -> int:
        # Per schema: the tests run many databases-in-a-schema side by side on one server.
        schema = await conn.fetchval("SELECT current_schema()")
        return zlib.crc32(f"{schema}:{name}".encode()) & 0x7FFFFFFF

    async def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        async with self._lock:
            held = self._held.get(name)
            if held is not None:
                if held[0] != holder:
                    return False
                try:
                    await held[1].fetchval("SELECT 1")
                    return True
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    # The connection is gone, and the lock with it: someone else may hold it by now.
                    log.warning("lost the connection holding lease %s", name)
                    self._held.pop(name, None)
                    await _close_quietly(held[1])
                    return False
            conn = await asyncpg.connect(self.db.dsn)
            try:
                key = await self._key(conn, name)
                if not await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1::int4, $2::int4)", LEASE_SPACE, key
                ):
                    await conn.close()
                    return False
                await conn.execute(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, 'infinity') "
                    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder",
                    name,
                    holder,
                )
            except BaseException:
                await _close_quietly(conn)
                raise
            self._held[name] = (holder, conn)
            return True

    async def release(self, name: str, holder: str) -> None:
        async with self._lock:
            held = self._held.get(name)
            if held is None or held[0] != holder:
                return
            del self._held[name]
            await _close_quietly(held[1])  # ends the session: the lock goes with it

    async def holder(self, name: str, now: datetime) -> str | None:
        async with self.db.pool.acquire() as conn:
            key = await self._key(conn, name)
            return await conn.fetchval(  # type: ignore[no-any-return]
                "SELECT l.holder FROM leases l WHERE l.name = $1 AND EXISTS (SELECT 1 FROM pg_locks p "
                "WHERE p.locktype = 'advisory' AND p.granted AND p.classid = $2::int8::oid "
                "AND p.objid = $3::int8::oid AND p.objsubid = 2 "
                "AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
                name,
                LEASE_SPACE,
                key,
            )

    async def close(self) -> None:
        async with self._lock:
            held, self._held = self._held, {}
            for _, conn in held.values():
                await _close_quietly(conn)


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()
