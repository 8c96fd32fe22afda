"""Admins' uploads: one text gets a preview that waits (pending) for Save or Cancel; many texts (several
files, an archive, a JSON Lines file) are saved at once with progress and a report. Every saved text is
written to the audit log here, in the transaction that saves it.

A full disk or a read-only database (storage.db.StorageWriteError) stops a bulk upload at the first write
it refuses: the report says what was saved (complete, each with its audit row) and names every item that
was not. A bulk upload's progress message is recorded with its count of saved texts (committed with them),
so that after a restart the message of an upload the process did not finish can be closed truthfully.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.admin.audit import AuditAction, AuditLog
from bot.admin.errors import Failure
from bot.admin.fields import clean_title, parse_day
from bot.clock import Clock
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.errors import UploadError
from bot.corpus.extract import ExtractFailure, Limits, RawItem
from bot.corpus.extract.worker import ExtractionWorker
from bot.corpus.ingest import (
    INTERNAL_ERROR,
    Corpus,
    IngestResult,
    Prepared,
    SavedHook,
    Status,
    TextInput,
    stop_error,
    stopped_by_storage,
)
from bot.corpus.uploads import is_bulk as is_bulk_format
from bot.corpus.uploads import to_input
from bot.text.summarize import summarize
from storage.db import StorageWriteError
from storage.interfaces import PendingStore, Transactions
from storage.models import PendingUpload, UnfinishedUpload

# Texts stored per step of an upload through the chat: its progress message moves (and a crash resumes) step
# by step, so steps stay short even though `ingest_many` stores bigger batches faster (the CLI's bulk ingest).
UPLOAD_BATCH = 64

log = logging.getLogger(__name__)

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
    # Why the upload stopped before its end (the disk is full, the database is read-only), and the items
    # that were not saved because of it, in order; `added + duplicates + failed + len(not_saved) == total`.
    stopped: UploadError | None = None
    not_saved: tuple[str, ...] = ()
    upload_id: int | None = None  # its progress record (see UploadService.forget_progress)

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass(frozen=True)
class ProgressMessage:
    """Where a bulk upload's progress is shown (a message in a chat), recorded while the upload runs."""

    chat_id: int
    message_id: int
    name: str  # what was uploaded, as the report names it
    locale: str  # the language the admin was answered in


ProgressCallback = Callable[[BulkProgress], Awaitable[None]]


class BulkBrokenOff(Exception):
    """A bulk upload ended by an unexpected error (the cause); `saved` texts were stored before it, each
    complete with its audit row (counted in their transactions when the upload was recorded)."""

    def __init__(self, saved: int, total: int) -> None:
        super().__init__(f"bulk upload broke off after saving {saved} of {total}")
        self.saved = saved
        self.total = total


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
    # A text pasted without any date is dated the day it was uploaded, in this zone (the admin can edit it).
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


