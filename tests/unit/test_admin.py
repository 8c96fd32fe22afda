"""The admins' domain (bot/admin/) without Telegram: refusals, previews, bulk runs, hide, delete and undo,
edits, lists, statistics, the audit log; and that every refusal has its own sentence in the chat."""

from __future__ import annotations

import asyncio
import random
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from bot.admin import uploads as uploads_module
from bot.admin.audit import AuditAction, AuditLog
from bot.admin.chart import ChartLabels, render_chart
from bot.admin.documents import DocumentService
from bot.admin.errors import file_problem
from bot.admin.fields import parse_source
from bot.admin.stats import StatsService, running_totals
from bot.admin.uploads import BulkProgress, UploadService, UploadSettings, is_bulk
from bot.app.settings import Settings
from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract import ExtractFailure, Limits, RawItem, extract_bytes
from bot.corpus.ingest import Corpus, TextInput
from bot.corpus.uploads import limits_for
from bot.i18n import make_i18n
from bot.search import SearchService
from handlers.admin.albums import Gatherer
from handlers.errors import describe
from storage.audit import AuditRepository
from storage.db import Database
from storage.deliveries import DeliveryRepository
from storage.documents import DocumentRepository
from storage.pending import PendingRepository
from storage.reports import ReportRepository
from storage.subscriptions import SubscriptionRepository
from storage.users import QueryRepository, UserRepository
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE
from tests.files import make_zip, scan_pdf

ADMIN = 42


def failure_of(name: str, data: bytes, limits: Limits | None = None) -> UploadError:
    results = list(extract_bytes(name, data, limits or Limits()))
    failures = [r for r in results if isinstance(r, ExtractFailure)]
    assert failures, results
    return failures[0].error


class TickingClock:
    """Each monotonic reading is `step` seconds after the previous one, as if every batch took that long;
    the wall clock is the real one (the database stamps deletions with it)."""

    def __init__(self, step: float) -> None:
        self.seconds = 0.0
        self.step = step

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        self.seconds += self.step
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class Admin:
    """The admin services on one database, as the container builds them."""

    corpus: Corpus
    search: SearchService
    uploads: UploadService
    documents: DocumentService
    stats: StatsService
    audit: AuditLog
    users: UserRepository

    @property
    def db(self) -> Database:
        return self.corpus.db

    @property
    def repo(self) -> DocumentRepository:
        return self.corpus.repo


def make_admin(corpus: Corpus, search: SearchService, settings: Settings, clock: TickingClock) -> Admin:
    db = corpus.db
    users, audit = UserRepository(db), AuditRepository(db)
    audit_log = AuditLog(audit, users)
    config = UploadSettings(
        limits_for(
            max_download_mb=settings.max_download_mb,
            max_text_chars=settings.max_text_chars,
            max_zip_files=settings.max_zip_files,
            max_zip_unpacked_mb=settings.max_zip_unpacked_mb,
        ),
        settings.min_text_chars,
        settings.max_text_chars,
        settings.upload_progress_seconds,
    )
    return Admin(
        corpus=corpus,
        search=search,
        uploads=UploadService(db, corpus, PendingRepository(db), audit_log, config, clock),
        documents=DocumentService(
            db,
            corpus,
            corpus.repo,
            search,
            audit_log,
            audit,
            QueryRepository(db),
            settings.undo_minutes,
            clock,
        ),
        stats=StatsService(
            corpus.repo,
            ReportRepository(db),
            users,
            SubscriptionRepository(db),
            DeliveryRepository(db),
            clock,
        ),
        audit=audit_log,
        users=users,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_path=tmp_path / "unused.db",
        admin_ids=frozenset({ADMIN}),
        min_text_chars=20,
        upload_progress_seconds=3,
        undo_minutes=10,
    )


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(step=2)


@pytest.fixture
def admin(corpus: Corpus, search: SearchService, settings: Settings, clock: TickingClock) -> Admin:
    return make_admin(corpus, search, settings, clock)


