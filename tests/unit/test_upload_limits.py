"""Limits on the work an upload may cost (issue 14, item 10), and the worker that reads files with a budget.

The hostile files are built here (tests/hostile_files.py) at sizes that keep this suite quick; the full
sizes of the red-team run are in the slow tests.
"""

from __future__ import annotations

import io
import os
import signal
import zipfile
from collections.abc import AsyncIterator

import pytest

from bot.corpus.extract import ExtractFailure, Limits, RawItem, UploadReason, extract_bytes
from bot.corpus.extract.worker import ExtractionWorker
from bot.text.normalize import normalize_text
from bot.text.titles import make_title
from tests.hostile_files import emphasis_runs_md, huge_xml_docx, near_ratio_zip

# A budget no correct reading of these files comes near, and that the old quadratic code overran by minutes.
GENEROUS = Limits(max_extract_seconds=60.0)


def reason(results: list[RawItem | ExtractFailure]) -> UploadReason:
    assert len(results) == 1, results
    failure = results[0]
    assert isinstance(failure, ExtractFailure), failure
    return failure.error.reason


@pytest.fixture
async def worker() -> AsyncIterator[ExtractionWorker]:
    extraction = ExtractionWorker()
    yield extraction
    await extraction.close()


# --- .docx: XML size and element count ------------------------------------------------------------------


