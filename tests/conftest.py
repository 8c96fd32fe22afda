from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.corpus.ingest import Corpus, TextInput
from bot.search import SearchService
from bot.text.morph import Morphology
from storage.db import Database


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
async def corpus(db: Database, morph: Morphology) -> Corpus:
    return Corpus(db, morph, min_chars=20)


@pytest.fixture
def search(corpus: Corpus) -> SearchService:
    return SearchService(corpus)


def text_input(text: str, **kw: str) -> TextInput:
    return TextInput(text=text, source=kw.pop("source", "test"), **kw)
