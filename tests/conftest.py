from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.corpus.ingest import Corpus, TextInput
from bot.search import SearchService
from bot.text.morph import Morphology
from storage.db import Database
from tests.sources_server import sources_server
from tests.storage.services import on_postgres, postgres_backend, postgres_database

__all__ = ["postgres_database", "sources_server"]  # shared fixtures, for every test folder


@pytest.fixture(scope="session")
def morph() -> Morphology:
    return Morphology()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "test.db")
    await database.connect()
    yield database
    await database.close()


@pytest.fixture
async def corpus(db: Database, morph: Morphology, request: pytest.FixtureRequest) -> AsyncIterator[Corpus]:
    """On SQLite; on PostgreSQL with TEST_BACKEND=postgres (tests/storage/services.py)."""
    if not on_postgres():
        yield Corpus(db, morph, min_chars=20)
        return
    async with postgres_backend(request) as backend:
        yield Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)


@pytest.fixture
def search(corpus: Corpus) -> SearchService:
    return SearchService(corpus)


def text_input(text: str, **kw: str) -> TextInput:
    return TextInput(text=text, source=kw.pop("source", "test"), **kw)