def test_docx_over_the_element_cap_is_refused_as_too_complex() -> None:
    data = huge_xml_docx(2_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    assert inflated < 40 * len(data)  # under every ratio limit: only the work limit can catch it
    limits = Limits(max_docx_elements=5_000)
    assert reason(list(extract_bytes("report.docx", data, limits))) is UploadReason.DOCX_TOO_COMPLEX
    # Within the caps the same file reads (the caps are what refuses it, not damage).
    item = next(iter(extract_bytes("report.docx", data, Limits(max_text_chars=10**7))))
    assert isinstance(item, RawItem) and item.text.count("\n\n") == 1_999


def test_docx_over_the_xml_size_cap_is_refused() -> None:
    limits = Limits(max_docx_xml_bytes=100 * 1024)
    data = huge_xml_docx(2_000)
    assert reason(list(extract_bytes("report.docx", data, limits))) is UploadReason.DOCX_TOO_COMPLEX
    assert "100 KB of XML" in str(next(iter(extract_bytes("report.docx", data, limits))).reason)


# --- .md: linear stripping ------------------------------------------------------------------------------


async def test_markdown_of_emphasis_runs_reads_within_budget(worker: ExtractionWorker) -> None:
    # 191 KB of `*`, `_` and `[` took 18.8 s; each opening marker rescanned the line for its closing one.
    results = await worker.extract("runs.md", emphasis_runs_md(191_000), GENEROUS)
    assert len(results) == 1 and isinstance(results[0], RawItem), results
    assert results[0].title == "Заголовок"


@pytest.mark.parametrize(
    "line",
    [
        "**a " * 30_000,  # emphasis that never closes
        "[a](" * 30_000,  # links that never close
        "# a" + " " * 120_000 + "b",  # a heading with a long run of spaces
        "<http:" * 20_000,
        "`" + "a `` " * 20_000,
    ],
    ids=["emphasis", "links", "heading-spaces", "autolinks", "backticks"],
)
async def test_markdown_hostile_lines_read_within_budget(worker: ExtractionWorker, line: str) -> None:
    results = await worker.extract(
        "a.md", line.encode(), Limits(max_text_chars=10**6, max_extract_seconds=60)
    )
    assert isinstance(results[0], RawItem), results


def test_markdown_markup_is_still_stripped() -> None:
    text = "Это *важно*, **очень** и __сильно__, ~~нет~~, `код`, [ссылка](https://a.kz), snake_case_name."
    item = next(iter(extract_bytes("a.md", text.encode())))
    assert isinstance(item, RawItem)
    assert item.text == "Это важно, очень и сильно, нет, код, ссылка, snake_case_name."


@pytest.mark.parametrize(
    "page",
    [
        "<p>x</p>" + "<a " * 20_000,  # tags that never close: HTMLParser rescanned the rest from each
        "<p>x</p>" + "<!--" * 20_000,  # comments that never close
        "<p>x</p>" + "<svg>" * 20_000 + "</div>" * 20_000,  # a deep stack of skipped elements
        "<p>x</p>" + "</" * 20_000,
    ],
    ids=["unclosed-tags", "unclosed-comments", "deep-skipped", "end-tags"],
)
async def test_html_hostile_pages_read_within_budget(worker: ExtractionWorker, page: str) -> None:
    results = await worker.extract(
        "a.html", page.encode(), Limits(max_text_chars=10**6, max_extract_seconds=60)
    )
    assert isinstance(results[0], RawItem), results
    assert results[0].text.startswith("x")


# --- .zip: the whole archive's ratio ----------------------------------------------------------------------


def test_zip_of_many_members_each_under_the_ratio_is_refused_as_a_whole() -> None:
    data = near_ratio_zip(40)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    limits = Limits()
    assert all(info.file_size < limits.zip_ratio_min_bytes for info in infos)  # no member is judged alone
    assert all(info.file_size < limits.max_zip_ratio * info.compress_size for info in infos)
    results = list(extract_bytes("batch.zip", data, limits))
    assert reason(results) is UploadReason.ZIP_RATIO
    assert results[0].error.params["limit"] == 40


def test_zip_of_ordinary_texts_is_not_judged_by_ratio() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(30):
            archive.writestr(f"n{index}.txt", os.urandom(20_000).hex())  # compresses about twice
    results = list(extract_bytes("batch.zip", buffer.getvalue()))
    assert len(results) == 30


@pytest.mark.slow
def test_red_team_sizes_are_refused_or_read() -> None:
    """The red-team files at their sizes: a 220-member zip and a docx of ~190 MB of XML."""
    assert reason(list(extract_bytes("batch.zip", near_ratio_zip(220)))) is UploadReason.ZIP_RATIO
    assert reason(list(extract_bytes("big.docx", huge_xml_docx(900_000)))) is UploadReason.DOCX_TOO_COMPLEX


# --- the worker's wall-time budget ------------------------------------------------------------------------


async def test_a_file_over_its_time_budget_is_refused_and_the_worker_replaced(
    worker: ExtractionWorker,
) -> None:
    # No reading of 3 MB of HTML fits in a millisecond (the transfer alone takes longer).
    page = ("<div>" * 200_000 + "текст").encode()
    results = await worker.extract("slow.html", page, Limits(max_extract_seconds=0.001))
    assert reason(results) is UploadReason.EXTRACT_TIMEOUT
    assert "0.001 s" in str(results[0].error)  # type: ignore[union-attr]
    # The stuck worker was killed; the next file gets a fresh one.
    results = await worker.extract("ok.txt", "Обычный текст.".encode(), GENEROUS)
    assert results == [RawItem("Обычный текст.", "ok.txt")]


async def test_a_worker_that_dies_fails_only_its_file(worker: ExtractionWorker) -> None:
    assert await worker.extract("a.txt", b"one", GENEROUS) == [RawItem("one", "a.txt")]
    process = worker._process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(5)
    # The dead worker is noticed before the next file is sent: that file gets a fresh one.
    assert await worker.extract("b.txt", b"two", GENEROUS) == [RawItem("two", "b.txt")]
    assert await worker.extract("c.txt", b"three", GENEROUS) == [RawItem("three", "c.txt")]


async def test_worker_ends_on_close(worker: ExtractionWorker) -> None:
    await worker.extract("a.txt", b"one", GENEROUS)
    process = worker._process
    assert process is not None and process.is_alive()
    await worker.close()
    assert not process.is_alive()


# --- titles: bidirectional controls ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "control", ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2069", "\u200e", "\u200f"]
)
def test_titles_keep_no_bidi_controls(control: str) -> None:
    given = f"Акимат {control}Алатау{control} открыл новую школу для детей района."
    assert control not in normalize_text(given)
    assert control not in make_title(given)
    item = next(iter(extract_bytes("a.md", f"# Новости {control}Алатау\n\nТекст.".encode())))
    assert isinstance(item, RawItem) and item.title is not None
    assert control not in normalize_text(item.title)
