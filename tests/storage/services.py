"""PostgreSQL for the tests: one database per run on the server of TEST_DATABASE_URL, a schema per test.

`postgres_database` is a session fixture (imported by tests/conftest.py, so every test folder has it);
without a reachable server it skips with the reason — or fails, with REQUIRE_SERVICES=1 (CI).
`TEST_BACKEND=postgres` runs the corpus and search unit tests on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from storage.backend import Backend, open_backend
from storage.postgres.scratch import (
    create_database,
    drop_database,
    reachable,
    scratch_schema,
    server_url_for_tests,
)

T = TypeVar("T")


def _apart(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on an event loop of its own (a session fixture may be set up while a test's loop runs)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def on_postgres() -> bool:
    return os.environ.get("TEST_BACKEND", "sqlite") == "postgres"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One database for the whole run, dropped at the end; each test works in a schema of its own in it
    (much cheaper than a database per test)."""
    server = server_url_for_tests()
    why = _apart(reachable(server))
    if why is not None:
        message = f"PostgreSQL at TEST_DATABASE_URL ({server}) is unreachable: {why}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (REQUIRE_SERVICES=1)")
        pytest.skip(message)
    url = _apart(create_database(server))
    try:
        yield url
    finally:
        _apart(drop_database(server, url))


@asynccontextmanager
async def postgres_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """A backend on a fresh schema of the run's database, closed and dropped on leaving."""
    async with scratch_schema(request.getfixturevalue("postgres_database")) as url:
        opened = await open_backend(url)
        try:
            yield opened
        finally:
            # A test that timed out may leave a connection busy: closing must not hang the run.
            await asyncio.wait_for(opened.close(), timeout=10)
