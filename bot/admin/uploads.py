"""Admins' uploads: one text gets a preview that waits (pending) for Save or Cancel; many texts (several
files, an archive, a JSON Lines file) are saved at once with progress and a report. Every saved text is
written to the audit log here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.admin.audit import AuditAction, AuditLog
from bot.admin.errors import Failure
from bot.admin.fields import clean_title, parse_day
from bot.clock import Clock
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.errors import UploadError
from bot.corpus.extract import ExtractFailure, Limits, RawItem, extract_bytes
from bot.corpus.ingest import BATCH_SIZE, INTERNAL_ERROR, Corpus, IngestResult, Prepared, Status, TextInput
from bot.corpus.uploads import is_bulk as is_bulk_format
from bot.corpus.uploads import to_input
from bot.text.summarize import summarize
from storage.db import Database
from storage.models import PendingUpload
from storage.pending import PendingRepository

# Uploads with at least this many texts are analysed in a worker process (starting one takes a second).
POOL_THRESHOLD = 200

# A preview nobody pressed Save or Cancel on is forgotten after this long.
PENDING_TTL = timedelta(days=7)


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


@dataclass(frozen=True)
class UploadSettings:
    """The settings values uploads depend on."""

    limits: Limits
    min_text_chars: int
    max_text_chars: int
    # Progress of a bulk upload is reported at most this often.
    progress_seconds: float


class UploadService:
    def __init__(
        self,
        db: Database,
        corpus: Corpus,
        pending: PendingRepository,
        audit: AuditLog,
        config: UploadSettings,
        clock: Clock,
    ) -> None:
        self.db = db
        self.corpus = corpus
        self.pending = pending
        self.audit = audit
        self.config = config
        self.clock = clock

    # -- one text with a preview -------------------------------------------------------------------------

    def _preview(self, pending_id: int | None, prepared: Prepared) -> Preview:
        summary = summarize(
            prepared.text, title=prepared.title, sentences=2, morph=self.corpus.morph, max_chars=500
        )
        return Preview(pending_id, prepared, tuple(summary), len(prepared.text.split()))

    async def preview(self, admin_id: int, item: TextInput) -> Preview:
        """Analyse a text and keep it pending until Save or Cancel. Raises UploadError."""
        prepared = await self.corpus.prepare(item)
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
        return self._preview(pending.id, await self.corpus.prepare(self._input(pending)))

    async def edit_pending(
        self, pending_id: int, admin_id: int, *, title: str | None = None, published: str | None = None
    ) -> Preview | None:
        if title is not None:
            title = clean_title(title)
        if published is not None:
            published = parse_day(published).isoformat()
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
        preview is gone; raises UploadError when the text no longer passes."""
        pending = await self._pending(pending_id, admin_id)
        if pending is None:
            return None
        prepared = await self.corpus.prepare(self._input(pending))
        result = await self.corpus.save(prepared)
        if result.id is not None and result.status is not Status.DUPLICATE:
            await self.audit.record(admin_id, AuditAction.ADD, result.id, prepared.title)
        await self.pending.delete(pending_id)
        return result

    # -- files ------------------------------------------------------------------------------------------

    async def extract(self, file_name: str, data: bytes) -> list[RawItem | ExtractFailure]:
        # Parsing a PDF or inflating an archive is CPU work: a thread keeps the bot answering others.
        return await asyncio.to_thread(lambda: list(extract_bytes(file_name, data, self.config.limits)))

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
        others fail. `on_progress` is awaited at most every `progress_seconds`, between batches."""
        failed = list(failures)
        failed += [Failure(e.source, e.error) for e in entries if isinstance(e, ExtractFailure)]
        items = [to_input(e, source_name) for e in entries if isinstance(e, RawItem)]
        run = _BulkRun(admin_id, len(items) + len(failed), len(failed), failed, self.clock.monotonic())
        async with contextlib.AsyncExitStack() as stack:
            # A big upload is analysed in a worker process: the bot keeps answering everyone meanwhile.
            pool = None
            if len(items) >= POOL_THRESHOLD:
                pool = await stack.enter_async_context(
                    AnalysisPool(self.config.min_text_chars, self.config.max_text_chars)
                )
            return await self._bulk_batches(run, items, on_progress, pool)

    async def _bulk_batches(
        self,
        run: _BulkRun,
        items: list[TextInput],
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
                    run.failed.append(Failure(result.source, _error_of(result)))
                elif result.status is Status.DUPLICATE:
                    duplicates += 1
                elif result.id is not None:
                    saved.append(result)
                    joined += result.status is Status.NEAR_DUPLICATE
            if saved:
                async with self.db.transaction():
                    for result in saved:
                        await self.audit.record(run.admin_id, AuditAction.ADD, result.id, result.title or "")
                added += [r.id for r in saved if r.id is not None]
            done = run.known_failures + start + len(batch)
            now = self.clock.monotonic()
            if on_progress is not None and now - run.last >= self.config.progress_seconds:
                run.last = now
                await on_progress(BulkProgress(done, run.total, len(added), duplicates, len(run.failed)))
        return BulkReport(run.total, len(added), joined, duplicates, tuple(run.failed), tuple(added))


@dataclass
class _BulkRun:
    admin_id: int
    total: int
    known_failures: int
    failed: list[Failure]
    # When progress was last reported (the clock's monotonic seconds).
    last: float


def _error_of(result: IngestResult) -> UploadError:
    return result.error if result.error is not None else INTERNAL_ERROR
