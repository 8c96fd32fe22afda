"""What a reader can do: search, page through lists, open a text. One method per thing they do.

This is where the rules about readers live, so that the handlers only render: hidden texts are never
shown to them, every new search is logged, and search queries are saved under a short id for the paging
buttons (Telegram's callback data is at most 64 bytes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.search import SearchResult, SearchService, similar_documents
from bot.summaries import DocumentSummary, SummaryService
from bot.text.summarize import OverviewItem
from storage.db import StorageWriteError
from storage.interfaces import DocumentStore, QueryStore
from storage.models import Document

log = logging.getLogger(__name__)

PAGE_SIZE = 5
LATEST_PAGES = 10  # the latest list stops there: older texts are for search
LINE_CHARS = 220  # the summary line of a text in a list
OVERVIEW_ITEMS = 8


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


@dataclass(frozen=True)
class SearchPage:
    result: SearchResult
    page: int
    query_id: int | None  # the saved query the paging buttons refer to; None when nothing was found


@dataclass(frozen=True)
class Listing:
    """A page of a list of texts, each with its summary line."""

    items: list[DocumentSummary]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return pages(self.total)

    @property
    def first_number(self) -> int:
        return self.page * PAGE_SIZE + 1


@dataclass(frozen=True)
class Similar:
    document: Document
    listing: Listing


@dataclass(frozen=True)
class Card:
    document: Document
    summary: list[str]
    story_size: int  # how many outlets' reports of the same story there are, this one included


@dataclass(frozen=True)
class InlinePage:
    items: list[DocumentSummary]
    has_more: bool


class ReaderService:
    def __init__(
        self,
        search: SearchService,
        summaries: SummaryService,
        documents: DocumentStore,
        queries: QueryStore,
    ) -> None:
        self._search = search
        self._summaries = summaries
        self._documents = documents
        self._queries = queries

    async def search_page(
        self, user_id: int | None, query: str, page: int = 0, language: str | None = None
    ) -> SearchPage:
        """A typed search: logged, and saved for the paging buttons when it found something. `language` is
        the reader's interface language: among texts of equal relevance, theirs come first."""
        page = max(0, page)
        result = await self._search.search(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE, language=language)
        if page == 0:
            await self._log(user_id, query, result.total, "chat")
        return SearchPage(result, page, await self._saved_id(user_id, query, result))

    async def saved_search_page(
        self, user_id: int, query_id: int, page: int, language: str | None = None
    ) -> SearchPage | None:
        """Another page of an earlier search (not logged again); None when the saved query is gone or is
        another user's."""
        query = await self._queries.get(query_id, user_id)
        if query is None:
            return None
        page = max(0, page)
        result = await self._search.search(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE, language=language)
        return SearchPage(result, page, await self._saved_id(user_id, query, result))

    async def _saved_id(self, user_id: int | None, query: str, result: SearchResult) -> int | None:
        """A saved query belongs to its user: another user's paging button finds nothing. With the disk full
        the results are still shown, only without paging buttons."""
        if not result.hits or user_id is None:
            return None
        try:
            return await self._queries.save(user_id, query)
        except StorageWriteError as exc:
            log.warning("search query not saved for paging (%s)", exc.reason)
            return None

    async def _log(self, user_id: int | None, query: str, results: int, via: str) -> None:
        """Searches are logged for /stats; reading needs no space, so a full disk loses the entry only."""
        try:
            await self._queries.log(user_id, query, results, via)
        except StorageWriteError as exc:
            log.warning("search not logged (%s)", exc.reason)

    async def latest(self, page: int = 0) -> Listing:
        page = max(0, page)
        total = min(await self._documents.count(), PAGE_SIZE * LATEST_PAGES)
        docs = await self._documents.latest(limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        return Listing(self._lines(docs), page, total)

    async def similar(self, doc_id: int, page: int = 0) -> Similar | None:
        """Texts like the given one (None when it is gone or hidden), a page at a time."""
        doc = await self.document(doc_id)
        if doc is None:
            return None
        page = max(0, page)
        found = await similar_documents(self._search, doc)
        chunk = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        return Similar(doc, Listing(self._lines(chunk), page, len(found)))

    async def card(self, doc_id: int) -> Card | None:
        doc = await self.document(doc_id)
        if doc is None:
            return None
        story = await self._documents.story_members(doc.story_id or doc.id)
        return Card(doc, self._summaries.summarize_document(doc), len(story))

    async def document(self, doc_id: int) -> Document | None:
        """The text, unless it is gone or an admin hid it."""
        doc = await self._documents.get(doc_id)
        return None if doc is None or doc.hidden else doc

    async def overview(self) -> list[OverviewItem]:
        return await self._summaries.latest_overview(OVERVIEW_ITEMS)

    async def inline_page(self, user_id: int, query: str, offset: int, limit: int) -> InlinePage:
        """Inline mode: matching texts (the first page of a search is logged), or the latest for no query."""
        text = query.strip()
        if text:
            result = await self._search.search(text, limit=limit, offset=offset)
            if offset == 0:
                await self._log(user_id, text, result.total, "inline")
            docs = [hit.document for hit in result.hits]
            more = result.has_next
        else:
            docs = await self._documents.latest(limit=limit, offset=offset)
            more = len(docs) == limit
        items = [
            DocumentSummary(d, self._summaries.summarize_document(d, sentences=2, max_chars=500))
            for d in docs
        ]
        return InlinePage(items, more)

    def _lines(self, docs: list[Document]) -> list[DocumentSummary]:
        return [
            DocumentSummary(d, self._summaries.summarize_document(d, sentences=1, max_chars=LINE_CHARS))
            for d in docs
        ]
