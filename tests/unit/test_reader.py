"""The reader service's rules (what a reader may see, what is logged) and the user service's registration."""

from __future__ import annotations

import pytest

from bot.clock import SystemClock
from bot.corpus.ingest import Corpus
from bot.reader import LATEST_PAGES, PAGE_SIZE, ReaderService
from bot.search import SearchService
from bot.search_log import SearchLog
from bot.summaries import SummaryService
from bot.users import UserService
from storage.db import Database
from storage.users import QueryRepository, UserRepository
from tests.conftest import text_input
from tests.corpus_texts import AIRPORT, ALL


def _news(i: int) -> str:
    return (
        f"date 2025-10-{i % 28 + 1:02d}\nНовость номер {i} о развитии Алатау\n"
        f"В Алатау обсудили проект номер {i}. Власти города рассказали о строительстве и инвестициях."
    )


@pytest.fixture
async def ids(corpus: Corpus) -> list[int]:
    out = []
    for text in ALL:
        result = await corpus.ingest(text_input(text))
        assert result.id is not None, result
        out.append(result.id)
    return out


@pytest.fixture
def search_log(db: Database) -> SearchLog:
    return SearchLog(QueryRepository(db), SystemClock())


@pytest.fixture
def reader(db: Database, corpus: Corpus, search: SearchService, search_log: SearchLog) -> ReaderService:
    return ReaderService(search, SummaryService(corpus), corpus.repo, QueryRepository(db), search_log)


async def _logged(db: Database, search_log: SearchLog) -> list[tuple[object, ...]]:
    await search_log.flush()
    return [
        tuple(row) for row in await db.fetchall("SELECT user_id, query, via FROM search_log ORDER BY rowid")
    ]


async def test_a_search_is_logged_once_and_saved_for_paging(
    db: Database, reader: ReaderService, search_log: SearchLog, ids: list[int]
) -> None:
    first = await reader.search_page(7, "Алатау")
    assert first.result.hits
    assert first.query_id is not None
    # Another reader's button cannot page it.
    assert await reader.saved_search_page(8, first.query_id, 1) is None
    second = await reader.saved_search_page(7, first.query_id, 1)
    assert second is not None and second.page == 1
    assert {h.document.id for h in second.result.hits}.isdisjoint({h.document.id for h in first.result.hits})
    # Paging (even back to the first page) is not another search.
    again = await reader.saved_search_page(7, first.query_id, 0)
    assert again is not None and again.result.hits == first.result.hits
    assert await _logged(db, search_log) == [(7, "Алатау", "chat")]


async def test_nothing_found_is_logged_but_not_saved(
    db: Database, reader: ReaderService, search_log: SearchLog, ids: list[int]
) -> None:
    found = await reader.search_page(7, "zzzqqq")
    assert found.result.hits == []
    assert found.query_id is None
    assert await _logged(db, search_log) == [(7, "zzzqqq", "chat")]
    assert await reader.saved_search_page(7, 987654, 0) is None


async def test_a_repeated_search_reuses_its_saved_id_until_the_row_is_gone(
    db: Database, reader: ReaderService, ids: list[int]
) -> None:
    first = await reader.search_page(7, "Алатау")
    again = await reader.search_page(7, "Алатау")
    assert first.query_id is not None and again.query_id == first.query_id
    assert await db.int_scalar("SELECT count(*) FROM saved_queries") == 1
    await db.execute("DELETE FROM saved_queries")
    assert await reader.saved_search_page(7, first.query_id, 1) is None
    fresh = await reader.search_page(7, "Алатау")
    assert fresh.query_id is not None and fresh.query_id != first.query_id
    assert await reader.saved_search_page(7, fresh.query_id, 1) is not None


async def test_hidden_texts_are_not_shown_to_readers(
    corpus: Corpus, reader: ReaderService, ids: list[int]
) -> None:
    doc_id = ids[ALL.index(AIRPORT)]
    card = await reader.card(doc_id)
    assert card is not None and card.document.id == doc_id and card.summary
    assert await corpus.repo.set_hidden(doc_id, True, "", "")
    assert await reader.card(doc_id) is None
    assert await reader.document(doc_id) is None
    assert await reader.similar(doc_id) is None
    latest = await reader.latest()
    assert doc_id not in {item.document.id for item in latest.items}
    assert await reader.card(999_999) is None


async def test_the_latest_list_is_paged_and_capped(corpus: Corpus, reader: ReaderService) -> None:
    for i in range(PAGE_SIZE * LATEST_PAGES + 3):
        assert (await corpus.ingest(text_input(_news(i)))).id is not None
    first = await reader.latest()
    assert len(first.items) == PAGE_SIZE
    assert all(item.sentences for item in first.items)
    assert first.total == PAGE_SIZE * LATEST_PAGES
    assert first.pages == LATEST_PAGES
    second = await reader.latest(1)
    assert second.first_number == PAGE_SIZE + 1
    assert {i.document.id for i in second.items}.isdisjoint({i.document.id for i in first.items})


async def test_inline_logs_the_first_page_and_shows_the_latest_for_no_query(
    db: Database, reader: ReaderService, search_log: SearchLog, ids: list[int]
) -> None:
    page = await reader.inline_page(9, " Алатау ", 0, 2)
    assert len(page.items) == 2 and page.has_more
    more = await reader.inline_page(9, "Алатау", 2, 2)
    assert more.items
    latest = await reader.inline_page(9, "", 0, 50)
    assert {i.document.id for i in latest.items} == set(ids)
    assert not latest.has_more
    assert await _logged(db, search_log) == [(9, "Алатау", "inline")]


async def test_a_person_is_registered_on_first_contact_and_keeps_their_language(db: Database) -> None:
    users = UserService(UserRepository(db))
    # Reading the language registers nobody: that is what `seen` is for.
    assert await users.language(5) is None
    assert await db.int_scalar("SELECT count(*) FROM users") == 0
    await users.seen(5, "Айгерим", "aigerim")
    await users.seen(5, "Айгерим", "aigerim")
    assert [tuple(r) for r in await db.fetchall("SELECT user_id, first_name FROM users")] == [(5, "Айгерим")]
    await users.set_language(5, "kk")
    assert await users.language(5) == "kk"
    # A new process (a new service) reads the stored choice.
    assert await UserService(UserRepository(db)).language(5) == "kk"
