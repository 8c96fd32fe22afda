"""Tests of bot.corpus.extract: every format, the encoding guesser, archive guards and robustness on junk input.

Fixtures are generated in the tests (python-docx, fpdf2, zipfile) rather than committed as binaries.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from functools import cache
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.extract import (
    SUPPORTED_EXTENSIONS,
    ExtractFailure,
    Limits,
    RawItem,
    UploadError,
    UploadReason,
    decode_text,
    extract_bytes,
    extract_path,
)
from bot.corpus.extract.pdf import _reflow_pdf_text
from bot.corpus.extract.zip import _read_member
from tests.files import make_zip

RU_PARAGRAPH = (
    "Министр юстиции напомнил, что указом Президента городу Алатау уже придан статус города опережающего "
    "развития. По его словам, такой подход позволит обеспечить правовую предсказуемость для инвесторов. "
    "Закон о специальном статусе «Алатау Сити» планируют принять до конца года — это ключевой шаг."
)
RU_SHORT = "Алатау станет городом будущего."
UNDECODABLE = "could not decode the text (not UTF-8, UTF-16, cp1251 or koi8-r)"

_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
CYRILLIC_FONT = next((path for path in _FONT_CANDIDATES if path.exists()), None)


def run(name: str, data: bytes, limits: Limits | None = None) -> list[RawItem | ExtractFailure]:
    results = list(extract_bytes(name, data) if limits is None else extract_bytes(name, data, limits))
    assert all(isinstance(result, RawItem | ExtractFailure) for result in results)
    return results


def only_item(results: list[RawItem | ExtractFailure]) -> RawItem:
    assert len(results) == 1, results
    assert isinstance(results[0], RawItem), results
    return results[0]


def only_failure(results: list[RawItem | ExtractFailure]) -> ExtractFailure:
    assert len(results) == 1, results
    assert isinstance(results[0], ExtractFailure), results
    return results[0]


def failed(source: str, reason: str) -> tuple[str, str]:
    """A failure as the CLI shows it: its source and its English sentence."""
    return source, reason


def shown(results: list[RawItem | ExtractFailure]) -> list[RawItem | tuple[str, str]]:
    return [failed(r.source, r.reason) if isinstance(r, ExtractFailure) else r for r in results]


def make_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    pixels = bytes(random.Random(3).randrange(256) for _ in range(16 * (1 + 16 * 3)))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


@cache
def make_docx(with_core_title: bool = True) -> bytes:
    document = docx.Document()
    if with_core_title:
        document.core_properties.title = "Алатау: итоги года"
    document.add_heading("Новости Алатау", level=1)
    document.add_paragraph("Первый абзац о строительстве новой школы.")
    document.add_paragraph("")
    document.add_paragraph("Второй абзац: дороги и парки.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Объект"
    table.cell(0, 1).text = "Срок"
    table.cell(1, 0).text = "Школа на 1200 мест"
    table.cell(1, 1).text = "2026 год"
    document.add_paragraph("Заключение после таблицы.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf_with_font() -> tuple[FPDF, bool]:
    pdf = FPDF()
    pdf.add_page()
    if CYRILLIC_FONT is None:
        pdf.set_font("helvetica", size=12)
        return pdf, False
    pdf.add_font("DejaVu", fname=str(CYRILLIC_FONT))
    pdf.set_font("DejaVu", size=12)
    return pdf, True


# Lines placed one by one, as a typesetter would, with a word hyphenated at a line end.
PDF_LINES_RU = [
    "Специальный статус территории представляет собой исключение из общего",
    "режима правового регулиро-",
    "вания и допустим лишь при прямом конституционном основании.",
]
PDF_LINES_LATIN = [
    "The special status of the territory is an exception from the general",
    "regime of legal regu-",
    "lation and is allowed only on a direct constitutional basis.",
]


@cache
def make_pdf() -> tuple[bytes, bool]:
    """A PDF with a heading, a wrapped paragraph and hand-placed hyphenated lines; flag: Cyrillic text."""
    pdf, cyrillic = _pdf_with_font()
    heading = "Заголовок статьи" if cyrillic else "Article heading"
    paragraph = RU_PARAGRAPH if cyrillic else "Alatau City got a special status. " * 6
    pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 7, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in PDF_LINES_RU if cyrillic else PDF_LINES_LATIN:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output()), cyrillic


HTML_PAGE = """<!DOCTYPE html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <title>В Алатау откроют школу | Alatau News</title>
  <meta property="og:url" content="https://example.kz/og-url">
  <link rel="canonical" href="https://example.kz/news/school">
  <meta property="article:published_time" content="2026-01-24T10:00:00+05:00">
  <style>body { color: red; } .x::before { content: "СТИЛЬ"; }</style>
  <script>var secret = "СКРИПТ"; if (a < b) {}</script>
