"""The admins' domain (bot/admin.py) without Telegram: refusals, previews, bulk runs, hide, delete and undo,
edits, lists, statistics."""

from __future__ import annotations

import asyncio
import io
import random
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fpdf import FPDF

from bot.admin.service import (
    Action,
    AdminService,
    BulkProgress,
    ChartLabels,
    Gatherer,
    ProblemKind,
    Refused,
    explain,
    file_problem,
    is_bulk,
    parse_source,
    render_chart,
    running_totals,
)
from bot.app.settings import Settings
from bot.corpus.extract import ExtractFailure, Limits, RawItem, extract_bytes
from bot.corpus.ingest import Corpus, IngestError, TextInput
from bot.search import SearchService
from storage.db import Database
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE

ADMIN = 42


def zip_of(members: Iterable[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def scan_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def failure_of(name: str, data: bytes, limits: Limits | None = None) -> str:
    results = list(extract_bytes(name, data, limits or Limits()))
    failures = [r for r in results if isinstance(r, ExtractFailure)]
    assert failures, results
    return failures[0].reason


class TickingClock:
    """Each reading is `step` seconds after the previous one, as if every batch took that long."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


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
def admin(corpus: Corpus, search: SearchService, settings: Settings, clock: TickingClock) -> AdminService:
    return AdminService(corpus, search, settings, clock=clock)


# --- every reason the engine gives becomes a refusal the chat can put into words ---------------------------


def _reasons() -> list[tuple[str, str, ProblemKind]]:
    return [
        ("pdf without text", failure_of("scan.pdf", scan_pdf()), ProblemKind.PDF_NO_TEXT),
        ("pdf damaged", failure_of("x.pdf", b"%PDF-1.4 broken"), ProblemKind.PDF_UNREADABLE),
        ("undecodable", failure_of("x.txt", random.Random(0).randbytes(4096)), ProblemKind.UNDECODABLE),
        ("unknown type", failure_of("x.rtf", b"{\\rtf1}"), ProblemKind.UNKNOWN_FORMAT),
        ("no extension", failure_of("README", b"text"), ProblemKind.UNKNOWN_FORMAT),
        ("empty", failure_of("x.txt", b"   \n "), ProblemKind.EMPTY),
        ("docx damaged", failure_of("x.docx", b"not a zip"), ProblemKind.DOCX_DAMAGED),
        (
            "too long",
            failure_of("x.txt", b"a" * 2000, Limits(max_text_chars=1000)),
            ProblemKind.TOO_LONG,
        ),
        (
            "zip too many",
            failure_of("x.zip", zip_of((f"{i}.txt", b"x") for i in range(6)), Limits(max_zip_members=5)),
            ProblemKind.ZIP_TOO_MANY,
        ),
        (
            "zip too big",
            failure_of(
                "x.zip",
                zip_of([("a.txt", b"a" * 3000), ("b.txt", b"b" * 3000)], zipfile.ZIP_STORED),
                Limits(max_zip_unpacked_bytes=5000),
            ),
            ProblemKind.ZIP_TOO_BIG,
        ),
        (
            "zip bomb",
            failure_of("x.zip", zip_of([("zeros.txt", b"\x00" * (4 * 1024 * 1024))])),
            ProblemKind.ZIP_TOO_BIG,
        ),
        (
            "zip unsafe path",
            failure_of("x.zip", zip_of([("../evil.txt", b"text")])),
            ProblemKind.ZIP_UNSAFE_PATH,
        ),
        ("zip damaged", failure_of("x.zip", b"not a zip"), ProblemKind.ZIP_DAMAGED),
        ("zip nested", failure_of("x.zip", zip_of([("inner.zip", b"PK")])), ProblemKind.ZIP_NESTED),
        (
            "zip member packed oddly",
            failure_of("x.zip", zip_of([("a.txt", b"text " * 100)], zipfile.ZIP_BZIP2)),
            ProblemKind.ZIP_MEMBER_UNREADABLE,
        ),
        (
            "zip member too big",
            failure_of("x.zip", zip_of([("big.txt", b"a " * 1024)]), Limits(max_file_bytes=1024)),
            ProblemKind.FILE_TOO_BIG,
        ),
        ("jsonl line", failure_of("x.jsonl", b"not json\n"), ProblemKind.BAD_JSON),
        ("jsonl no text", failure_of("x.jsonl", b'{"title": "x"}\n'), ProblemKind.BAD_JSON),
    ]


@pytest.mark.parametrize(
    ("case", "reason", "kind"), _reasons(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_extractor_reasons_are_recognised(case: str, reason: str, kind: ProblemKind) -> None:
    assert explain(reason).kind is kind, (case, reason)


async def test_corpus_reasons_are_recognised(corpus: Corpus) -> None:
    with pytest.raises(IngestError) as short:
        await corpus.prepare(TextInput("Коротко.", source="x"))
    problem = explain(short.value.reason)
    assert problem.kind is ProblemKind.TOO_SHORT
    assert problem.params == {"chars": 8, "min": 20}
    long_corpus = Corpus(corpus.db, corpus.morph, min_chars=20, max_chars=1000)
    with pytest.raises(IngestError) as long:
        await long_corpus.prepare(TextInput("Слово. " * 300, source="x"))
    assert explain(long.value.reason).params["max"] == 1000
    with pytest.raises(IngestError) as empty:
        await corpus.prepare(TextInput("   ", source="x"))
    assert explain(empty.value.reason).kind is ProblemKind.EMPTY


def test_an_unknown_reason_is_passed_on() -> None:
    problem = explain("the moon is in the wrong phase")
    assert problem.kind is ProblemKind.OTHER
    assert problem.params["reason"] == "the moon is in the wrong phase"


def test_a_file_is_judged_before_it_is_downloaded() -> None:
    assert file_problem("a.txt", 1000, 20) is None
    unknown = file_problem("a.exe", 1000, 20)
    assert unknown is not None
    assert unknown.kind is ProblemKind.UNKNOWN_FORMAT
    assert unknown.params["ext"] == ".exe"
    too_big = file_problem("a.pdf", 21 * 1024 * 1024, 20)
    assert too_big is not None
    assert too_big.kind is ProblemKind.DOWNLOAD_TOO_BIG
    assert too_big.params == {"size": "21", "limit": "20"}
    # A self-hosted Bot API server lifts the limit.
    assert file_problem("a.pdf", 21 * 1024 * 1024, 2000) is None


def test_bulk_or_preview() -> None:
    one = [RawItem("text", "a.txt")]
    assert not is_bulk(["a.txt"], one)
    assert not is_bulk(["a.txt"], [ExtractFailure("a.txt", "bad")])
    assert is_bulk(["a.zip"], one)
    assert is_bulk(["a.jsonl"], one)
    assert is_bulk(["a.txt", "b.txt"], one)


def test_source_is_a_name_a_link_or_both() -> None:
    assert parse_source("Kursiv https://kz.kursiv.media/x") == ("Kursiv", "https://kz.kursiv.media/x")
    assert parse_source("https://www.zakon.kz/news/1") == ("zakon.kz", "https://www.zakon.kz/news/1")
    assert parse_source("  Tengrinews  ") == ("Tengrinews", None)
    with pytest.raises(Refused):
        parse_source("   ")


# --- previews ----------------------------------------------------------------------------------------------


async def test_preview_is_pending_until_saved_by_its_admin(admin: AdminService) -> None:
    preview = await admin.preview(ADMIN, TextInput(DECREE, source="chat"))
    assert preview.pending_id is not None
    assert preview.summary
    assert await admin.repo.count() == 0
    assert await admin.save_pending(preview.pending_id, 7) is None, "another admin's preview"
    result = await admin.save_pending(preview.pending_id, ADMIN)
    assert result is not None
    assert result.id is not None
    assert await admin.save_pending(preview.pending_id, ADMIN) is None, "saved once"
    [entry] = await admin.audit.recent()
    assert (entry.admin_id, entry.action, entry.doc_id) == (ADMIN, Action.ADD, result.id)


async def test_exact_duplicate_is_not_kept_pending(admin: AdminService) -> None:
    await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    preview = await admin.preview(ADMIN, TextInput(DECREE, source="again"))
    assert preview.pending_id is None
    assert preview.prepared.duplicate is not None
    assert await admin.db.int_scalar("SELECT count(*) FROM pending_uploads") == 0


async def test_pending_edits_are_checked(admin: AdminService) -> None:
    preview = await admin.preview(ADMIN, TextInput(COUNCIL, source="chat"))
    assert preview.pending_id is not None
    edited = await admin.edit_pending(
        preview.pending_id, ADMIN, title="Новый заголовок", published="5.1.2026"
    )
    assert edited is not None
    assert edited.prepared.title == "Новый заголовок"
    assert edited.prepared.published == date(2026, 1, 5)
    with pytest.raises(Refused) as bad_date:
        await admin.edit_pending(preview.pending_id, ADMIN, published="когда-нибудь")
    assert bad_date.value.problem.kind is ProblemKind.BAD_DATE
    with pytest.raises(Refused) as bad_title:
        await admin.edit_pending(preview.pending_id, ADMIN, title="x" * 301)
    assert bad_title.value.problem.kind is ProblemKind.BAD_TITLE
    assert await admin.cancel_pending(preview.pending_id, ADMIN)
    assert await admin.pending_preview(preview.pending_id, ADMIN) is None


# --- bulk ----------------------------------------------------------------------------------------------------


def _numbered(i: int) -> RawItem:
    return RawItem(
        f"Заметка {i}. В Алатау обсудили вопрос номер {i} и решили вернуться к нему позже.", f"{i}.txt"
    )


async def test_bulk_reports_progress_between_batches_when_the_interval_has_passed(
    admin: AdminService, clock: TickingClock
) -> None:
    await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    entries: list[RawItem | ExtractFailure] = [_numbered(i) for i in range(150)]
    entries += [
        RawItem(AIRPORT, "copy.txt"),
        RawItem("Коротко.", "short.txt"),
        ExtractFailure("x.pdf", "the PDF has no pages"),
    ]
    seen: list[BulkProgress] = []

    async def on_progress(progress: BulkProgress) -> None:
        seen.append(progress)

    report = await admin.bulk(ADMIN, entries, on_progress)
    assert report.total == 153
    assert report.added == 150
    assert report.duplicates == 1
    assert [f.source for f in report.failures] == ["x.pdf", "short.txt"]
    assert report.failures[1].problem.kind is ProblemKind.TOO_SHORT
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
    service = AdminService(corpus, search, settings)
    seen: list[int] = []

    async def on_progress(progress: BulkProgress) -> None:
        seen.append(progress.done)

    await service.bulk(ADMIN, [_numbered(i) for i in range(130)], on_progress)
    assert seen == [64, 128, 130]


# --- hide, delete, undo, edit ----------------------------------------------------------------------------------


async def _index_row(db: Database, doc_id: int) -> tuple[str, str] | None:
    row = await db.fetchone("SELECT title, body FROM doc_fts WHERE rowid = ?", (doc_id,))
    return (row[0], row[1]) if row else None


async def test_hiding_leaves_search_and_showing_restores_the_same_index(admin: AdminService) -> None:
    result = await admin.corpus.ingest(TextInput(CRYPTO, source="seed"))
    assert result.id is not None
    indexed = await _index_row(admin.db, result.id)
    doc = await admin.set_hidden(ADMIN, result.id, True)
    assert doc is not None
    assert doc.hidden
    assert (await admin.search.search("песочница")).total == 0
    assert (await admin.documents("песочница", 0, 10)).total == 1, "admins still find it"
    await admin.corpus.term_stats.load(admin.db)  # as after a restart while it was hidden
    await admin.set_hidden(ADMIN, result.id, False)
    assert await _index_row(admin.db, result.id) == indexed
    assert (await admin.search.search("песочница")).total == 1
    actions = [e.action for e in await admin.audit.recent()]
    assert actions == [Action.SHOW, Action.HIDE]


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


async def test_delete_and_undo_bring_back_every_row(admin: AdminService) -> None:
    original = await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    retold = await admin.corpus.ingest(TextInput(DECREE + " Подробности позже.", source="seed"))
    assert original.id is not None
    assert retold.id is not None
    assert retold.duplicate_of == original.id
    before = await _rows(admin.db, original.id)
    assert before["copies"] == [(retold.id,)]

    deleted = await admin.delete(ADMIN, original.id)
    assert deleted is not None
    assert await admin.repo.get(original.id) is None
    assert (await admin.repo.get(retold.id)).duplicate_of is None  # type: ignore[union-attr]
    assert await admin.delete(ADMIN, original.id) is None

    restored = await admin.undo_delete(ADMIN, original.id)
    assert restored.id == original.id
    after = await _rows(admin.db, original.id)
    assert after == before
    assert await admin.db.int_scalar("SELECT count(*) FROM deleted_documents") == 0
    actions = [e.action for e in await admin.audit.recent()]
    assert actions[:2] == [Action.RESTORE, Action.DELETE]
    with pytest.raises(Refused) as twice:
        await admin.undo_delete(ADMIN, original.id)
    assert twice.value.problem.kind is ProblemKind.UNDO_EXPIRED


async def test_undo_is_refused_when_too_late_or_the_text_came_back(admin: AdminService) -> None:
    first = await admin.corpus.ingest(TextInput(COUNCIL, source="seed"))
    assert first.id is not None
    await admin.delete(ADMIN, first.id)
    old = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(timespec="seconds")
    await admin.db.conn.execute("UPDATE deleted_documents SET deleted_at = ?", (old,))
    with pytest.raises(Refused) as late:
        await admin.undo_delete(ADMIN, first.id)
    assert late.value.problem.kind is ProblemKind.UNDO_EXPIRED

    second = await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    assert second.id is not None
    await admin.delete(ADMIN, second.id)
    again = await admin.corpus.ingest(TextInput(AIRPORT, source="uploaded again"))
    with pytest.raises(Refused) as conflict:
        await admin.undo_delete(ADMIN, second.id)
    assert conflict.value.problem.kind is ProblemKind.DUPLICATE
    assert conflict.value.problem.params["doc_id"] == again.id


async def test_undo_keeps_the_old_id_and_search_finds_the_text_again(admin: AdminService) -> None:
    first = await admin.corpus.ingest(TextInput(COUNCIL, source="seed"))
    assert first.id is not None
    await admin.delete(ADMIN, first.id)
    newer = await admin.corpus.ingest(TextInput(CRYPTO, source="seed"))
    assert newer.id != first.id, "ids are never reused, so links to the deleted text stay dead"
    # As after a restart: the in-memory statistics no longer know the deleted text's words.
    await admin.corpus.term_stats.load(admin.db)
    restored = await admin.undo_delete(ADMIN, first.id)
    assert restored.id == first.id
    assert restored.story_id == first.id
    assert (await admin.search.search("заседание")).hits[0].document.id == first.id


async def test_edits_change_what_search_sees(admin: AdminService) -> None:
    result = await admin.corpus.ingest(TextInput(AIRPORT, source="seed"))
    assert result.id is not None
    doc = await admin.edit_title(ADMIN, result.id, "Гавань для самолётов")
    assert doc is not None
    assert doc.title == "Гавань для самолётов"
    assert (await admin.search.search("гавань")).total == 1
    doc = await admin.edit_date(ADMIN, result.id, "2026-02-03")
    assert doc is not None
    assert doc.published == date(2026, 2, 3)
    with pytest.raises(Refused):
        await admin.edit_date(ADMIN, result.id, "31.02.2026")
    doc = await admin.edit_source(ADMIN, result.id, "Kursiv https://kz.kursiv.media/a")
    assert doc is not None
    assert (doc.source_name, doc.url) == ("Kursiv", "https://kz.kursiv.media/a")
    assert await admin.edit_title(ADMIN, 999, "Нет такого") is None


# --- lists and figures -------------------------------------------------------------------------------------------


async def test_documents_newest_first_with_paging_and_filter(admin: AdminService) -> None:
    for text in (DECREE, CRYPTO, COUNCIL, AIRPORT):
        await admin.corpus.ingest(TextInput(text, source="seed"))
    first = await admin.documents("", 0, 3)
    assert (first.total, first.pages) == (4, 2)
    assert [d.published for d in first.documents] == sorted(
        (d.published for d in first.documents), reverse=True
    )
    assert first.documents[0].title.startswith("Аэропорт")
    second = await admin.documents("", 1, 3)
    assert len(second.documents) == 1
    found = await admin.documents("Алатау", 0, 10)
    assert found.total == 4
    assert (await admin.documents("zzzqqq", 0, 10)).total == 0


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


async def test_stats_and_chart(admin: AdminService) -> None:
    await admin.corpus.ingest(TextInput(DECREE, source="seed"))
    await admin.users.touch(1, "Reader", None)
    stats = await admin.stats(today=date(2025, 9, 20))
    assert stats.corpus.documents == 1
    assert stats.documents_per_week == ((date(2025, 9, 15), 1),)
    assert stats.subscriptions.subscribers == 0
    labels = ChartLabels("t", "texts", "readers", "subscribers", "people", "none")
    png = await admin.chart(stats, labels)
    assert png.startswith(b"\x89PNG")
    assert render_chart([], [], [], labels).startswith(b"\x89PNG")


async def test_a_big_bulk_upload_is_analysed_in_a_worker_process(admin: AdminService) -> None:
    from bot.admin import service as admin_module

    entries: list[RawItem | ExtractFailure] = [_numbered(i) for i in range(admin_module.POOL_THRESHOLD)]
    entries.append(RawItem("Коротко.", "short.txt"))
    report = await admin.bulk(ADMIN, entries)
    assert report.added == admin_module.POOL_THRESHOLD
    assert [f.source for f in report.failures] == ["short.txt"]
    assert report.failures[0].problem.kind is ProblemKind.TOO_SHORT
