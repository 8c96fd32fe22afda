"""The admins' side of the corpus: uploads (a preview per text, or a bulk run with progress), managing the
stored texts (hide, delete with undo, edit), the audit log, and the figures and chart of /stats.

Nothing here knows Telegram: the handlers turn updates into these calls and `Problem`s into sentences.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from bot.app.settings import Settings
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.extract import ExtractFailure, RawItem, extract_bytes
from bot.corpus.ingest import (
    BATCH_SIZE,
    INTERNAL_ERROR,
    Corpus,
    IngestError,
    IngestResult,
    Prepared,
    Status,
    TextInput,
)
from bot.corpus.uploads import MB, extension, is_supported, limits_for, outlet, to_input
from bot.corpus.uploads import is_bulk as is_bulk_format
from bot.search import SearchService
from bot.text.morph import iter_tokens
from bot.text.normalize import find_url, normalize_text, parse_date
from bot.text.stories import features
from bot.text.summarize import summarize
from storage.audit import AuditEntry, AuditRepository
from storage.deliveries import DeliveryRepository
from storage.deliveries import State as DeliveryState
from storage.documents import RestoreConflict
from storage.models import CorpusStats, Document
from storage.pending import PendingRepository, PendingUpload
from storage.reports import ReportRepository
from storage.subscriptions import SubscriptionRepository
from storage.users import UserRepository

# Uploads with at least this many texts are analysed in a worker process (starting one takes a second).
POOL_THRESHOLD = 200

# A preview nobody pressed Save or Cancel on is forgotten after this long.
PENDING_TTL = timedelta(days=7)
MAX_TITLE_CHARS = 300
MAX_SOURCE_CHARS = 200
# The list of hidden documents searched by /docs (they are not in the full-text index).
HIDDEN_SCAN = 2000
# /docs with a query shows at most this many matches, newest first.
MAX_MATCHES = 100
CHART_WEEKS = 52
SEARCH_DAYS = 14


class Action(StrEnum):
    """What the audit log records."""

    ADD = "add"
    EDIT_TITLE = "edit_title"
    EDIT_DATE = "edit_date"
    EDIT_SOURCE = "edit_source"
    HIDE = "hide"
    SHOW = "show"
    DELETE = "delete"
    RESTORE = "restore"


# --- why an upload or an edit was refused --------------------------------------------------------------


class ProblemKind(StrEnum):
    DOWNLOAD_TOO_BIG = "download_too_big"
    UNKNOWN_FORMAT = "unknown_format"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    EMPTY = "empty"
    PDF_NO_TEXT = "pdf_no_text"
    PDF_UNREADABLE = "pdf_unreadable"
    UNDECODABLE = "undecodable"
    DOCX_DAMAGED = "docx_damaged"
    HTML_DAMAGED = "html_damaged"
    ZIP_TOO_MANY = "zip_too_many"
    ZIP_TOO_BIG = "zip_too_big"
    ZIP_UNSAFE_PATH = "zip_unsafe_path"
    ZIP_DAMAGED = "zip_damaged"
    ZIP_NESTED = "zip_nested"
    ZIP_MEMBER_UNREADABLE = "zip_member_unreadable"
    FILE_TOO_BIG = "file_too_big"
    BAD_JSON = "bad_json"
    DUPLICATE = "duplicate"
    BAD_DATE = "bad_date"
    BAD_TITLE = "bad_title"
    BAD_SOURCE = "bad_source"
    UNDO_EXPIRED = "undo_expired"
    INTERNAL = "internal"
    OTHER = "other"


@dataclass(frozen=True)
class Problem:
    """A refusal the handlers put into words; `params` fill the sentence's placeholders."""

    kind: ProblemKind
    params: dict[str, str | int] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.kind.value)
        self.problem = problem