# --- every refusal is typed, and the chat has a sentence for it -----------------------------------------------


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return make_i18n()


def in_english(i18n: I18n, error: UploadError) -> str:
    with i18n.context(), i18n.use_locale("en"):
        return describe(error, i18n)


# (case, what the extractor says, the reason it gives, a piece of the sentence the admin reads)
def _reasons() -> list[tuple[str, UploadError, UploadReason, str]]:
    return [
        ("pdf without text", failure_of("scan.pdf", scan_pdf()), UploadReason.PDF_NO_TEXT, "no text layer"),
        (
            "pdf damaged",
            failure_of("x.pdf", b"%PDF-1.4 broken"),
            UploadReason.PDF_DAMAGED,
            "damaged or password-protected",
        ),
        (
            "undecodable",
            failure_of("x.txt", random.Random(0).randbytes(4096)),
            UploadReason.UNDECODABLE,
            "could not decode",
        ),
        (
            "unknown type",
            failure_of("x.rtf", b"{\\rtf1}"),
            UploadReason.UNSUPPORTED_FORMAT,
            "Unknown format «.rtf»",
        ),
        ("no extension", failure_of("README", b"text"), UploadReason.NO_EXTENSION, "Unknown format «?»"),
        ("empty", failure_of("x.txt", b"   \n "), UploadReason.NO_TEXT, "There is no text in it."),
        (
            "docx damaged",
            failure_of("x.docx", b"not a zip"),
            UploadReason.DOCX_DAMAGED,
            ".docx file is damaged",
        ),
        (
            "too long",
            failure_of("x.txt", b"a" * 2000, Limits(max_text_chars=1000)),
            UploadReason.TOO_LONG,
            "too long: 2000 characters, the limit is 1000",
        ),
        (
            "zip too many",
            failure_of("x.zip", make_zip((f"{i}.txt", b"x") for i in range(6)), Limits(max_zip_members=5)),
            UploadReason.ZIP_TOO_MANY,
            "The archive has 6 files, the limit is 5",
        ),
        (
            "zip too big",
            failure_of(
                "x.zip",
                make_zip([("a.txt", b"a" * 3000), ("b.txt", b"b" * 3000)], zipfile.ZIP_STORED),
                Limits(max_zip_unpacked_bytes=5000),
            ),
            UploadReason.ZIP_TOO_BIG,
            "unpacks to more than",
        ),
        (
            "zip bomb",
            failure_of("x.zip", make_zip([("zeros.txt", b"\x00" * (4 * 1024 * 1024))])),
            UploadReason.ZIP_BOMB,
            "unpacks to more than 200 MB",
        ),
        (
            "zip unsafe path",
            failure_of("x.zip", make_zip([("../evil.txt", b"text")])),
            UploadReason.ZIP_UNSAFE_PATH,
            "leads outside it (../evil.txt)",
        ),
        (
            "zip damaged",
            failure_of("x.zip", b"not a zip"),
            UploadReason.ZIP_DAMAGED,
            "The archive is damaged.",
        ),
        (
            "zip nested",
            failure_of("x.zip", make_zip([("inner.zip", b"PK")])),
            UploadReason.ZIP_NESTED,
            "Archives inside archives",
        ),
        (
            "zip member packed oddly",
            failure_of("x.zip", make_zip([("a.txt", b"text " * 100)], zipfile.ZIP_BZIP2)),
            UploadReason.ZIP_MEMBER_METHOD,
            "packed in a way I cannot unpack",
        ),
        (
            "zip member too big",
            failure_of("x.zip", make_zip([("big.txt", b"a " * 1024)]), Limits(max_file_bytes=1024)),
            UploadReason.FILE_TOO_BIG,
            "too large (the limit is 1 KB)",
        ),
        (
            "jsonl line",
            failure_of("x.jsonl", b"not json\n"),
            UploadReason.JSON_LINE_INVALID,
            'Not a usable JSON record: each line must be an object with a "text" field (not valid JSON)',
        ),
        (
            "jsonl no text",
            failure_of("x.jsonl", b'{"title": "x"}\n'),
            UploadReason.JSON_NO_TEXT_FIELD,
            "Not a usable JSON record",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "error", "reason", "sentence"), _reasons(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_extractor_refusals_are_typed_and_put_into_words(
    i18n: I18n, case: str, error: UploadError, reason: UploadReason, sentence: str
) -> None:
    assert error.reason is reason, case
    assert sentence in in_english(i18n, error), case


async def test_corpus_refusals_are_typed(corpus: Corpus, i18n: I18n) -> None:
    with pytest.raises(UploadError) as short:
        await corpus.prepare(TextInput("Коротко.", source="x"))
    assert short.value.reason is UploadReason.TOO_SHORT
    assert short.value.params == {"chars": 8, "min": 20}
    assert "too short to be news: 8 characters, at least 20" in in_english(i18n, short.value)
    long_corpus = Corpus(corpus.db, corpus.morph, min_chars=20, max_chars=1000)
    with pytest.raises(UploadError) as long:
        await long_corpus.prepare(TextInput("Слово. " * 300, source="x"))
    assert long.value.params["max"] == 1000
    with pytest.raises(UploadError) as empty:
        await corpus.prepare(TextInput("   ", source="x"))
    assert empty.value.reason is UploadReason.TEXT_EMPTY
    assert in_english(i18n, empty.value) == "There is no text in it."


def test_every_reason_has_its_sentence_in_every_language(i18n: I18n) -> None:
    """No reason falls back to the English sentence, not even what only the CLI meets (files on disk)."""
    params = {
        "ext": ".x", "supported": ".txt", "error": "EIO", "size": 3, "limit": 2, "chars": 1, "max": 2,
        "min": 3, "count": 4, "path": "../x", "name": "x", "ratio": 500, "doc_id": 7,
    }  # fmt: skip
    for reason in UploadReason:
        error = UploadError(reason, **params)
        for language in ("ru", "kk", "en"):
            with i18n.context(), i18n.use_locale(language):
                text = describe(error, i18n)
                fallback = i18n.gettext("It could not be used: {reason}").format(reason="")
            assert text
            assert not text.startswith(fallback), (reason, language)


def test_values_from_the_input_are_escaped(i18n: I18n) -> None:
    error = UploadError(UploadReason.UNSUPPORTED_FORMAT, ext=".<b>", supported="")
    assert "&lt;b&gt;" in in_english(i18n, error)


def test_a_file_is_judged_before_it_is_downloaded(i18n: I18n) -> None:
    assert file_problem("a.txt", 1000, 20) is None
    unknown = file_problem("a.exe", 1000, 20)
    assert unknown is not None
    assert unknown.reason is UploadReason.UNSUPPORTED_FORMAT
    assert unknown.params["ext"] == ".exe"
    too_big = file_problem("a.pdf", 21 * 1024 * 1024, 20)
    assert too_big is not None
    assert too_big.reason is UploadReason.DOWNLOAD_TOO_BIG
    assert too_big.params == {"size": 21 * 1024 * 1024, "limit": 20 * 1024 * 1024}
    assert in_english(i18n, too_big).startswith("The file is 21 MB, but a bot may download at most 20 MB")
    # A self-hosted Bot API server lifts the limit.
    assert file_problem("a.pdf", 21 * 1024 * 1024, 2000) is None


def test_an_upload_error_survives_a_worker_process() -> None:
    import pickle

    error = UploadError(UploadReason.TOO_SHORT, line=3, chars=8, min=20)
    assert pickle.loads(pickle.dumps(error)) == error
    assert str(error) == "line 3: the text is too short to be news (8 characters, at least 20 needed)"


def test_bulk_or_preview() -> None:
    one = [RawItem("text", "a.txt")]
    assert not is_bulk(["a.txt"], one)
    assert not is_bulk(["a.txt"], [ExtractFailure("a.txt", UploadError(UploadReason.NO_TEXT))])
    assert is_bulk(["a.zip"], one)
    assert is_bulk(["a.jsonl"], one)
    assert is_bulk(["a.txt", "b.txt"], one)


def test_source_is_a_name_a_link_or_both() -> None:
    assert parse_source("Kursiv https://kz.kursiv.media/x") == ("Kursiv", "https://kz.kursiv.media/x")
    assert parse_source("https://www.zakon.kz/news/1") == ("zakon.kz", "https://www.zakon.kz/news/1")
    assert parse_source("  Tengrinews  ") == ("Tengrinews", None)
    with pytest.raises(UploadError) as bad:
        parse_source("   ")
    assert bad.value.reason is UploadReason.BAD_SOURCE


# --- previews ----------------------------------------------------------------------------------------------


async def test_preview_is_pending_until_saved_by_its_admin(admin: Admin) -> None:
    preview = await admin.uploads.preview(ADMIN, TextInput(DECREE, source="chat"))
    assert preview.pending_id is not None
    assert preview.summary
    assert await admin.repo.count() == 0
    assert await admin.uploads.save_pending(preview.pending_id, 7) is None, "another admin's preview"
    result = await admin.uploads.save_pending(preview.pending_id, ADMIN)
    assert result is not None
    assert result.id is not None
    assert await admin.uploads.save_pending(preview.pending_id, ADMIN) is None, "saved once"
    [entry] = await admin.audit.recent()
    assert (entry.admin_id, entry.action, entry.doc_id) == (ADMIN, AuditAction.ADD, result.id)


async def test_a_pasted_text_without_a_date_is_dated_the_upload_day(admin: Admin) -> None:
    undated = "Жители Алатау обсудили новый генеральный план города. " * 6
    preview = await admin.uploads.preview(ADMIN, TextInput(undated, source="chat"))
    today = datetime.now(UTC).date()  # the test's UploadSettings use UTC
    assert preview.prepared.published == today
    assert preview.pending_id is not None
    result = await admin.uploads.save_pending(preview.pending_id, ADMIN)
    assert result is not None and result.id is not None
    saved = await admin.repo.get(result.id)
    assert saved is not None and saved.published == today


async def test_a_dateline_is_kept_over_the_upload_day(admin: Admin) -> None:
    dated = "АЛМАТЫ, 24 января 2026 года. " + "Жители Алатау обсудили новый генеральный план города. " * 6
    preview = await admin.uploads.preview(ADMIN, TextInput(dated, source="chat"))
    assert preview.prepared.published == date(2026, 1, 24)


async def test_exact_duplicate_is_not_kept_pending(admin: Admin) -> None:
    await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    preview = await admin.uploads.preview(ADMIN, TextInput(DECREE, source="again"))
    assert preview.pending_id is None
    assert preview.prepared.duplicate is not None
    assert await admin.db.int_scalar("SELECT count(*) FROM pending_uploads") == 0


async def test_pending_edits_are_checked(admin: Admin) -> None:
    preview = await admin.uploads.preview(ADMIN, TextInput(COUNCIL, source="chat"))
    assert preview.pending_id is not None
    edited = await admin.uploads.edit_pending(
        preview.pending_id, ADMIN, title="Новый заголовок", published="5.1.2026"
    )
    assert edited is not None
    assert edited.prepared.title == "Новый заголовок"
    assert edited.prepared.published == date(2026, 1, 5)
    with pytest.raises(UploadError) as bad_date:
        await admin.uploads.edit_pending(preview.pending_id, ADMIN, published="когда-нибудь")
    assert bad_date.value.reason is UploadReason.BAD_DATE
    with pytest.raises(UploadError) as bad_title:
        await admin.uploads.edit_pending(preview.pending_id, ADMIN, title="x" * 301)
    assert bad_title.value.reason is UploadReason.BAD_TITLE
    assert await admin.uploads.cancel_pending(preview.pending_id, ADMIN)
    assert await admin.uploads.pending_preview(preview.pending_id, ADMIN) is None


# --- bulk ----------------------------------------------------------------------------------------------------


def _numbered(i: int) -> RawItem:
    return RawItem(
        f"Заметка {i}. В Алатау обсудили вопрос номер {i} и решили вернуться к нему позже.", f"{i}.txt"
    )


async def test_bulk_reports_progress_between_batches_when_the_interval_has_passed(
    admin: Admin, clock: TickingClock
) -> None:
    await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    entries: list[RawItem | ExtractFailure] = [_numbered(i) for i in range(150)]
    entries += [
        RawItem(AIRPORT, "copy.txt"),
        RawItem("Коротко.", "short.txt"),
        ExtractFailure("x.pdf", UploadError(UploadReason.PDF_NO_PAGES)),
    ]
    seen: list[BulkProgress] = []

    async def on_progress(progress: BulkProgress) -> None:
        seen.append(progress)

    report = await admin.uploads.bulk(ADMIN, entries, on_progress)
    assert report.total == 153
    assert report.added == 150
    assert report.duplicates == 1
    assert [f.source for f in report.failures] == ["x.pdf", "short.txt"]
    assert report.failures[1].error.reason is UploadReason.TOO_SHORT
    # Three batches (64, 64, 25 texts), 2 s each, a report every 3 s: only after the second batch.
    assert seen == [BulkProgress(done=129, total=153, added=128, duplicates=0, failed=1)]
    assert await admin.audit.count() == 150
    assert len(report.added_ids) == 150


async def test_bulk_with_a_zero_interval_reports_after_every_batch(
    corpus: Corpus, search: SearchService, tmp_path: Path
) -> None:
    settings = Settings(
        database_path=tmp_path / "x.db", admin_ids=frozenset({ADMIN}), upload_progress_seconds=0
    )
    service = make_admin(corpus, search, settings, TickingClock(step=0)).uploads
    seen: list[int] = []

    async def on_progress(progress: BulkProgress) -> None:
        seen.append(progress.done)

    await service.bulk(ADMIN, [_numbered(i) for i in range(130)], on_progress)
    assert seen == [64, 128, 130]


# --- hide, delete, undo, edit ----------------------------------------------------------------------------------


async def _index_row(db: Database, doc_id: int) -> tuple[str, str] | None:
    row = await db.fetchone("SELECT title, body FROM doc_fts WHERE rowid = ?", (doc_id,))
    return (row[0], row[1]) if row else None


async def test_hiding_leaves_search_and_showing_restores_the_same_index(admin: Admin) -> None:
    result = await admin.corpus.ingest(TextInput(CRYPTO, source="seed"))
    assert result.id is not None
    indexed = await _index_row(admin.db, result.id)
    doc = await admin.documents.set_hidden(ADMIN, result.id, True)
    assert doc is not None
    assert doc.hidden
    assert (await admin.search.search("песочница")).total == 0
    assert (await admin.documents.documents("песочница", 0, 10)).total == 1, "admins still find it"
    await admin.corpus.term_stats.load(admin.corpus.repo)  # as after a restart while it was hidden
    await admin.documents.set_hidden(ADMIN, result.id, False)
    assert await _index_row(admin.db, result.id) == indexed
    assert (await admin.search.search("песочница")).total == 1
    actions = [e.action for e in await admin.audit.recent()]
    assert actions == [AuditAction.SHOW, AuditAction.HIDE]


async def _rows(db: Database, doc_id: int) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "documents": "SELECT id, title, text, url, source_name, published, lang, content_hash, duplicate_of, "
        "story_id, hidden, created_at FROM documents WHERE id = ?",
        "doc_fts": "SELECT rowid, title, body FROM doc_fts WHERE rowid = ?",
        "doc_features": "SELECT doc_id, minhash, fingerprint FROM doc_features WHERE doc_id = ?",
        "doc_bands": "SELECT band, hash FROM doc_bands WHERE doc_id = ? ORDER BY band",
        "story_keys": "SELECT key, published FROM story_keys WHERE doc_id = ? ORDER BY key",
        "copies": "SELECT id FROM documents WHERE duplicate_of = ? ORDER BY id",
    }
    return {name: [tuple(r) for r in await db.fetchall(sql, (doc_id,))] for name, sql in queries.items()}


async def test_delete_and_undo_bring_back_every_row(admin: Admin) -> None:
    original = await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    retold = await admin.corpus.ingest(TextInput(DECREE + " Подробности позже.", source="seed"))
    assert original.id is not None
    assert retold.id is not None
    assert retold.duplicate_of == original.id
    before = await _rows(admin.db, original.id)
    assert before["copies"] == [(retold.id,)]

    deleted = await admin.documents.delete(ADMIN, original.id)
    assert deleted is not None
    assert await admin.repo.get(original.id) is None
    assert (await admin.repo.get(retold.id)).duplicate_of is None  # type: ignore[union-attr]
    assert await admin.documents.delete(ADMIN, original.id) is None

    restored = await admin.documents.undo_delete(ADMIN, original.id)
    assert restored.id == original.id
    after = await _rows(admin.db, original.id)
    assert after == before
    assert await admin.db.int_scalar("SELECT count(*) FROM deleted_documents") == 0
    actions = [e.action for e in await admin.audit.recent()]
    assert actions[:2] == [AuditAction.RESTORE, AuditAction.DELETE]
    with pytest.raises(UploadError) as twice:
        await admin.documents.undo_delete(ADMIN, original.id)
    assert twice.value.reason is UploadReason.UNDO_EXPIRED


async def test_undo_is_refused_when_too_late_or_the_text_came_back(admin: Admin) -> None:
    first = await admin.corpus.ingest(TextInput(COUNCIL, source="seed"))
    assert first.id is not None
    await admin.documents.delete(ADMIN, first.id)
    old = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(timespec="seconds")
    await admin.db.conn.execute("UPDATE deleted_documents SET deleted_at = ?", (old,))
    with pytest.raises(UploadError) as late:
        await admin.documents.undo_delete(ADMIN, first.id)
    assert late.value.reason is UploadReason.UNDO_EXPIRED

    second = await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    assert second.id is not None
    await admin.documents.delete(ADMIN, second.id)
    again = await admin.corpus.ingest(TextInput(AIRPORT, source="uploaded again"))
    with pytest.raises(UploadError) as conflict:
        await admin.documents.undo_delete(ADMIN, second.id)
    assert conflict.value.reason is UploadReason.DUPLICATE
    assert conflict.value.params["doc_id"] == again.id


async def test_undo_keeps_the_old_id_and_search_finds_the_text_again(admin: Admin) -> None:
    first = await admin.corpus.ingest(TextInput(COUNCIL, source="seed"))
    assert first.id is not None
    await admin.documents.delete(ADMIN, first.id)
    newer = await admin.corpus.ingest(TextInput(CRYPTO, source="seed"))
    assert newer.id != first.id, "ids are never reused, so links to the deleted text stay dead"
    # As after a restart: the in-memory statistics no longer know the deleted text's words.
    await admin.corpus.term_stats.load(admin.corpus.repo)
    restored = await admin.documents.undo_delete(ADMIN, first.id)
    assert restored.id == first.id
    assert restored.story_id == first.id
    assert (await admin.search.search("заседание")).hits[0].document.id == first.id


async def test_edits_change_what_search_sees(admin: Admin) -> None:
    result = await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    assert result.id is not None
    doc = await admin.documents.edit_title(ADMIN, result.id, "Гавань для самолётов")
    assert doc is not None
    assert doc.title == "Гавань для самолётов"
    assert (await admin.search.search("гавань")).total == 1
    doc = await admin.documents.edit_date(ADMIN, result.id, "2026-02-03")
    assert doc is not None
    assert doc.published == date(2026, 2, 3)
    with pytest.raises(UploadError):
        await admin.documents.edit_date(ADMIN, result.id, "31.02.2026")
    doc = await admin.documents.edit_source(ADMIN, result.id, "Kursiv https://kz.kursiv.media/a")
    assert doc is not None
    assert (doc.source_name, doc.url) == ("Kursiv", "https://kz.kursiv.media/a")
    assert await admin.documents.edit_title(ADMIN, 999, "Нет такого") is None


# --- lists and figures -------------------------------------------------------------------------------------------


async def test_documents_newest_first_with_paging_and_filter(admin: Admin) -> None:
    for text in (DECREE, CRYPTO, COUNCIL, AIRPORT):
        await admin.corpus.ingest(TextInput(text, source="seed"))
    first = await admin.documents.documents("", 0, 3)
    assert (first.total, first.pages) == (4, 2)
    assert [d.published for d in first.documents] == sorted(
        (d.published for d in first.documents), reverse=True
    )
    assert first.documents[0].title.startswith("Аэропорт")
    second = await admin.documents.documents("", 1, 3)
    assert len(second.documents) == 1
    found = await admin.documents.documents("Алатау", 0, 10)
    assert found.total == 4
    assert (await admin.documents.documents("zzzqqq", 0, 10)).total == 0


async def test_gatherer_hands_an_album_to_its_first_file() -> None:
    gatherer: Gatherer[str] = Gatherer(quiet=0.05)
    first = asyncio.create_task(gatherer.gather("album", "a.txt"))
    await asyncio.sleep(0)  # let the first file open the album
    later = [await gatherer.gather("album", name) for name in ("b.txt", "c.txt")]
    other = asyncio.create_task(gatherer.gather("another", "d.txt"))
    assert later == [None, None]
    assert await first == ["a.txt", "b.txt", "c.txt"]
    assert await other == ["d.txt"]


def test_running_totals_start_with_what_came_before() -> None:
    since, until = date(2026, 1, 5), date(2026, 2, 2)
    changes = [(date(2025, 12, 1), 3), (date(2026, 1, 14), 2), (date(2026, 1, 15), -1)]
    assert running_totals(changes, since, until) == [
        (date(2026, 1, 5), 3),
        (date(2026, 1, 12), 4),
        (date(2026, 2, 2), 4),
    ]
    assert running_totals([], since, until) == []


async def test_stats_and_chart(admin: Admin) -> None:
    await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    await admin.users.touch(1, "Reader", None)
    stats = await admin.stats.stats(today=date(2025, 9, 20))
    assert stats.corpus.documents == 1
    assert stats.documents_per_week == ((date(2025, 9, 15), 1),)
    assert stats.subscriptions.subscribers == 0
    labels = ChartLabels("t", "texts", "readers", "subscribers", "people", "none")
    png = await admin.stats.chart(stats, labels)
    assert png.startswith(b"\x89PNG")
    assert render_chart([], [], [], labels).startswith(b"\x89PNG")


async def test_a_big_bulk_upload_is_analysed_in_a_worker_process(admin: Admin) -> None:
    entries: list[RawItem | ExtractFailure] = [_numbered(i) for i in range(uploads_module.POOL_THRESHOLD)]
    entries.append(RawItem("Коротко.", "short.txt"))
    report = await admin.uploads.bulk(ADMIN, entries)
    assert report.added == uploads_module.POOL_THRESHOLD
    assert [f.source for f in report.failures] == ["short.txt"]
    assert report.failures[0].error.reason is UploadReason.TOO_SHORT


async def test_is_admin_lets_in_only_the_admin_ids(settings: Settings) -> None:
    from aiogram.types import User

    from handlers.filters import IsAdmin

    is_admin = IsAdmin()
    admin_user = User(id=ADMIN, is_bot=False, first_name="Admin")
    reader = User(id=7, is_bot=False, first_name="Reader")
    assert await is_admin(admin_user, settings, event_from_user=admin_user)
    assert not await is_admin(reader, settings, event_from_user=reader)
    assert not await is_admin(reader, settings, event_from_user=None)