class UploadService:
    def __init__(
        self,
        db: Transactions,
        corpus: Corpus,
        pending: PendingStore,
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
        # Files are read in a worker process with a time budget: a slow file stalls nobody else.
        self.extractor = ExtractionWorker()

    async def close(self) -> None:
        await self.extractor.close()

    # -- one text with a preview -------------------------------------------------------------------------

    def _preview(self, pending_id: int | None, prepared: Prepared) -> Preview:
        summary = summarize(
            prepared.text, title=prepared.title, sentences=2, morph=self.corpus.morph, max_chars=500
        )
        return Preview(pending_id, prepared, tuple(summary), len(prepared.text.split()))

    async def preview(self, admin_id: int, item: TextInput) -> Preview:
        """Analyse a text and keep it pending until Save or Cancel. Raises UploadError (also when the disk
        is full or the database read-only: the preview cannot be kept)."""
        prepared = await self.corpus.prepare(item)
        if prepared.duplicate is not None:
            return self._preview(None, prepared)
        if prepared.published is None:
            # Neither the upload nor the text tells the date: the day it reached us is the best we know.
            day = self.clock.now().astimezone(self.config.timezone).date()
            item = replace(item, date=day.isoformat())
            prepared = replace(prepared, published=day)
        try:
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
        except StorageWriteError as exc:
            raise stop_error(exc) from exc
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
        try:
            result = await self.corpus.save(prepared, self._audited(admin_id))
        except StorageWriteError as exc:
            # Nothing was saved; the preview stays, to be saved once there is room.
            raise stop_error(exc) from exc
        try:
            await self.pending.delete(pending_id)
        except StorageWriteError:
            # The text is saved; a second Save finds it a duplicate, and the preview expires.
            log.warning("a saved preview could not be removed (%s)", pending_id, exc_info=True)
        return result

    def _audited(self, admin_id: int, upload_id: int | None = None) -> SavedHook:
        """Writes the audit rows of texts being saved (and counts them on the upload's progress record)
        inside the transaction that saves them: a text is never stored without its row."""

        async def record(results: Sequence[IngestResult]) -> None:
            for result in results:
                await self.audit.record(admin_id, AuditAction.ADD, result.id, result.title or "")
            if upload_id is not None:
                await self.pending.count_saved(upload_id, len(results))

        return record

    # -- files ------------------------------------------------------------------------------------------

    async def extract(self, file_name: str, data: bytes) -> list[RawItem | ExtractFailure]:
        return await self.extractor.extract(file_name, data, self.config.limits)

    async def bulk(
        self,
        admin_id: int,
        entries: Sequence[RawItem | ExtractFailure],
        on_progress: ProgressCallback | None = None,
        *,
        source_name: str | None = None,
        failures: Sequence[Failure] = (),
        progress_message: ProgressMessage | None = None,
    ) -> BulkReport:
        """Save many texts without previews. Each is all-or-nothing on its own: good ones are kept when
        others fail. `on_progress` is awaited at most every `progress_seconds`, between batches.

        A full disk or read-only database stops it at the first refused write (see the module). With
        `progress_message`, the upload is recorded until `forget_progress(report.upload_id)`."""
        failed = list(failures)
        failed += [Failure(e.source, e.error) for e in entries if isinstance(e, ExtractFailure)]
        items = [to_input(e, source_name) for e in entries if isinstance(e, RawItem)]
        run = _BulkRun(admin_id, len(items) + len(failed), len(failed), failed, self.clock.monotonic())
        if progress_message is not None:
            run.upload_id = await self._track(admin_id, progress_message, run.total)
        async with contextlib.AsyncExitStack() as stack:
            # A big upload is analysed in a worker process: the bot keeps answering everyone meanwhile.
            pool = None
            if len(items) >= POOL_THRESHOLD:
                pool = await stack.enter_async_context(
                    AnalysisPool(self.config.min_text_chars, self.config.max_text_chars)
                )
            try:
                return await self._bulk_batches(run, items, on_progress, pool)
            except Exception as exc:
                saved = await self._saved_so_far(run)
                await self.forget_progress(run.upload_id)
                raise BulkBrokenOff(saved, run.total) from exc

    async def _bulk_batches(
        self,
        run: _BulkRun,
        items: list[TextInput],
        on_progress: ProgressCallback | None,
        pool: AnalysisPool | None,
    ) -> BulkReport:
        added = run.added
        joined = duplicates = 0
        stopped: UploadError | None = None
        not_saved: list[str] = []
        audited = self._audited(run.admin_id, run.upload_id)
        for start in range(0, len(items), UPLOAD_BATCH):
            batch = items[start : start + UPLOAD_BATCH]
            if stopped is not None:
                # The storage refused a write: nothing more is tried; every item left is named.
                not_saved += [item.source for item in batch]
                continue
            async for result in self.corpus.ingest_many(batch, pool=pool, with_saved=audited):
                if stopped_by_storage(result):
                    stopped = stopped or result.error
                    not_saved.append(result.source)
                elif result.status is Status.FAILED:
                    run.failed.append(Failure(result.source, _error_of(result)))
                elif result.status is Status.DUPLICATE:
                    duplicates += 1
                elif result.id is not None:
                    added.append(result.id)
                    joined += result.status is Status.NEAR_DUPLICATE
            if stopped is not None:
                continue
            done = run.known_failures + start + len(batch)
            now = self.clock.monotonic()
            if on_progress is not None and now - run.last >= self.config.progress_seconds:
                run.last = now
                await on_progress(BulkProgress(done, run.total, len(added), duplicates, len(run.failed)))
        if stopped is not None:
            log.warning(
                "bulk upload of admin %s stopped (%s): %d saved, %d not saved",
                run.admin_id,
                stopped.reason,
                len(added),
                len(not_saved),
            )
        return BulkReport(
            run.total,
            len(added),
            joined,
            duplicates,
            tuple(run.failed),
            tuple(added),
            stopped=stopped,
            not_saved=tuple(not_saved),
            upload_id=run.upload_id,
        )

    # -- progress records ---------------------------------------------------------------------------------

    async def _track(self, admin_id: int, message: ProgressMessage, total: int) -> int | None:
        try:
            return await self.pending.start_upload(
                admin_id,
                chat_id=message.chat_id,
                message_id=message.message_id,
                name=message.name,
                locale=message.locale,
                total=total,
            )
        except StorageWriteError:
            # The upload itself will meet the same refusal and report it; there is nothing to track.
            log.warning("the progress of a bulk upload could not be recorded", exc_info=True)
            return None

    async def _saved_so_far(self, run: _BulkRun) -> int:
        if run.upload_id is not None:
            with contextlib.suppress(Exception):
                for upload in await self.pending.unfinished_uploads():
                    if upload.id == run.upload_id:
                        return upload.saved
        return len(run.added)

    async def forget_progress(self, upload_id: int | None) -> None:
        """The upload's report was delivered (or its message closed): its record is no longer needed."""
        if upload_id is None:
            return
        try:
            await self.pending.finish_upload(upload_id)
        except StorageWriteError:
            log.warning("the progress record %s of a finished upload could not be removed", upload_id)

    async def unfinished(self) -> list[UnfinishedUpload]:
        """Bulk uploads a process stopped in the middle of (read at start-up, before any new upload)."""
        return await self.pending.unfinished_uploads()


@dataclass
class _BulkRun:
    admin_id: int
    total: int
    known_failures: int
    failed: list[Failure]
    # When progress was last reported (the clock's monotonic seconds).
    last: float
    upload_id: int | None = None
    added: list[int] = field(default_factory=list)  # ids of the texts saved so far


def _error_of(result: IngestResult) -> UploadError:
    return result.error if result.error is not None else INTERNAL_ERROR