# The corpus engine and the extractor explain themselves in English sentences (the CLI prints them); the
# chat speaks the admin's language, so each known sentence is recognised and turned into a Problem.
# tests/test_admin.py produces every one of these from the real code, so a reworded reason fails there.
_EXPLANATIONS: list[tuple[re.Pattern[str], ProblemKind]] = [
    (re.compile(r"too short to be news \((?P<chars>\d+) characters, at least (?P<min>\d+)"), ProblemKind.TOO_SHORT),
    (re.compile(r"^the text is (?P<chars>\d+) characters long, the limit is (?P<max>\d+)"), ProblemKind.TOO_LONG),
    (re.compile(r"^the text is empty|contains no text|the \"text\" field is empty"), ProblemKind.EMPTY),
    (re.compile(r"has no text layer"), ProblemKind.PDF_NO_TEXT),
    (re.compile(r"^the PDF (is password|file is damaged|has no pages)"), ProblemKind.PDF_UNREADABLE),
    (re.compile(r"^could not decode the text"), ProblemKind.UNDECODABLE),
    (re.compile(r"^unsupported file type (?P<ext>\S+)|^the file has no extension"), ProblemKind.UNKNOWN_FORMAT),
    (re.compile(r"^the archive has (?P<count>\d+) entries, the limit is (?P<limit>\d+)"), ProblemKind.ZIP_TOO_MANY),
    (re.compile(r"^the archive unpacks to (?P<size>.+), the limit is (?P<limit>.+)$"), ProblemKind.ZIP_TOO_BIG),
    (re.compile(r"^the archive unpacks to more than its limit"), ProblemKind.ZIP_TOO_BIG),
    (re.compile(r"^the archive looks like a compression bomb"), ProblemKind.ZIP_TOO_BIG),
    (re.compile(r"^the archive contains an unsafe path (?P<path>.+) \(absolute"), ProblemKind.ZIP_UNSAFE_PATH),
    (re.compile(r"^the \.zip archive is damaged|could not be unpacked"), ProblemKind.ZIP_DAMAGED),
    (re.compile(r"^the \.zip archive contains no files"), ProblemKind.EMPTY),
    (re.compile(r"^archives inside archives"), ProblemKind.ZIP_NESTED),
    (re.compile(r"password-protected inside the archive|compressed with a method"), ProblemKind.ZIP_MEMBER_UNREADABLE),
    (re.compile(r"^the \.docx file is damaged"), ProblemKind.DOCX_DAMAGED),
    (re.compile(r"^the HTML file is malformed"), ProblemKind.HTML_DAMAGED),
    (re.compile(r"^the file is (?P<size>.+), the limit is (?P<limit>.+)$"), ProblemKind.FILE_TOO_BIG),
    (re.compile(r"^the file is over the (?P<limit>.+) limit"), ProblemKind.FILE_TOO_BIG),
    (
        re.compile(r"valid JSON|JSON object|no \"text\" field|field is not a string|list of objects|more bad entries"),
        ProblemKind.BAD_JSON,
    ),
    (re.compile(r"^the same text is already stored as document (?P<doc_id>\d+)"), ProblemKind.DUPLICATE),
    (re.compile("^" + re.escape(INTERNAL_ERROR)), ProblemKind.INTERNAL),
]  # fmt: skip
_ENTRY_PREFIX = re.compile(r"^(?:line|item) \d+: ")


def explain(reason: str) -> Problem:
    """The Problem behind a reason given by the extractor or the corpus engine."""
    text = _ENTRY_PREFIX.sub("", reason)
    for pattern, kind in _EXPLANATIONS:
        if m := pattern.search(text):
            params: dict[str, str | int] = {
                k: int(v) if v.isdigit() else v for k, v in m.groupdict().items() if v is not None
            }
            if kind is ProblemKind.BAD_JSON:
                params["reason"] = text
            return Problem(kind, params)
    return Problem(ProblemKind.OTHER, {"reason": reason})


def file_problem(file_name: str | None, size: int | None, max_download_mb: int) -> Problem | None:
    """What is wrong with a file before it is even downloaded."""
    if not is_supported(file_name):
        return Problem(ProblemKind.UNKNOWN_FORMAT, {"ext": extension(file_name) or "?"})
    if size is not None and size > max_download_mb * MB:
        return Problem(
            ProblemKind.DOWNLOAD_TOO_BIG, {"size": _megabytes(size), "limit": str(max_download_mb)}
        )
    return None


def download_too_big(size: int | None, max_download_mb: int) -> Problem:
    return Problem(
        ProblemKind.DOWNLOAD_TOO_BIG,
        {"size": _megabytes(size) if size else "?", "limit": str(max_download_mb)},
    )


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


# --- uploads -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """A text analysed for the admin to check; `pending_id` is None for an exact duplicate (not saveable)."""

    pending_id: int | None
    prepared: Prepared
    summary: tuple[str, ...]
    words: int

    @property
    def status(self) -> Status:
        return self.prepared.status


