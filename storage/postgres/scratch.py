"""Throw-away databases on a PostgreSQL server, for the contract tests and the benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_TEST_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url_for_tests() -> str:
    """The server the tests use: TEST_DATABASE_URL, else the local one every machine has."""
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_URL


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def reachable(url: str, seconds: float = 3.0) -> str | None:
    """None when a connection to `url` works, else why not (one line)."""
    try:
        conn = await asyncpg.connect(url, timeout=seconds)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def create_database(server_url: str, prefix: str = "alatau_test") -> str:
    """A new empty database on the server of `server_url` (with pg_trgm when available); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    conn = await asyncpg.connect(url)
    try:
        # In `public`, once: schemas made in it then share it, and dropping one does not drop it.
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except asyncpg.PostgresError:
        pass
    finally:
        await conn.close()
    return url


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database of `url` (made by create_database), connecting through `server_url`."""
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def scratch_schema(database_url: str) -> AsyncIterator[str]:
    """A new empty schema in the database of `database_url`, dropped on leaving; yields a URL whose
    connections work in it (`search_path`: the schema, then public for the extensions)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{database_url}{'&' if '?' in database_url else '?'}search_path={name}%2Cpublic"
    finally:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await conn.close()


@asynccontextmanager
async def scratch_database(server_url: str, prefix: str = "alatau_test") -> AsyncIterator[str]:
    """A new empty database on the server of `server_url`, dropped on leaving; yields its URL."""
    url = await create_database(server_url, prefix)
    try:
        yield url
    finally:
        await drop_database(server_url, url)