</head>
<body>
  <header><a href="/">Логотип</a><h1>Alatau News</h1></header>
  <nav><ul><li>Главная</li><li>Политика</li></ul></nav>
  <article>
    <h1>В Алатау откроют   школу</h1>
    <p>Школа на 1200 мест &laquo;Болашак&raquo; откроется в&nbsp;сентябре &amp; примет первых учеников.</p>
    <p>Строительство<br>завершено на 90&#37;. <b>Подробности</b> <i>позже</i>.</p>
    <noscript>Включите JavaScript</noscript>
    <template><p>ШАБЛОН</p></template>
  </article>
  <aside>Читайте также: реклама</aside>
  <footer>© 2026 Подвал сайта</footer>
</body>
</html>
"""


# --- decoding -------------------------------------------------------------------------------------------


ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8-bom": lambda text: text.encode("utf-8-sig"),
    "utf-16-le-bom": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "utf-16-be-bom": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "utf-16-le-no-bom": lambda text: text.encode("utf-16-le"),
    "utf-16-be-no-bom": lambda text: text.encode("utf-16-be"),
    "cp1251": lambda text: text.encode("cp1251"),
    "koi8-r": lambda text: text.replace("«", '"').replace("»", '"').replace("—", "-").encode("koi8-r"),
}


def _expected(encoding: str, text: str) -> str:
    # KOI8-R has no guillemets or em dash, so the KOI8-R sample uses ASCII stand-ins.
    return text.replace("«", '"').replace("»", '"').replace("—", "-") if encoding == "koi8-r" else text


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("text", [RU_PARAGRAPH, RU_SHORT], ids=["paragraph", "short"])
def test_decode_text_recovers_russian(encoding: str, text: str) -> None:
    data = ENCODINGS[encoding](text)
    assert decode_text(data) == _expected(encoding, text)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_txt_file_gives_one_item_with_the_original_text(encoding: str) -> None:
    item = only_item(run("news.txt", ENCODINGS[encoding](RU_PARAGRAPH + "\n")))
    assert item == RawItem(text=_expected(encoding, RU_PARAGRAPH), source="news.txt")


@pytest.mark.parametrize(
    "text",
    [
        "Привет, мир!",
        "ВНИМАНИЕ: ОБЪЯВЛЕНИЕ ДЛЯ ЖИТЕЛЕЙ",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "цены на жильё выросли",
        "Шымкент и Алматы",
    ],
)
@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_cp1251_and_koi8r_are_told_apart_on_short_texts(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_windows_line_endings_are_normalized() -> None:
    item = only_item(run("a.txt", "Первая строка.\r\nВторая строка.\r\n".encode("cp1251")))
    assert item.text == "Первая строка.\nВторая строка."


def test_utf8_with_a_cut_character_is_still_utf8() -> None:
    data = RU_PARAGRAPH.encode("utf-8")[:-1]  # the em dash / last letter cut in half
    assert decode_text(data).startswith("Министр юстиции")


@pytest.mark.parametrize(
    "data",
    [
        random.Random(0).randbytes(4096),
        random.Random(1).randbytes(64),
        make_png(),
        bytes(range(256)) * 4,
        b"\x00\x01\x02\x03" * 100,
    ],
    ids=["random-4k", "random-64", "png", "all-bytes", "binary-zeros"],
)
def test_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(UploadError) as caught:
        decode_text(data)
    assert caught.value.reason is UploadReason.UNDECODABLE
    assert str(caught.value) == UNDECODABLE
    assert only_failure(run("image.txt", data)) == ExtractFailure(
        "image.txt", UploadError(UploadReason.UNDECODABLE)
    )


def test_empty_file_has_no_text() -> None:
    assert only_failure(run("empty.txt", b"")).reason == "the file contains no text"
    assert only_failure(run("blank.txt", b" \n\t\n")).reason == "the file contains no text"


# --- Markdown -------------------------------------------------------------------------------------------


def test_markdown_is_stripped_lightly_and_keeps_paragraphs() -> None:
    markdown = (
        "# Новости **Алатау**\n"
        "\n"
        "Первый абзац со *слабым* и __сильным__ выделением, ссылкой [на сайт](https://example.kz)\n"
        "и картинкой ![фото](img.png) внутри, плюс `код` и <span>тег</span> и переменная snake_case_name.\n"
        "\n"
        "## Подзаголовок\n"
        "\n"
        "> Цитата министра.\n"
        "\n"
        "- первый пункт\n"
        "- второй пункт\n"
        "\n"
        "```python\n"
        "print('*не* трогать')\n"
        "```\n"
        "\n"
        "---\n"
        "Экранированная \\*звёздочка\\*.\n"
        "[ref]: https://example.kz/ref\n"
    )
    item = only_item(run("note.md", markdown.encode("utf-8")))
    assert item.title == "Новости Алатау"
    assert item.text == (
        "Новости Алатау\n"
        "\n"
        "Первый абзац со слабым и сильным выделением, ссылкой на сайт\n"
        "и картинкой  внутри, плюс код и тег и переменная snake_case_name.\n"
        "\n"
        "Подзаголовок\n"
        "\n"
        "Цитата министра.\n"
        "\n"
        "первый пункт\n"
        "второй пункт\n"
        "\n"
        "print('*не* трогать')\n"
        "\n"
        "Экранированная *звёздочка*."
    )


def test_markdown_without_level_one_heading_has_no_title() -> None:
    item = only_item(run("a.md", "## Второй уровень\n\nТекст.".encode("cp1251")))
    assert item.title is None
    assert item.text == "Второй уровень\n\nТекст."


def test_markdown_setext_heading_gives_title() -> None:
    item = only_item(run("a.md", "Заголовок\n=========\n\nТекст заметки.".encode()))
    assert item.title == "Заголовок"
    assert item.text == "Заголовок\n\nТекст заметки."


# --- HTML -----------------------------------------------------------------------------------------------


def test_html_drops_page_chrome_and_decodes_entities() -> None:
    item = only_item(run("page.html", HTML_PAGE.encode("utf-8")))
    assert item.text == (
        "В Алатау откроют школу\n"
        "\n"
        "Школа на 1200 мест «Болашак» откроется в\xa0сентябре & примет первых учеников.\n"
        "\n"
        "Строительство\n"
        "завершено на 90%. Подробности позже."
    )
    for chrome in ("СТИЛЬ", "СКРИПТ", "Логотип", "Главная", "реклама", "Подвал", "JavaScript", "ШАБЛОН"):
        assert chrome not in item.text
    assert (
        item.title == "В Алатау откроют школу"
    )  # the article's h1, not the header's or the suffixed <title>
    assert item.url == "https://example.kz/news/school"
    assert item.date == "2026-01-24T10:00:00+05:00"


def test_html_prefers_og_title_and_falls_back_to_og_url_and_time() -> None:
    page = (
        '<html><head><meta property="og:title" content="Заголовок из og">'
        '<meta property="og:url" content="https://example.kz/og"></head>'
        '<body><h1>Другой</h1><p>Текст <time datetime="2026-02-01">1 февраля</time>.</p></body></html>'
    )
    item = only_item(run("a.htm", page.encode()))
    assert (item.title, item.url, item.date) == ("Заголовок из og", "https://example.kz/og", "2026-02-01")


def test_html_title_without_h1_loses_site_suffix() -> None:
    page = "<html><head><title>Новая школа | Alatau News</title></head><body><p>Текст.</p></body></html>"
    item = only_item(run("a.html", page.encode()))
    assert item.title == "Новая школа"
    assert item.text == "Текст."


def test_html_svg_title_and_unclosed_title_do_not_leak() -> None:
    page = "<body><svg><title>Иконка</title></svg><p>Текст</p></body>"
    assert only_item(run("a.html", page.encode())) == RawItem("Текст", "a.html")
    page = "<head><title>Заголовок<body><p>Текст страницы</p></body>"
    assert only_item(run("a.html", page.encode())) == RawItem("Текст страницы", "a.html", title="Заголовок")


@pytest.mark.parametrize("charset", ["windows-1251", "koi8-r"])
def test_html_declared_charset_is_respected(charset: str) -> None:
    page = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        f"<title>{RU_SHORT}</title></head><body><p>{RU_SHORT}</p></body></html>"
    )
    item = only_item(run("a.html", page.encode(charset)))
    assert (item.text, item.title) == (RU_SHORT, RU_SHORT)


def test_html_without_charset_is_detected_like_text() -> None:
    page = f"<html><body><p>{RU_PARAGRAPH}</p></body></html>"
    assert only_item(run("a.html", page.encode("cp1251"))).text == RU_PARAGRAPH


def test_html_with_only_chrome_has_no_text() -> None:
    page = "<html><body><nav>Меню</nav><script>x()</script></body></html>"
    assert only_failure(run("a.html", page.encode())).reason == "the file contains no text"


# --- Word -----------------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_cells_in_order() -> None:
    item = only_item(run("report.docx", make_docx()))
    assert item.title == "Алатау: итоги года"
    assert item.text == (
        "Новости Алатау\n\nПервый абзац о строительстве новой школы.\n\nВторой абзац: дороги и парки.\n\n"
        "Объект\n\nСрок\n\nШкола на 1200 мест\n\n2026 год\n\nЗаключение после таблицы."
    )


def test_docx_title_falls_back_to_first_heading() -> None:
    assert only_item(run("report.docx", make_docx(with_core_title=False))).title == "Новости Алатау"


def test_docx_merged_cells_are_read_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Шапка во всю ширину"
    table.cell(1, 0).merge(table.cell(2, 0)).text = "Слева на две строки"
    table.cell(1, 1).text = "А"
    table.cell(2, 1).text = "Б"
    buffer = io.BytesIO()
    document.save(buffer)
    item = only_item(run("t.docx", buffer.getvalue()))
    assert item.text == "Шапка во всю ширину\n\nСлева на две строки\n\nА\n\nБ"
    assert item.title is None


@pytest.mark.parametrize(
    "data",
    [b"not a word file at all", make_zip([("hello.txt", b"hi")]), make_docx()[:2000]],
    ids=["junk", "other-zip", "truncated"],
)
def test_damaged_docx_is_reported(data: bytes) -> None:
    assert only_failure(run("bad.docx", data)).reason == "the .docx file is damaged or not a Word document"


# --- PDF ------------------------------------------------------------------------------------------------


def test_pdf_text_layer_with_mended_hyphenation_and_joined_lines() -> None:
    data, cyrillic = make_pdf()
    item = only_item(run("doc.pdf", data))
    paragraphs = item.text.split("\n\n")
    if cyrillic:
        assert paragraphs[0] == "Заголовок статьи"
        assert "\n" not in paragraphs[1]
        assert paragraphs[1].startswith(RU_PARAGRAPH)  # the wrapped paragraph is whole again
        assert "правового регулирования и допустим" in item.text
    else:  # no Cyrillic TTF font on this system: the same checks on Latin text
        assert paragraphs[0] == "Article heading"
        assert "legal regulation and is allowed" in item.text


def test_pdf_without_text_layer_is_refused() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    failure = only_failure(run("scan.pdf", bytes(pdf.output())))
    assert failure.reason == "the PDF has no text layer (a scanned image?); send the text instead"


def test_password_protected_pdf_is_refused() -> None:
    pdf, _ = _pdf_with_font()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.cell(0, 10, "Secret")
    failure = only_failure(run("locked.pdf", bytes(pdf.output())))
    assert "password-protected" in failure.reason


def test_pdf_encrypted_without_user_password_is_read() -> None:
    pdf, _ = _pdf_with_font()
    pdf.set_encryption(owner_password="owner")  # permissions only: anyone may open it
    pdf.cell(0, 10, "Open text")
    assert only_item(run("open.pdf", bytes(pdf.output()))).text == "Open text"


@pytest.mark.parametrize(
    "data", [b"%PDF-1.4\nnot really", b"", make_pdf()[0][:300]], ids=["junk", "empty", "cut"]
)
def test_damaged_pdf_is_reported(data: bytes) -> None:
    failure = only_failure(run("bad.pdf", data))
    assert "PDF" in failure.reason or failure.reason == "the file contains no text"


def test_pdf_reflow_rules() -> None:
    text = (
        "Длинная строка абзаца, заполняющая всю ширину полосы набора,\n"
        "продолжение абзаца, тоже во всю ширину полосы набора текста,\n"
        "и конец.\n"
        "Новый абзац начинается с заглавной буквы и идёт во всю ширину,\n"
        "слово Алатау-\n"
        "Сити с дефисом и перенос обще-\n"
        "го слова; мягкий пере\xad\n"
        "нос тоже."
    )
    assert _reflow_pdf_text(text) == (
        "Длинная строка абзаца, заполняющая всю ширину полосы набора, продолжение абзаца, тоже во всю "
        "ширину полосы набора текста, и конец.\n\n"
        "Новый абзац начинается с заглавной буквы и идёт во всю ширину, слово Алатау-Сити с дефисом и "
        "перенос общего слова; мягкий перенос тоже."
    )


# --- JSON Lines and JSON --------------------------------------------------------------------------------


def test_jsonl_good_lines_survive_bad_ones() -> None:
    lines = [
        '{"text": "Первая новость.", "title": "Заголовок", "url": "https://e.kz/1", "date": "2026-01-24", '
        '"lang": "ru", "extra": 1}',
        "",
        "{not json",
        '{"title": "без текста"}',
        '{"text": "Вторая новость.", "title": 5, "url": null, "date": ["x"]}',
        '["a", "list"]',
        '{"text": 42}',
        '{"text": "   "}',
        '{"text": "Третья новость."}',
    ]
    results = run("feed.jsonl", "\n".join(lines).encode())
    failures = [r.error for r in results if isinstance(r, ExtractFailure)]
    assert [(e.reason, e.line) for e in failures] == [
        (UploadReason.JSON_LINE_INVALID, 3),
        (UploadReason.JSON_NO_TEXT_FIELD, 4),
        (UploadReason.JSON_NOT_OBJECT, 6),
        (UploadReason.JSON_TEXT_NOT_STRING, 7),
        (UploadReason.JSON_TEXT_EMPTY, 8),
    ]
    assert shown(results) == [
        RawItem(
            "Первая новость.",
            "feed.jsonl:1",
            title="Заголовок",
            url="https://e.kz/1",
            date="2026-01-24",
            lang="ru",
        ),
        failed("feed.jsonl:3", "line 3: not valid JSON"),
        failed("feed.jsonl:4", 'line 4: no "text" field'),
        RawItem("Вторая новость.", "feed.jsonl:5"),  # wrong-typed metadata is dropped, the text kept
        failed("feed.jsonl:6", "line 6: not a JSON object"),
        failed("feed.jsonl:7", 'line 7: the "text" field is not a string'),
        failed("feed.jsonl:8", 'line 8: the "text" field is empty'),
        RawItem("Третья новость.", "feed.jsonl:9"),
    ]


def test_jsonl_text_over_limit_fails_that_line_only() -> None:
    data = '{"text": "коротко"}\n{"text": "длинный текст"}\n'.encode()
    results = run("a.jsonl", data, Limits(max_text_chars=10))
    assert shown(results) == [
        RawItem("коротко", "a.jsonl:1"),
        failed("a.jsonl:2", "line 2: the text is 13 characters long, the limit is 10"),
    ]


def test_jsonl_keeps_line_separators_inside_strings() -> None:
    data = '{"text": "до\u2028после"}\n{"text": "ещё"}'.encode()
    assert [r.text for r in run("a.jsonl", data) if isinstance(r, RawItem)] == ["до\u2028после", "ещё"]


def test_jsonl_many_bad_lines_are_summarised() -> None:
    data = ("junk\n" * 30 + '{"text": "ok"}\n').encode()
    results = run("a.jsonl", data, Limits(max_line_failures=5))
    assert sum(isinstance(r, ExtractFailure) for r in results) == 6
    assert RawItem("ok", "a.jsonl:31") in results
    assert shown(results)[-1] == failed("a.jsonl", "25 more bad entries were not listed")
    assert results[-1] == ExtractFailure("a.jsonl", UploadError(UploadReason.MORE_FAILURES, count=25))


def test_json_list_of_objects() -> None:
    data = '[{"text": "Один", "lang": "ru"}, {"text": ""}, {"text": "Два"}]'.encode()
    assert shown(run("a.json", data)) == [
        RawItem("Один", "a.json:1", lang="ru"),
        failed("a.json:2", 'item 2: the "text" field is empty'),
        RawItem("Два", "a.json:3"),
    ]


def test_json_single_object_and_bad_shapes() -> None:
    assert run("a.json", b'{"text": "one", "title": "T"}') == [RawItem("one", "a.json", title="T")]
    assert only_failure(run("a.json", b'"just a string"')).reason.startswith("the .json file must hold")
    assert only_failure(run("a.json", b"[1, 2")).reason == "the .json file is not valid JSON"
    assert only_failure(run("a.json", b"[" * 100_000)).reason == "the .json file is not valid JSON"


def test_empty_jsonl_has_no_text() -> None:
    assert only_failure(run("a.jsonl", b"\n\n")).reason == "the file contains no text"


# --- ZIP ------------------------------------------------------------------------------------------------


def test_zip_with_mixed_files() -> None:
    inner_zip = make_zip([("x.txt", b"inner")])
    data = make_zip(
        [
            ("docs/", b""),
            ("docs/a.txt", RU_SHORT.encode("cp1251")),
            ("docs/b.md", "# Заголовок\n\nТекст.".encode()),
            ("c.html", HTML_PAGE.encode()),
            ("d.jsonl", b'{"text": "one"}\n{"text": "two"}\n'),
            ("e.docx", make_docx()),
            ("inner.zip", inner_zip),
            ("tool.exe", b"MZ\x90\x00"),
            (".hidden.txt", b"hidden"),
            ("__MACOSX/docs/._a.txt", b"\x00\x05\x16\x07"),
        ]
    )
    results = run("batch.zip", data)
    by_source = {result.source: result for result in results}
    assert list(by_source) == [
        "batch.zip:c.html",
        "batch.zip:d.jsonl:1",
        "batch.zip:d.jsonl:2",
        "batch.zip:docs/a.txt",
        "batch.zip:docs/b.md",
        "batch.zip:e.docx",
        "batch.zip:inner.zip",
        "batch.zip:tool.exe",
    ]
    assert by_source["batch.zip:docs/a.txt"] == RawItem(RU_SHORT, "batch.zip:docs/a.txt")
    assert by_source["batch.zip:docs/b.md"] == RawItem(
        "Заголовок\n\nТекст.", "batch.zip:docs/b.md", title="Заголовок"
    )
    assert isinstance(by_source["batch.zip:c.html"], RawItem)
    assert isinstance(by_source["batch.zip:e.docx"], RawItem)
    assert by_source["batch.zip:d.jsonl:2"] == RawItem("two", "batch.zip:d.jsonl:2")
    nested = by_source["batch.zip:inner.zip"]
    assert isinstance(nested, ExtractFailure)
    assert "archives inside archives" in nested.reason
    unsupported = by_source["batch.zip:tool.exe"]
    assert isinstance(unsupported, ExtractFailure)
    assert unsupported.reason.startswith("unsupported file type .exe")


def test_zip_member_names_in_cp866_are_read() -> None:
    # Russian Windows archivers store names in cp866 without the UTF-8 flag; zipfile would show mojibake.
    name = "Новости.txt"
    placeholder = "N" * len("Новости") + ".txt"
    data = make_zip([(placeholder, b"hello")]).replace(placeholder.encode(), name.encode("cp866"))
    assert only_item(run("a.zip", data)).source == f"a.zip:{name}"


@pytest.mark.parametrize(
    "evil", ["../evil.txt", "docs/../../evil.txt", "/etc/evil.txt", "C:/evil.txt", "..\\evil.txt"]
)
def test_zip_with_path_traversal_is_refused(evil: str) -> None:
    data = make_zip([("good.txt", b"fine"), (evil, b"evil")])
    failure = only_failure(run("evil.zip", data))
    assert failure.source == "evil.zip"
    assert "unsafe path" in failure.reason
    assert repr(evil) in failure.reason


def test_zip_with_too_many_members_is_refused() -> None:
    data = make_zip((f"f{n}.txt", b"x") for n in range(1001))
    assert only_failure(run("many.zip", data)).reason == "the archive has 1001 entries, the limit is 1000"
    assert only_failure(run("many.zip", data, Limits(max_zip_members=10))).reason.endswith("the limit is 10")


def test_zip_compression_bomb_is_refused() -> None:
    data = make_zip([("readme.txt", b"ok"), ("zeros.txt", b"\x00" * (4 * 1024 * 1024))])
    assert len(data) < 50_000
    failure = only_failure(run("bomb.zip", data))
    assert failure.reason.startswith("the archive looks like a compression bomb: zeros.txt expands")


def test_zip_over_unpacked_limit_is_refused() -> None:
    data = make_zip([("a.txt", b"a" * 3000), ("b.txt", b"b" * 3000)], method=zipfile.ZIP_STORED)
    failure = only_failure(run("big.zip", data, Limits(max_zip_unpacked_bytes=5000)))
    assert failure.reason.startswith("the archive unpacks to")


def test_zip_member_over_file_limit_fails_alone() -> None:
    data = make_zip([("big.txt", b"a " * 1024), ("small.txt", b"ok")])
    assert len(data) < 1024
    results = run("a.zip", data, Limits(max_file_bytes=1024))
    assert shown(results) == [
        failed("a.zip:big.txt", "the file is 2 KB, the limit is 1 KB"),
        RawItem("ok", "a.zip:small.txt"),
    ]


def test_zip_member_lying_about_its_size_is_not_trusted() -> None:
    content = "Текст. ".encode() * 100_000
    data = bytearray(make_zip([("liar.txt", content)]))
    declared = struct.pack("<I", len(content))
    # The uncompressed size sits at byte 22 of the local header and byte 24 of the central directory entry.
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == declared == data[central + 24 : central + 28]
    data[local + 22 : local + 26] = data[central + 24 : central + 28] = struct.pack("<I", 100)
    failure = only_failure(run("liar.zip", bytes(data)))
    assert failure == ExtractFailure("liar.zip:liar.txt", UploadError(UploadReason.ZIP_MEMBER_DAMAGED))
    assert failure.reason == "the file could not be unpacked (the archive is damaged)"


def test_reading_a_member_stops_at_the_cap() -> None:
    data = make_zip([("a.txt", b"a" * 10_000)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("a.txt")
        assert _read_member(archive, info, 9_999) is None
        assert _read_member(archive, info, 10_000) == b"a" * 10_000


def test_zip_with_unsupported_compression_is_refused_per_member() -> None:
    data = make_zip([("a.txt", b"text " * 100)], method=zipfile.ZIP_BZIP2)
    assert "compressed with a method" in only_failure(run("a.zip", data)).reason


@pytest.mark.parametrize("data", [b"PK\x03\x04 broken", b"not a zip", make_zip([("a.txt", b"x" * 100)])[:60]])
def test_damaged_zip_is_reported(data: bytes) -> None:
    failure = only_failure(run("a.zip", data))
    assert failure.reason in (
        "the .zip archive is damaged",
        "the file could not be unpacked (the archive is damaged)",
    )


def test_empty_zip_is_reported() -> None:
    assert (
        only_failure(run("a.zip", make_zip([("dir/", b"")]))).reason == "the .zip archive contains no files"
    )


# --- names, limits, paths -------------------------------------------------------------------------------


def test_unsupported_and_missing_extensions() -> None:
    failure = only_failure(run("photo.JPG", b"\xff\xd8"))
    assert failure.reason.startswith("unsupported file type .jpg (supported: .docx, .htm, .html, .json")
    assert only_failure(run("README", b"text")).reason.startswith("the file has no extension")
    assert ".txt" in SUPPORTED_EXTENSIONS


def test_upper_case_extension_is_accepted() -> None:
    assert only_item(run("NEWS.TXT", b"hello")).text == "hello"


def test_file_over_size_limit_is_refused() -> None:
    failure = only_failure(run("big.txt", b"a" * (21 * 1024 * 1024)))
    assert failure.reason == "the file is 21 MB, the limit is 20 MB"


def test_text_over_char_limit_is_refused() -> None:
    failure = only_failure(run("long.txt", b"a" * 200_001))
    assert failure.reason == "the text is 200001 characters long, the limit is 200000"


def test_extract_path_walks_a_folder_sorted_skipping_hidden(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "__MACOSX").mkdir()
    (root / "empty").mkdir()
    (root / "a.txt").write_bytes(RU_SHORT.encode("koi8-r"))
    (root / "notes.xyz").write_bytes(b"?")
    (root / ".hidden.txt").write_text("hidden")
    (root / "~$report.docx").write_bytes(b"lock")
    (root / ".git" / "config.txt").write_text("git")
    (root / "__MACOSX" / "a.txt").write_text("mac")
    (root / "sub" / "b.md").write_text("# Б\n\nтекст", encoding="utf-8")
    (root / "sub" / "deeper" / "c.jsonl").write_text('{"text": "c1"}\n{"text": "c2"}\n', encoding="utf-8")
    results = list(extract_path(root))
    assert [result.source for result in results] == [
        "a.txt",
        "notes.xyz",
        "sub/b.md",
        "sub/deeper/c.jsonl:1",
        "sub/deeper/c.jsonl:2",
    ]
    assert results[0] == RawItem(RU_SHORT, "a.txt")
    assert isinstance(results[1], ExtractFailure)
    assert results[2] == RawItem("Б\n\nтекст", "sub/b.md", title="Б")


def test_extract_path_single_file_missing_path_and_empty_folder(tmp_path: Path) -> None:
    file = tmp_path / "one.txt"
    file.write_text("один", encoding="utf-8")
    assert list(extract_path(file)) == [RawItem("один", "one.txt")]
    missing = tmp_path / "nope.txt"
    assert shown(list(extract_path(missing))) == [failed(str(missing), "no such file or folder")]
    (tmp_path / "void").mkdir()
    assert shown(list(extract_path(tmp_path / "void"))) == [
        failed(str(tmp_path / "void"), "the folder contains no files")
    ]


def test_extract_path_refuses_big_files_without_reading(tmp_path: Path) -> None:
    file = tmp_path / "big.txt"
    file.write_bytes(b"a" * 2048)
    assert shown(list(extract_path(file, Limits(max_file_bytes=1000)))) == [
        failed("big.txt", "the file is 2 KB, the limit is 1000 bytes")
    ]


def test_extract_path_skips_non_regular_files(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(tmp_path / "pipe.txt")
    assert shown(list(extract_path(tmp_path))) == [failed("pipe.txt", "not a regular file")]


def test_extract_path_reads_a_zip(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(make_zip([("x.txt", b"inside")]))
    assert list(extract_path(tmp_path / "a.zip")) == [RawItem("inside", "a.zip:x.txt")]


# --- robustness -----------------------------------------------------------------------------------------

ROBUSTNESS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROBUSTNESS
@given(ext=st.sampled_from(sorted(SUPPORTED_EXTENSIONS)), data=st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(ext: str, data: bytes) -> None:
    run(f"file{ext}", data)


@cache
def _valid_samples() -> dict[str, bytes]:
    return {
        ".txt": RU_PARAGRAPH.encode("cp1251"),
        ".md": b"# T\n\n*a* [b](c) `d`",
        ".html": HTML_PAGE.encode(),
        ".jsonl": b'{"text": "a"}\n{"text": "b", "title": "t"}\n',
        ".json": b'[{"text": "a"}]',
        ".docx": make_docx(),
        ".pdf": make_pdf()[0],
        ".zip": make_zip([("a.txt", b"hello"), ("b.md", b"# x"), ("c.jsonl", b'{"text": "z"}')]),
    }


@ROBUSTNESS
@given(
    ext=st.sampled_from([".txt", ".md", ".html", ".jsonl", ".json", ".docx", ".pdf", ".zip"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.floats(0, 1),
)
def test_damaged_valid_files_never_raise(ext: str, edits: list[tuple[float, int]], cut: float) -> None:
    data = bytearray(_valid_samples()[ext])
    for position, value in edits:
        data[int(position * len(data))] = value
    if cut < 0.3:  # sometimes also truncated
        data = data[: int(len(data) * cut / 0.3)]
    run(f"file{ext}", bytes(data))


@ROBUSTNESS
@given(text=st.text(max_size=300))
def test_arbitrary_markup_text_never_raises(text: str) -> None:
    for ext in (".md", ".html", ".jsonl"):
        run(f"file{ext}", text.encode("utf-8"))


# --- mixed encodings ------------------------------------------------------------------------------------

MIXED_LINES = (
    "Акимат Алатау объявил о строительстве новой школы на тысячу двести мест.",
    "Министр образования посетил город и осмотрел будущую площадку.",
    "Работы начнутся весной, а завершение запланировано на конец года.",
    "Жители микрорайона давно ждали этого решения, говорят в акимате.",
)


@pytest.mark.parametrize(
    "codecs",
    [
        ("utf-8", "cp1251", "koi8-r", "cp1251"),
        ("koi8-r", "cp1251", "koi8-r", "utf-8"),
        ("cp1251", "cp1251", "koi8-r", "cp1251"),
        ("koi8-r", "koi8-r", "utf-8", "koi8-r"),
    ],
)
def test_a_file_mixing_encodings_is_decoded_line_by_line(codecs: tuple[str, ...]) -> None:
    from bot.text.normalize import detect_language

    data = b"\r\n".join(line.encode(codec) for line, codec in zip(MIXED_LINES, codecs, strict=True))
    item = only_item(run("mixed.txt", data))
    assert item.text == "\n".join(MIXED_LINES)  # no mojibake line
    assert detect_language(item.text) == "ru"  # mojibake used to read as Kazakh


def test_single_8bit_encodings_stay_whole_files() -> None:
    text = "\n".join(MIXED_LINES)
    for codec in ("cp1251", "koi8-r"):
        assert decode_text(text.encode(codec)) == text