@dataclass(frozen=True)
class AlbumFile:
    """A file of an album (several files sent at once), to be fetched when the whole album is in."""

    file_id: str
    file_name: str
    size: int | None


@dataclass(frozen=True)
class Failure:
    source: str
    problem: Problem


@dataclass(frozen=True)
class BulkProgress:
    done: int
    total: int
    added: int
    duplicates: int
    failed: int


@dataclass(frozen=True)
class BulkReport:
    total: int
    added: int
    joined: int  # of the added, those that joined a story as a near-duplicate of a stored text
    duplicates: int
    failures: tuple[Failure, ...]
    added_ids: tuple[int, ...] = ()

    @property
    def failed(self) -> int:
        return len(self.failures)


ProgressCallback = Callable[[BulkProgress], Awaitable[None]]


def is_bulk(file_names: Sequence[str], entries: Sequence[RawItem | ExtractFailure]) -> bool:
    """Several files, an archive or a JSON Lines file are saved at once with a report; one text gets a
    preview (or, when it failed, a refusal) instead."""
    if len(file_names) != 1 or is_bulk_format(file_names[0]):
        return True
    return len(entries) != 1


# --- documents, the log, statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class DocPage:
    documents: tuple[Document, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    names: dict[int, str]
    page: int
    pages: int


@dataclass(frozen=True)
class SubscriptionFigures:
    """Readers subscribed to digests, channels the bot posts to, digest deliveries sent and failed."""

    subscribers: int
    paused: int
    channels: int
    digests_sent: int
    digests_failed: int


@dataclass(frozen=True)
class AdminStats:
    corpus: CorpusStats
    readers: int
    searches_per_day: tuple[tuple[date, int], ...]
    documents_per_week: tuple[tuple[date, int], ...]
    # Running totals at the end of each week.
    readers_over_time: tuple[tuple[date, int], ...]
    subscribers_over_time: tuple[tuple[date, int], ...]
    subscriptions: SubscriptionFigures


@dataclass(frozen=True)
class ChartLabels:
    title: str
    documents: str
    readers: str
    subscribers: str
    people: str
    empty: str


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def per_week(days: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    weeks: dict[date, int] = {}
    for day, n in days:
        weeks[week_of(day)] = weeks.get(week_of(day), 0) + n
    return sorted(weeks.items())


def cumulative(points: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    total = 0
    out = []
    for day, n in points:
        total += n
        out.append((day, total))
    return out


def running_totals(changes: Iterable[tuple[date, int]], since: date, until: date) -> list[tuple[date, int]]:
    """Weekly running totals from `since` to `until` (week starts), counting what happened before too."""
    totals = cumulative(per_week(changes))
    before = [n for week, n in totals if week < since]
    inside = [(week, n) for week, n in totals if since <= week <= until]
    out = ([(since, before[-1])] if before and (not inside or inside[0][0] > since) else []) + inside
    if out and out[-1][0] < until:
        out.append((until, out[-1][1]))
    return out


def render_chart(
    documents: Sequence[tuple[date, int]],
    readers: Sequence[tuple[date, int]],
    subscribers: Sequence[tuple[date, int]],
    labels: ChartLabels,
) -> bytes:
    """A PNG: documents per week as bars; readers and subscribers over time as lines on a second axis."""
    # Imported here: matplotlib takes a noticeable while to import, and only /stats needs it. The Figure
    # API (no pyplot) keeps no global state, so charts can be drawn in worker threads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.set_title(labels.title)
    if not documents and not readers and not subscribers:
        ax.text(0.5, 0.5, labels.empty, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        if documents:
            ax.bar(
                _day_numbers([d for d, _ in documents]),
                [n for _, n in documents],
                width=5,
                color="#4c72b0",
                label=labels.documents,
            )
        ax.set_ylabel(labels.documents)
        people_ax = ax.twinx()
        for series, label, color in (
            (readers, labels.readers, "#dd8452"),
            (subscribers, labels.subscribers, "#55a868"),
        ):
            if series:
                people_ax.plot(
                    _day_numbers([d for d, _ in series]),
                    [n for _, n in series],
                    color=color,
                    marker="o",
                    markersize=3,
                    label=label,
                )
        people_ax.set_ylabel(labels.people)
        people_ax.set_ylim(bottom=0)
        ax.xaxis_date()
        bars, bar_labels = ax.get_legend_handles_labels()
        lines, line_labels = people_ax.get_legend_handles_labels()
        people_ax.legend(bars + lines, bar_labels + line_labels, loc="upper left")
        fig.autofmt_xdate()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _day_numbers(days: Sequence[date]) -> list[float]:
    # matplotlib's date axis counts days from its default epoch, 1970-01-01 (date2num is untyped).
    epoch = date(1970, 1, 1)
    return [float((d - epoch).days) for d in days]


class AdminService:
    """Made once per application and handed to the handlers (as Dispatcher data)."""

    def __init__(
        self,
        corpus: Corpus,
        search: SearchService,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.corpus = corpus
        self.search = search
        self.settings = settings
        self.repo = corpus.repo
        self.db = corpus.db
        self.audit = AuditRepository(corpus.db)
        self.pending = PendingRepository(corpus.db)
        self.reports = ReportRepository(corpus.db)
        self.users = UserRepository(corpus.db)
        self.subscriptions = SubscriptionRepository(corpus.db)
        self.deliveries = DeliveryRepository(corpus.db)
        self.limits = limits_for(settings)
        self.clock = clock
        self.albums: Gatherer[AlbumFile] = Gatherer(settings.album_wait_seconds)

    @property
    def undo_window(self) -> timedelta:
        return timedelta(minutes=self.settings.undo_minutes)

    # -- one text with a preview -------------------------------------------------------------------------

    async def _prepare(self, item: TextInput) -> Prepared:
        try:
            return await self.corpus.prepare(item)
        except IngestError as exc:
            raise Refused(explain(exc.reason)) from None

    def _preview(self, pending_id: int | None, prepared: Prepared) -> Preview:
        summary = summarize(
            prepared.text, title=prepared.title, sentences=2, morph=self.corpus.morph, max_chars=500
        )
        return Preview(pending_id, prepared, tuple(summary), len(prepared.text.split()))

    async def preview(self, admin_id: int, item: TextInput) -> Preview:
        """Analyse a text and keep it pending until Save or Cancel. Raises Refused."""
        prepared = await self._prepare(item)
        if prepared.duplicate is not None:
            return self._preview(None, prepared)
        await self.pending.purge(PENDING_TTL)
        pending_id = await self.pending.add(
            admin_id,
            text=item.text,
            source=item.source,
            title=item.title,
            url=item.url,
            published=item.date,
            lang=item.lang,
            source_name=item.source_name,
        )
        return self._preview(pending_id, prepared)

    async def _pending(self, pending_id: int, admin_id: int) -> PendingUpload | None:
        pending = await self.pending.get(pending_id)
        # Another admin's preview is theirs to decide on.
        return pending if pending is not None and pending.admin_id == admin_id else None

    @staticmethod
    def _input(pending: PendingUpload) -> TextInput:
        return TextInput(
            text=pending.text,
            source=pending.source,
            title=pending.title,
            url=pending.url,
            date=pending.published,
            lang=pending.lang,
            source_name=pending.source_name,
        )

    async def has_pending(self, pending_id: int, admin_id: int) -> bool:
        return await self._pending(pending_id, admin_id) is not None

    async def pending_preview(self, pending_id: int, admin_id: int) -> Preview | None:
        """The preview again (the corpus may have changed since). None when it was saved or cancelled."""
        pending = await self._pending(pending_id, admin_id)
        if pending is None:
            return None
        return self._preview(pending.id, await self._prepare(self._input(pending)))

    async def edit_pending(
        self, pending_id: int, admin_id: int, *, title: str | None = None, published: str | None = None
    ) -> Preview | None:
        if title is not None:
            title = _clean_title(title)
        if published is not None:
            published = _parse_day(published).isoformat()
        if await self._pending(pending_id, admin_id) is None:
            return None
        await self.pending.update(pending_id, title=title, published=published)
        return await self.pending_preview(pending_id, admin_id)

    async def cancel_pending(self, pending_id: int, admin_id: int) -> bool:
        if await self._pending(pending_id, admin_id) is None:
            return False
        return await self.pending.delete(pending_id)

    async def save_pending(self, pending_id: int, admin_id: int) -> IngestResult | None:
        """Save a previewed text (atomically: on any failure the corpus stays as it was). None when the
        preview is gone; raises Refused when the text no longer passes (e.g. the same text was saved)."""
        pending = await self._pending(pending_id, admin_id)
        if pending is None:
            return None
        prepared = await self._prepare(self._input(pending))
        result = await self.corpus.save(prepared)
        if result.id is not None and result.status is not Status.DUPLICATE:
            await self.audit.record(admin_id, Action.ADD, result.id, prepared.title)
        await self.pending.delete(pending_id)
        return result

    # -- files ------------------------------------------------------------------------------------------

    async def extract(self, file_name: str, data: bytes) -> list[RawItem | ExtractFailure]:
        # Parsing a PDF or inflating an archive is CPU work: a thread keeps the bot answering others.
        return await asyncio.to_thread(lambda: list(extract_bytes(file_name, data, self.limits)))

    async def bulk(
        self,
        admin_id: int,
        entries: Sequence[RawItem | ExtractFailure],
        on_progress: ProgressCallback | None = None,
        *,
        source_name: str | None = None,
        failures: Sequence[Failure] = (),
    ) -> BulkReport:
        """Save many texts without previews. Each is all-or-nothing on its own: good ones are kept when
        others fail. `on_progress` is awaited at most every `upload_progress_seconds`, between batches."""
        failed = list(failures)
        failed += [Failure(e.source, explain(e.reason)) for e in entries if isinstance(e, ExtractFailure)]
        items = [to_input(e, source_name) for e in entries if isinstance(e, RawItem)]
        total = len(items) + len(failed)
        known_failures = len(failed)
        last = self.clock()
        async with contextlib.AsyncExitStack() as stack:
            # A big upload is analysed in a worker process: the bot keeps answering everyone meanwhile.
            pool = None
            if len(items) >= POOL_THRESHOLD:
                pool = await stack.enter_async_context(
                    AnalysisPool(self.settings.min_text_chars, self.settings.max_text_chars)
                )
            return await self._bulk_batches(
                admin_id, items, failed, known_failures, total, last, on_progress, pool
            )

    async def _bulk_batches(
        self,
        admin_id: int,
        items: list[TextInput],
        failed: list[Failure],
        known_failures: int,
        total: int,
        last: float,
        on_progress: ProgressCallback | None,
        pool: AnalysisPool | None,
    ) -> BulkReport:
        added: list[int] = []
        joined = duplicates = 0
        for start in range(0, len(items), BATCH_SIZE):
            batch = items[start : start + BATCH_SIZE]
            saved: list[IngestResult] = []
            async for result in self.corpus.ingest_many(batch, pool=pool):
                if result.status is Status.FAILED:
                    failed.append(Failure(result.source, explain(result.reason or INTERNAL_ERROR)))
                elif result.status is Status.DUPLICATE:
                    duplicates += 1
                elif result.id is not None:
                    saved.append(result)
                    joined += result.status is Status.NEAR_DUPLICATE
            if saved:
                async with self.db.transaction() as tx:
                    for result in saved:
                        await self.audit.record(admin_id, Action.ADD, result.id, result.title or "", conn=tx)
                added += [r.id for r in saved if r.id is not None]
            done = known_failures + start + len(batch)
            now = self.clock()
            if on_progress is not None and now - last >= self.settings.upload_progress_seconds:
                last = now
                await on_progress(BulkProgress(done, total, len(added), duplicates, len(failed)))
        return BulkReport(total, len(added), joined, duplicates, tuple(failed), tuple(added))

    # -- managing stored documents ------------------------------------------------------------------------

    async def document(self, doc_id: int) -> Document | None:
        return await self.repo.get(doc_id)

    async def documents(self, query: str, page: int, size: int) -> DocPage:
        """The corpus newest first, hidden texts included; with a query, only the texts that match it."""
        page = max(0, page)
        if not query.strip():
            total = await self.repo.count(include_hidden=True)
            docs = await self.repo.latest(limit=size, offset=page * size, include_hidden=True)
        else:
            found = await self._matching(query)
            total = len(found)
            docs = found[page * size : (page + 1) * size]
        return DocPage(tuple(docs), page, max(1, -(-total // size)), total)

    async def _matching(self, query: str) -> list[Document]:
        found: dict[int, Document] = {}
        offset = 0
        while offset < MAX_MATCHES:
            result = await self.search.search(query, limit=50, offset=offset)
            # Closest matches are a reader's consolation; a filter must not pretend they match.
            if result.partial or result.problem is not None:
                break
            found.update((h.document.id, h.document) for h in result.hits)
            if not result.has_next:
                break
            offset += 50
        # Hidden texts are out of the search index; admins still need to find them to show them again.
        # There are few, so they are matched here, by the same terms the index would hold.
        morph = self.corpus.morph
        words = [(tok, morph.query_terms(tok)) for _, _, tok, _ in iter_tokens(query)]
        if words:
            for doc in await self.repo.hidden(HIDDEN_SCAN):
                content = f"{doc.title}\n{doc.text}"
                terms = set(morph.terms_of(content))
                lowered = content.casefold()
                if all(alternatives & terms or word in lowered for word, alternatives in words):
                    found[doc.id] = doc
        ordered = sorted(found.values(), key=lambda d: (d.published or date.min, d.id), reverse=True)
        return ordered[:MAX_MATCHES]

    async def set_hidden(self, admin_id: int, doc_id: int, hidden: bool) -> Document | None:
        """Hidden texts leave search, digests and inline results; showing one indexes it again."""
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        title_terms = body_terms = ""
        if not hidden:
            feats = features(doc.text, doc.title, self.corpus.morph)
            title_terms, body_terms = " ".join(feats.title_terms), " ".join(feats.terms)
        if await self.repo.set_hidden(doc_id, hidden, title_terms, body_terms):
            await self.audit.record(admin_id, Action.HIDE if hidden else Action.SHOW, doc_id, doc.title)
            if not hidden:
                self.corpus.indexed([*feats.terms, *feats.title_terms], feats.words)
        return await self.repo.get(doc_id)

    async def delete(self, admin_id: int, doc_id: int) -> Document | None:
        """Delete a text, keeping it in the bin for `undo_minutes`. Returns what was deleted."""
        await self.audit.purge_bin(self.undo_window)
        async with self.db.transaction() as tx:
            doc = await self.repo.move_to_bin(doc_id, admin_id, tx)
            if doc is not None:
                await self.audit.record(admin_id, Action.DELETE, doc_id, doc.title, conn=tx)
        return doc

    async def undo_delete(self, admin_id: int, doc_id: int) -> Document:
        """Bring a deleted text back. Raises Refused when it is too late or the text was added again."""
        since = datetime.now(UTC) - self.undo_window
        try:
            async with self.db.transaction() as tx:
                new_id = await self.repo.restore_from_bin(doc_id, tx, since)
                # Read on the transaction's own connection: the restored row is visible there already.
                doc = await self.repo.get(new_id) if new_id is not None else None
                if doc is not None:
                    await self.audit.record(admin_id, Action.RESTORE, doc.id, doc.title, conn=tx)
        except RestoreConflict as exc:
            raise Refused(Problem(ProblemKind.DUPLICATE, {"doc_id": exc.existing_id})) from None
        if doc is None:
            raise Refused(Problem(ProblemKind.UNDO_EXPIRED))
        if not doc.hidden:
            feats = features(doc.text, doc.title, self.corpus.morph)
            self.corpus.indexed([*feats.terms, *feats.title_terms], feats.words)
        return doc

    async def edit_title(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        title = _clean_title(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        feats = features("", title, self.corpus.morph)
        await self.repo.update_meta(doc_id, title=title, title_terms=" ".join(feats.title_terms))
        self.corpus.indexed(feats.title_terms, feats.words)
        await self.audit.record(admin_id, Action.EDIT_TITLE, doc_id, f"{doc.title} → {title}")
        return await self.repo.get(doc_id)

    async def edit_date(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        day = _parse_day(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        await self.repo.update_meta(doc_id, published=day)
        old = doc.published.isoformat() if doc.published else "—"
        await self.audit.record(admin_id, Action.EDIT_DATE, doc_id, f"{old} → {day.isoformat()}")
        return await self.repo.get(doc_id)

    async def edit_source(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        """`value` is an outlet's name, a link, or both ("Kursiv https://kursiv.media/…")."""
        name, url = parse_source(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        await self.repo.update_meta(doc_id, source_name=name, url=url)
        await self.audit.record(admin_id, Action.EDIT_SOURCE, doc_id, " ".join(p for p in (name, url) if p))
        return await self.repo.get(doc_id)

    async def story_size(self, doc: Document) -> int:
        return len(await self.repo.story_members(doc.story_id or doc.id))

    def summary(self, doc: Document, sentences: int = 3) -> list[str]:
        return summarize(doc.text, title=doc.title, sentences=sentences, morph=self.corpus.morph)

    # -- the log and the figures ------------------------------------------------------------------------------

    async def audit_page(self, page: int, size: int) -> AuditPage:
        page = max(0, page)
        total = await self.audit.count()
        entries = await self.audit.recent(limit=size, offset=page * size)
        names: dict[int, str] = {}
        for admin_id in {e.admin_id for e in entries}:
            user = await self.users.get(admin_id)
            if user is not None and (user.first_name or user.username):
                names[admin_id] = user.first_name or f"@{user.username}"
        return AuditPage(tuple(entries), names, page, max(1, -(-total // size)))

    async def stats(self, today: date | None = None) -> AdminStats:
        """The figures of /stats; the chart's series cover the last CHART_WEEKS weeks up to `today`."""
        until = week_of(today or datetime.now(UTC).date())
        since = until - timedelta(weeks=CHART_WEEKS - 1)
        documents = [
            (w, n) for w, n in per_week(await self.reports.documents_per_day()) if since <= w <= until
        ]
        readers = running_totals(await self.reports.readers_per_day(), since, until)
        subscribers = running_totals(await self.reports.subscribers_per_day(), since, until)
        counts = await self.subscriptions.counts()
        deliveries = await self.deliveries.counts()
        return AdminStats(
            corpus=await self.repo.stats(),
            readers=await self.users.count(),
            searches_per_day=tuple(await self.reports.searches_per_day(SEARCH_DAYS)),
            documents_per_week=tuple(documents),
            readers_over_time=tuple(readers),
            subscribers_over_time=tuple(subscribers),
            subscriptions=SubscriptionFigures(
                subscribers=counts.people,
                paused=counts.paused,
                channels=counts.channels,
                digests_sent=deliveries.get(DeliveryState.SENT, 0),
                # Blocked: the reader blocked the bot or the channel removed it; the digest did not arrive.
                digests_failed=deliveries.get(DeliveryState.FAILED, 0)
                + deliveries.get(DeliveryState.BLOCKED, 0),
            ),
        )

    async def chart(self, stats: AdminStats, labels: ChartLabels) -> bytes:
        return await asyncio.to_thread(
            render_chart,
            stats.documents_per_week,
            stats.readers_over_time,
            stats.subscribers_over_time,
            labels,
        )


def _clean_title(value: str) -> str:
    title = normalize_text(" ".join(value.split()))
    if not title or len(title) > MAX_TITLE_CHARS:
        raise Refused(Problem(ProblemKind.BAD_TITLE, {"max": MAX_TITLE_CHARS}))
    return title


def _parse_day(value: str) -> date:
    day = parse_date(value)
    if day is None:
        # 24.01.2026 is how dates are usually typed here; parse_date only finds it with a four-digit year.
        m = re.fullmatch(r"\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*", value)
        if m:
            try:
                day = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                day = None
    if day is None:
        raise Refused(Problem(ProblemKind.BAD_DATE))
    return day


def parse_source(value: str) -> tuple[str | None, str | None]:
    """(outlet name, link) from what an admin typed; the name defaults to the link's site."""
    text = " ".join(value.split())
    url = find_url(text)
    name: str | None = text.replace(url, "").strip(" -—|·,") if url else text
    name = name or outlet(url)
    if not name or len(name) > MAX_SOURCE_CHARS:
        raise Refused(Problem(ProblemKind.BAD_SOURCE, {"max": MAX_SOURCE_CHARS}))
    return name, url


T = TypeVar("T")


class Gatherer(Generic[T]):
    """Collects items that arrive one by one under a key (the files of one album) until none has come
    for `quiet` seconds; the first caller for a key gets them all, the later ones get None."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self._items: dict[str, list[T]] = {}
        self._arrived: dict[str, asyncio.Event] = {}

    async def gather(self, key: str, item: T) -> list[T] | None:
        if key in self._items:
            self._items[key].append(item)
            self._arrived[key].set()
            return None
        self._items[key] = [item]
        arrived = self._arrived[key] = asyncio.Event()
        try:
            while True:
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), self.quiet)
                except TimeoutError:
                    break
            return self._items[key]
        finally:
            self._items.pop(key, None)
            self._arrived.pop(key, None)
