"""The cache of recent searches never shows what the corpus no longer says, and counts above the ranking
window are told as a lower bound ("500+"), never as an exact figure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.admin.audit import AuditLog
from bot.admin.documents import DocumentService
from bot.corpus.ingest import Corpus
from bot.search import SEARCH_CACHE_CHECK_SECONDS, SEARCH_CACHE_SECONDS, SearchService
from storage.audit import AuditRepository
from storage.db import Database
from storage.models import Document
from storage.users import QueryRepository, UserRepository
from tests.conftest import text_input
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE

ADMIN = 42


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


@pytest.fixture
def documents(corpus: Corpus, search: SearchService) -> DocumentService:
    db = corpus.db
    if not isinstance(db, Database):
        # TEST_BACKEND=postgres gives only a corpus; the admin services need every repository of one backend.
        pytest.skip(
            "builds the admin services from SQLite repositories (TEST_BACKEND=postgres gives a corpus)"
        )
    audit = AuditRepository(db)
    return DocumentService(
        db,
        corpus,
        corpus.repo,
        search,
        AuditLog(audit, UserRepository(db)),
        audit,
        QueryRepository(db),
        10,
        WallClock(),
    )


async def _add(corpus: Corpus, text: str, source: str) -> int:
    result = await corpus.ingest(text_input(text, source=source))
    assert result.id is not None, result
    return result.id


def _ids(result: object) -> list[int]:
    return [h.document.id for h in result.hits]  # type: ignore[attr-defined]


async def test_a_repeated_search_is_answered_from_the_cache(corpus: Corpus, search: SearchService) -> None:
    await _add(corpus, AIRPORT, "airport")
    first = await search.search("аэропорт")
    assert first.hits
    assert await search.search("аэропорт") is first
    # Another page, size or interface language is another result.
    assert await search.search("аэропорт", language="en") is not first


async def test_a_hidden_text_leaves_a_cached_search_at_once(
    corpus: Corpus, search: SearchService, documents: DocumentService
) -> None:
    airport = await _add(corpus, AIRPORT, "airport")
    assert airport in _ids(await search.search("аэропорт"))
    await documents.set_hidden(ADMIN, airport, True)
    assert airport not in _ids(await search.search("аэропорт"))
    await documents.set_hidden(ADMIN, airport, False)
    assert airport in _ids(await search.search("аэропорт"))


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_text_hidden_or_edited_by_another_process_leaves_the_cache_within_a_second(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (a second web worker without Redis) writes to the same database without moving this
    process's generation: a remembered result's texts are read back at most once a second (not once per
    search), and a result whose texts changed is not shown again."""
    ticks = Ticks()
    search = SearchService(corpus, clock=ticks)
    airport = await _add(corpus, AIRPORT, "airport")
    first = await search.search("аэропорт")
    assert airport in _ids(first)
    generation = corpus.generation
    reads: list[list[int]] = []
    get_many = corpus.repo.get_many

    async def counted(ids: list[int]) -> list[Document]:
        reads.append(list(ids))
        return await get_many(ids)

    monkeypatch.setattr(corpus.repo, "get_many", counted)
    assert await corpus.repo.update_meta(airport, title="Заголовок из другого процесса")
    ticks.now += SEARCH_CACHE_CHECK_SECONDS / 2
    assert await search.search("аэропорт") is first, "checked less than a second ago: no read"
    assert reads == []
    ticks.now += SEARCH_CACHE_CHECK_SECONDS
    assert (await search.search("аэропорт")).hits[0].document.title == "Заголовок из другого процесса"
    assert reads, "its texts were read back"
    ticks.now += SEARCH_CACHE_CHECK_SECONDS / 2
    reads.clear()
    again = await search.search("аэропорт")
    assert reads == [] and again.hits[0].document.title == "Заголовок из другого процесса"
    assert await corpus.repo.set_hidden(airport, True, "", "")
    assert corpus.generation == generation, "nothing in this process knew of the writes"
    ticks.now += SEARCH_CACHE_CHECK_SECONDS
    assert airport not in _ids(await search.search("аэропорт"))


