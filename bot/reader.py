"""What a reader can do: search, page through lists, open a text. One method per thing they do.

This is where the rules about readers live, so that the handlers only render: hidden texts are never
shown to them, every new search is logged (in batches, off the reply path: bot/search_log.py), and a search
that found something is saved under a short id for the paging buttons and the cards' way back to the list
(Telegram's callback data is at most 64 bytes).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.search import SearchResult, SearchService, similar_documents
from bot.search_log import SearchLog
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
SAVED_IDS_KEPT = 10_000


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


@dataclass(frozen=True)
class SearchPage:
    result: SearchResult
    page: int
    # The saved query the paging buttons and a card's way back refer to; None when nothing was found (or
    # the disk is full). Even a single page needs it: a card opened from the list replaces it.
    query_id: int | None


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
        search_log: SearchLog,
    ) -> None:
        self._search = search
        self._summaries = summaries
        self._documents = documents
        self._queries = queries
        self._search_log = search_log
        # (user, query) → saved id: a saved query keeps its id for good (one row per user and query), so a
        # search the person made before costs no write. Bounded; the oldest entries go first.
        self._saved: OrderedDict[tuple[int, str], int] = OrderedDict()
        # Called with where a new search was made ("chat", "inline") as it is logged (the metrics listen);
        # a listener must return at once.
        self.on_search: list[Callable[[str], None]] = []

    async def search_page(
        self, user_id: int | None, query: str, page: int = 0, language: str | None = None
    ) -> SearchPage:
        """A typed search: logged, and saved for the paging buttons when it found something. `language` is
        the reader's interface language: among texts of equal relevance, theirs come first."""
        page = max(0, page)
        result = await self._search.search(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE, language=language)
        if page == 0:
            self._log(user_id, query, result.total, "chat")
        return SearchPage(result, page, await self._saved_id(user_id, query) if result.hits else None)

    async def saved_search_page(
        self, user_id: int, query_id: int, page: int, language: str | None = None
    ) -> SearchPage | None:
        """Another page of an earlier search (not logged again); None when the saved query is gone or is
        another user's."""
        query = await self._queries.get(query_id, user_id)
        if query is None:
            self._forget_saved(query_id)
            return None
        page = max(0, page)
        result = await self._search.search(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE, language=language)
        return SearchPage(result, page, query_id)

    async def _saved_id(self, user_id: int | None, query: str) -> int | None:
        """A saved query belongs to its user: another user's paging button finds nothing. With the disk full
        the results are still shown, only without paging buttons."""
        if user_id is None:
            return None
        key = (user_id, query)
        known = self._saved.get(key)
        if known is not None:
            self._saved.move_to_end(key)
            return known
        try:
            saved = await self._queries.save(user_id, query)
        except StorageWriteError as exc:
            log.warning("search query not saved for paging (%s)", exc.reason)
            return None
        self._saved[key] = saved
        if len(self._saved) > SAVED_IDS_KEPT:
            self._saved.popitem(last=False)
        return saved

    def _forget_saved(self, query_id: int) -> None:
        """The row is gone (removed by hand): the next search must save it again, not reuse the old id."""
        for key in [k for k, v in self._saved.items() if v == query_id]:
            del self._saved[key]

    def _log(self, user_id: int | None, query: str, results: int, via: str) -> None:
        """Searches are logged for /stats; reading needs no space, so a full disk loses the entry only."""
        for listener in self.on_search:
            listener(via)
        self._search_log.add(user_id, query, results, via)

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
                self._log(user_id, text, result.total, "inline")
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
