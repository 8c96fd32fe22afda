"""The storage contract: every backend runs the same tests through the `backend` fixture.

A backend is built from a location by `storage.backend.open_backend`. "sqlite" gets a file in the
test's folder; "postgres" a fresh schema, dropped after the test, of a database made for the run on the
server of TEST_DATABASE_URL (default: the local one, postgresql://postgres@127.0.0.1:5432/postgres).
Without a reachable server the postgres tests are skipped with the reason — or fail, with
REQUIRE_SERVICES=1 (CI, where the server must be there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from storage.backend import Backend, open_backend
from storage.models import NewDocument
from storage.postgres.scratch import scratch_schema
from tests.storage.services import postgres_backend, postgres_database

__all__ = ["postgres_database"]  # the session fixture, for the tests of this folder

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    """A fresh, empty schema of the run's database (not opened), dropped after the test."""
    async with scratch_schema(postgres_database) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        opened = await open_backend(f"sqlite:///{tmp_path / 'contract.db'}")
        try:
            yield opened
        finally:
            await opened.close()
        return
    async with postgres_backend(request) as opened:
        yield opened


def new_document(
    n: int,
    *,
    published: date | None = date(2026, 1, 10),
    title_terms: str = "",
    body_terms: str = "",
    words: tuple[str, ...] = (),
    story_keys: tuple[str, ...] = (),
    bands: tuple[int, ...] = (),
    minhash: bytes = b"",
    fingerprint: str = "{}",
    duplicate_of: int | None = None,
    story_id: int | None = None,
    lang: str = "ru",
    story_of: int | None = None,
    copy_of: int | None = None,
) -> NewDocument:
    """Document number `n`: its own text and hash; index terms as given (the domain computes them)."""
    return NewDocument(
        title=f"Заголовок {n}",
        text=f"Текст номер {n}.",
        url=f"https://example.kz/{n}",
        source_name="Пример",
        published=published,
        lang=lang,
        content_hash=f"hash-{n}",
        title_terms=title_terms or f"заголовок t{n}",
        body_terms=body_terms or f"текст номер n{n}",
        minhash=minhash or bytes([n % 256]) * 8,
        bands=bands or (n, n + 1000),
        fingerprint=fingerprint,
        words=words,
        story_keys=story_keys,
        duplicate_of=duplicate_of,
        story_id=story_id,
        story_of=story_of,
        copy_of=copy_of,
    )