async def test_a_cached_result_is_forgotten_after_a_minute(corpus: Corpus) -> None:
    """A text that another process added is found within SEARCH_CACHE_SECONDS even if nobody told this one."""
    ticks = Ticks()
    search = SearchService(corpus, clock=ticks)
    await _add(corpus, AIRPORT, "airport")
    first = await search.search("аэропорт")
    for _ in range(int(SEARCH_CACHE_SECONDS / SEARCH_CACHE_CHECK_SECONDS) - 1):
        ticks.now += SEARCH_CACHE_CHECK_SECONDS
        assert await search.search("аэропорт") is first
    ticks.now += 2 * SEARCH_CACHE_CHECK_SECONDS
    assert await search.search("аэропорт") is not first


async def test_a_deleted_text_leaves_a_cached_search_and_undo_brings_it_back(
    corpus: Corpus, search: SearchService, documents: DocumentService
) -> None:
    airport = await _add(corpus, AIRPORT, "airport")
    assert airport in _ids(await search.search("аэропорт"))
    await documents.delete(ADMIN, airport)
    assert (await search.search("аэропорт")).hits == []
    restored = await documents.undo_delete(ADMIN, airport)
    assert restored.id in _ids(await search.search("аэропорт"))


async def test_edits_show_in_a_cached_search_at_once(
    corpus: Corpus, search: SearchService, documents: DocumentService
) -> None:
    airport = await _add(corpus, AIRPORT, "airport")
    before = await search.search("аэропорт")
    assert before.hits[0].document.title != "Новый терминал"
    await documents.edit_title(ADMIN, airport, "Новый терминал")
    assert (await search.search("аэропорт")).hits[0].document.title == "Новый терминал"
    await documents.edit_date(ADMIN, airport, "2026-03-01")
    assert (await search.search("аэропорт")).hits[0].document.published.isoformat() == "2026-03-01"  # type: ignore[union-attr]
    await documents.edit_source(ADMIN, airport, "Kursiv https://kursiv.media/a")
    hit = (await search.search("аэропорт")).hits[0].document
    assert (hit.source_name, hit.url) == ("Kursiv", "https://kursiv.media/a")
    # The new title is searchable too.
    assert airport in _ids(await search.search("терминал"))


async def test_a_new_text_is_found_at_once(corpus: Corpus, search: SearchService) -> None:
    await _add(corpus, DECREE, "decree")
    assert (await search.search("песочница")).hits == []
    crypto = await _add(corpus, CRYPTO, "crypto")
    assert _ids(await search.search("песочница")) == [crypto]


async def test_a_search_during_an_upload_is_not_kept_stale(corpus: Corpus, search: SearchService) -> None:
    """A search that ran while texts were being saved may have seen them half-way: it is not reused."""
    await _add(corpus, DECREE, "decree")
    texts = [text_input(t, source=s) for t, s in ((CRYPTO, "crypto"), (AIRPORT, "airport"), (COUNCIL, "c"))]

    async def upload() -> None:
        async for _ in corpus.ingest_many(texts):
            pass

    await asyncio.gather(upload(), *(search.search("песочница") for _ in range(5)))
    found = await search.search("песочница")
    assert len(found.hits) == 1
    assert found.hits[0].document.title  # a stored text, read after the upload ended


_SHORT = [
    f"Строительство аэропорта в городе Алатау: этап {n}. Подрядчик {name} сообщил о сроках работ."
    for n, name in enumerate(("Касымов", "Беков", "Нуров", "Сапаров", "Ермеков", "Жанов"), start=1)
]


async def _all_pages(search: SearchService, query: str) -> list[int]:
    seen: list[int] = []
    offset = 0
    while True:
        page = await search.search(query, limit=1, offset=offset)
        seen += _ids(page)
        if not page.has_next:
            return seen
        offset += 1


async def test_counts_above_the_ranking_window_are_a_lower_bound(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await _add(corpus, text, f"t{n}") for n, text in enumerate(_SHORT)]
    exact = await SearchService(corpus).search("аэропорт строительство", limit=1)
    assert (exact.total, exact.total_capped) == (len(ids), False)
    assert sorted(await _all_pages(SearchService(corpus), "аэропорт строительство")) == sorted(ids)

    monkeypatch.setattr("bot.search.RANK_WINDOW", 3)
    monkeypatch.setattr("bot.search.CANDIDATES", 2)
    search = SearchService(corpus)
    first = await search.search("аэропорт строительство", limit=1)
    # More texts match than were ranked: the count says "at least 3", never an invented exact figure.
    assert (first.total, first.total_capped) == (3, True)
    # Only the newest three are ranked; paging lists each of them once.
    seen = await _all_pages(search, "аэропорт строительство")
    assert sorted(seen) == sorted(ids[-3:])
