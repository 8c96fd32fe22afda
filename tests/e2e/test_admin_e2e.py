"""Admins end to end: the real Dispatcher polling the Bot API emulator, uploads, previews, bulk reports,
refusals, managing the texts, and nobody else getting through."""

from __future__ import annotations

import io
import json
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from fpdf import FPDF

from bot.admin.audit import AuditAction
from bot.app.playground import LocalBot
from bot.corpus.ingest import TextInput
from emulator import BotAPIEmulator, EmulatedUser, StoredMessage
from storage import documents as documents_storage
from storage.models import NewDocument
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE, ENGLISH
from tests.e2e.helpers import callback_values, local_bot, press, press_and_edit, say
from tests.files import make_zip

pytestmark = pytest.mark.timeout(60)

ADMIN_ID = 42
READER_ID = 501
MB = 1024 * 1024
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

ARENA = """В Алатау открыли ледовую арену
Новая ледовая арена на тысячу зрителей открылась в Алатау 20 января 2026 года. Хоккейные секции для детей
будут работать бесплатно, сообщили в акимате. Строительство арены заняло полтора года, на открытие пришли
спортсмены и школьники."""
METRO = """Метрополитен Алатау спроектируют к лету
Проект первой линии метрополитена в Алатау подготовят к лету 2026 года. Линия свяжет центр нового города с
вокзалом и деловым кварталом, рассказали в управлении транспорта. Стоимость строительства пока не названа."""
PARK = """В Алатау заложили ботанический сад
Ботанический сад площадью сорок гектаров появится на окраине Алатау. Первые деревья посадили волонтёры и
студенты, а оранжерею с тропическими растениями обещают открыть через два года."""


def _local(tmp_path: Path, **overrides: Any) -> LocalBot:
    # The people exist before the bot starts, as on Telegram, so that the admin's menu can be set.
    emulator = BotAPIEmulator()
    emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
    emulator.create_user("Reader", id=READER_ID, language_code="en", started=True)
    settings: dict[str, Any] = {
        "admin_ids": frozenset({ADMIN_ID}),
        "min_text_chars": 100,
        "upload_progress_seconds": 0,
        "album_wait_seconds": 0.3,
        **overrides,
    }
    return local_bot(tmp_path, emulator=emulator, **settings)


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBot]:
    async with _local(tmp_path) as running:
        yield running


@pytest.fixture
def admin(local: LocalBot) -> EmulatedUser:
    return local.emulator.user(ADMIN_ID)


@pytest.fixture
def reader(local: LocalBot) -> EmulatedUser:
    return local.emulator.user(READER_ID)


async def send_file(user: EmulatedUser, name: str, data: bytes) -> StoredMessage:
    await user.send_document(name, data)
    return await user.chat.wait_for_message(timeout=20)


async def count(local: LocalBot, table: str = "documents") -> int:
    return await local.services.db.int_scalar(f"SELECT count(*) FROM {table}")


def make_docx(text: str) -> bytes:
    title, body = text.split("\n", 1)
    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in body.split("\n\n"):
        document.add_paragraph(" ".join(paragraph.split()))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pdf(text: str | None) -> bytes:
    """A PDF with `text` as its text layer, or (None) with a drawing only, like a scan."""
    pdf = FPDF()
    pdf.add_page()
    if text is None:
        pdf.rect(20, 20, 100, 60)
    else:
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=12)
        pdf.multi_cell(0, 7, " ".join(text.split()), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def news(i: int) -> str:
    # Different enough from each other to stay separate texts, long enough to be news.
    rng = random.Random(i)
    topics = ["школа", "больница", "парк", "дорога", "мост", "вокзал", "стадион", "библиотека", "театр"]
    picked = rng.sample(topics, 3)
    return (
        f"date 2025-10-{i % 28 + 1:02d}\nСводка номер {i} из Алатау\n"
        f"В Алатау обсудили {picked[0]} и {picked[1]}: проект номер {i} оценили в {rng.randint(2, 900)} "
        f"миллионов тенге. Жители спрашивали про {picked[2]}, в акимате пообещали ответить до конца месяца."
    )


# --- uploading one text ----------------------------------------------------------------------------------


async def test_admin_commands_are_in_the_menu_of_admins_only(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    admin_menu = {c["command"] for c in local.emulator.visible_commands(admin.chat, admin)}
    reader_menu = {c["command"] for c in local.emulator.visible_commands(reader.chat, reader)}
    assert {"add", "docs", "stats", "log"} <= admin_menu
    assert {"add", "docs", "stats", "log"}.isdisjoint(reader_menu)
    assert "search" in reader_menu


async def test_add_shows_a_preview_then_saves_and_search_finds_it(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    prompt = await say(admin, "/add")
    assert "/cancel" in (prompt.text or "")
    preview = await say(admin, COUNCIL)
    text = preview.text or ""
    assert "Совет по развитию Алатау провёл первое заседание" in text
    assert "20 November 2025" in text
    assert "Language: Russian" in text, "the language named in the admin's language"
    assert f"{len(COUNCIL.split(chr(10), 2)[2])} characters" in text
    assert "New:" in text
    # The summary is part of the preview, in italics.
    assert any(e["type"] == "italic" for e in preview.entities)
    assert preview.button_texts == ["💾 Save", "✏️ Edit title", "📅 Edit date", "✖️ Cancel"]
    assert await count(local) == 0, "nothing is saved before Save"

    saved = await press_and_edit(admin, preview, "💾 Save")
    assert "Saved as #1" in (saved.text or "")
    results = await say(reader, "заседание совета")
    assert "Совет по развитию Алатау" in (results.text or "")
    log = await say(admin, "/log")
    assert "Admin (42)" in (log.text or "")
    assert "added #1" in (log.text or "")


@pytest.mark.skipif(not FONT.exists(), reason="DejaVuSans is needed for a Cyrillic PDF")
async def test_every_file_type_previews_saves_and_is_found(local: LocalBot, admin: EmulatedUser) -> None:
    html_page = (
        "<html><head><meta charset='utf-8'><title>Метрополитен Алатау спроектируют к лету</title></head>"
        "<body><nav>Меню сайта</nav><article><h1>Метрополитен Алатау спроектируют к лету</h1>"
        + "".join(f"<p>{p}</p>" for p in METRO.split("\n", 1)[1].split("\n"))
        + "</article></body></html>"
    )
    uploads = [
        ("council.txt", COUNCIL.encode("utf-8"), "заседание", "Совет по развитию Алатау"),
        ("decree.txt", DECREE.encode("cp1251"), "указ", "Президент подписал указ"),
        ("crypto.txt", CRYPTO.encode("utf-16"), "песочница", "регуляторную песочницу"),
        ("airport.txt", AIRPORT.encode("koi8-r"), "аэропорт", "Аэропорт рядом с Капчагаем"),
        ("arena.md", ("# " + ARENA).encode("utf-8"), "арена", "ледовую арену"),
        ("metro.html", html_page.encode("utf-8"), "метрополитен", "Метрополитен Алатау"),
        ("english.docx", make_docx(ENGLISH.split("\n", 1)[1]), "decree", "Tokayev signs decree"),
        ("garden.pdf", make_pdf(PARK), "ботанический", "ботанический сад"),
    ]
    for number, (name, data, word, title) in enumerate(uploads, start=1):
        preview = await send_file(admin, name, data)
        assert title in (preview.text or ""), (name, preview.text)
        assert f"From: {name}" in (preview.text or "")
        saved = await press_and_edit(admin, preview, "💾 Save")
        assert f"Saved as #{number}" in (saved.text or ""), (name, saved.text)
        results = await say(admin, word)
        assert title in (results.text or ""), (name, word, results.text)
    stored = await local.services.corpus.repo.get(2)
    assert stored is not None
    assert stored.text.startswith("Глава государства Касым-Жомарт Токаев"), "cp1251 decoded"


async def test_forwarded_channel_post_keeps_its_origin(local: LocalBot, admin: EmulatedUser) -> None:
    channel = local.emulator.create_channel("Alatau Today", username="alatau_today")
    posted = int(datetime(2026, 1, 24, 9, 30, tzinfo=UTC).timestamp())
    await admin.forward_channel_post(channel, ARENA, date=posted)
    preview = await admin.chat.wait_for_message(timeout=10)
    text = preview.text or ""
    assert "Alatau Today" in text
    assert "24 January 2026" in text
    links = [e["url"] for e in preview.entities if e["type"] == "text_link"]
    assert any(link.startswith("https://t.me/alatau_today/") for link in links)
    await press_and_edit(admin, preview, "💾 Save")
    doc = await local.services.corpus.repo.get(1)
    assert doc is not None
    assert doc.source_name == "Alatau Today"
    assert doc.url is not None
    assert doc.url.startswith("https://t.me/alatau_today/")
    assert doc.published == date(2026, 1, 24)


async def test_preview_title_and_date_can_be_edited_or_the_upload_cancelled(
    local: LocalBot, admin: EmulatedUser
) -> None:
    await say(admin, "/add")
    preview = await say(admin, METRO)
    await press(admin, preview, "✏️ Edit title")
    assert "new title" in ((await admin.chat.wait_for_message(timeout=10)).text or "")
    preview = await say(admin, "Метро для Алатау: проект к лету")
    assert "Метро для Алатау: проект к лету" in (preview.text or "")

    await press(admin, preview, "📅 Edit date")
    await admin.chat.wait_for_message(timeout=10)
    wrong = await say(admin, "вчера вечером")
    assert "could not read that date" in (wrong.text or "")
    preview = await say(admin, "24.01.2026")
    assert "24 January 2026" in (preview.text or "")

    await press_and_edit(admin, preview, "💾 Save")
    doc = await local.services.corpus.repo.get(1)
    assert doc is not None
    assert doc.title == "Метро для Алатау: проект к лету"
    assert doc.published == date(2026, 1, 24)

    await say(admin, "/add")
    other = await say(admin, ARENA)
    save = callback_values(other)[0]
    cancelled = await press_and_edit(admin, other, "✖️ Cancel")
    assert "Cancelled" in (cancelled.text or "")
    assert not cancelled.buttons
    assert await count(local) == 1
    # A Save pressed on an old copy of the preview (another device) finds nothing to save.
    cancelled.reply_markup = {"inline_keyboard": [[{"text": "old save", "callback_data": save}]]}
    assert (await press(admin, cancelled, "old save")).show_alert
    assert await count(local) == 1


async def test_duplicates_are_refused_and_near_duplicates_join_the_story(
    local: LocalBot, admin: EmulatedUser
) -> None:
    first = await local.services.corpus.ingest(TextInput(DECREE, source="seed"))
    assert first.id is not None
    exact = await send_file(admin, "decree-again.txt", DECREE.encode("utf-8"))
    assert "already in the corpus as #1" in (exact.text or "")
    assert "💾 Save" not in exact.button_texts
    assert any("start=doc_1" in e.get("url", "") for e in exact.entities if e["type"] == "text_link")
    card = await press_and_edit(admin, exact, "📄 Open the card")
    assert "Президент подписал указ" in (card.text or "")

    retold = DECREE.replace("в пилотном режиме", "в пилотном режиме уже с весны")
    near = await send_file(admin, "decree-retold.txt", retold.encode("utf-8"))
    assert "near-duplicate" in (near.text or "")
    assert "#1" in (near.text or "")
    saved = await press_and_edit(admin, near, "💾 Save")
    assert "joined the story of #1" in (saved.text or "")
    doc = await local.services.corpus.repo.get(2)
    assert doc is not None
    assert doc.story_id == first.story_id
    assert await count(local) == 2


# --- bulk uploads --------------------------------------------------------------------------------------------


async def test_zip_is_saved_in_bulk_with_progress_and_a_report(local: LocalBot, admin: EmulatedUser) -> None:
    seeded = await local.services.corpus.ingest(TextInput(COUNCIL, source="seed"))
    assert seeded.id is not None
    members = [(f"news/{i:03d}.txt", news(i).encode("utf-8")) for i in range(70)]
    members += [
        ("council-copy.txt", COUNCIL.encode("utf-8")),
        ("scan.pdf", make_pdf(None)),
        ("photo.exe", b"MZ\x90\x00"),
        ("short.txt", "Коротко об Алатау.".encode()),
    ]
    report = await send_file(admin, "archive.zip", make_zip(members))
    await admin.chat.wait_for_edit(
        report, timeout=30, predicate=lambda m: "Upload finished" in (m.text or "")
    )
    versions = [v.text or "" for v in report.versions]
    assert versions[0].startswith("⏳ Saving texts: 0 of 74")
    # Edited as it goes (after the first batch of 64), not once per text.
    assert any("66 of 74" in v for v in versions)
    assert len(versions) < 10
    final = report.text or ""
    assert "Added: 70" in final
    assert "Duplicates skipped: 1" in final
    assert "Failed: 3" in final
    assert "archive.zip:scan.pdf" in final
    assert "no text layer" in final
    assert "archive.zip:photo.exe" in final
    assert "Unknown format" in final
    assert "archive.zip:short.txt" in final
    assert "too short to be news" in final
    assert await count(local) == 71
    results = await say(admin, "сводка номер 42")
    assert "Сводка номер 42 из Алатау" in (results.text or "")


async def test_jsonl_is_saved_in_bulk_and_bad_lines_are_reported(
    local: LocalBot, admin: EmulatedUser
) -> None:
    lines = [
        json.dumps(
            {"text": ARENA, "url": "https://example.kz/arena", "date": "2026-01-20"}, ensure_ascii=False
        ),
        "not json at all",
        json.dumps({"text": METRO, "title": "Метро Алатау"}, ensure_ascii=False),
    ]
    report = await send_file(admin, "export.jsonl", "\n".join(lines).encode("utf-8"))
    await admin.chat.wait_for_edit(
        report, timeout=20, predicate=lambda m: "Upload finished" in (m.text or "")
    )
    final = report.text or ""
    assert "Added: 2" in final
    assert "Failed: 1" in final
    assert "export.jsonl:2" in final
    doc = await local.services.corpus.repo.get(1)
    assert doc is not None
    assert doc.url == "https://example.kz/arena"
    assert doc.source_name == "example.kz"


async def test_album_of_files_is_one_bulk_upload(tmp_path: Path) -> None:
    # The flood throttle is on (one message a second): an album arrives as a burst, and admins pass it.
    async with _local(tmp_path, throttle_rate=1) as local:
        admin = local.emulator.user(ADMIN_ID)
        # The emulator's driver has no albums; post the files as Telegram does, sharing a media_group_id.
        state = local.emulator.state
        record = state.chats[admin.id]
        record.cursor = len(record.messages)
        files = [(f"{i}.txt", news(i)) for i in range(6)] + [("arena.txt", ARENA), ("scan.pdf", "")]
        for name, text in files:
            data = make_pdf(None) if name.endswith(".pdf") else text.encode("utf-8")
            stored = state.store_file("document", data, file_name=name, mime_type="text/plain")
            message = StoredMessage(
                message_id=record.allocate_id(),
                chat=record.info,
                date=state.now(),
                sender=admin.record.info,
                from_bot=False,
                document=stored,
            )
            record.add(message)
            state.push_update("message", {**message.to_api(), "media_group_id": "album-1"})
        state.notify()
        report = await admin.chat.wait_for_message(timeout=10)
        await admin.chat.wait_for_edit(
            report, timeout=20, predicate=lambda m: "Upload finished" in (m.text or "")
        )
        assert "8 files" in (report.text or "")
        assert "Added: 7" in (report.text or "")
        assert "scan.pdf — The PDF has no text layer" in (report.text or "")
        assert len(admin.chat.bot_messages) == 1, "one report for the album, not one per file"


async def test_a_failure_in_the_middle_of_a_bulk_upload_leaves_no_half_saved_text(
    local: LocalBot, admin: EmulatedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = documents_storage._add

    def failing_after_writing(conn: Any, doc: NewDocument) -> int:
        doc_id = original(conn, doc)
        if "СБОЙ" in doc.text:
            raise RuntimeError("disk I/O error")  # after the document's rows were written
        return doc_id

    together = documents_storage._insert_together

    def failing_batch(conn: Any, docs: Sequence[NewDocument]) -> list[int | None]:
        ids = together(conn, docs)
        if any("СБОЙ" in doc.text for doc in docs):
            raise RuntimeError("disk I/O error")  # the whole batch was written, then the failure
        return ids

    monkeypatch.setattr(documents_storage, "_add", failing_after_writing)
    monkeypatch.setattr(documents_storage, "_insert_together", failing_batch)
    texts = [news(1), news(2), news(3) + " СБОЙ записи.", news(4), news(5)]
    report = await send_file(
        admin, "five.zip", make_zip((f"{i}.txt", t.encode("utf-8")) for i, t in enumerate(texts))
    )
    await admin.chat.wait_for_edit(
        report, timeout=20, predicate=lambda m: "Upload finished" in (m.text or "")
    )
    assert "Added: 4" in (report.text or "")
    assert "five.zip:2.txt" in (report.text or "")
    assert "internal error" in (report.text or "")
    assert await count(local) == 4
    assert await local.services.db.int_scalar("SELECT count(*) FROM documents WHERE text LIKE '%СБОЙ%'") == 0
    for table in ("doc_fts", "doc_features"):
        assert await count(local, table) == 4, table
    for table in ("doc_bands", "story_keys"):
        orphans = await local.services.db.int_scalar(
            f"SELECT count(*) FROM {table} WHERE doc_id NOT IN (SELECT id FROM documents)"
        )
        assert orphans == 0, table


async def test_a_failed_save_of_a_preview_changes_nothing(
    local: LocalBot, admin: EmulatedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await say(admin, "/add")
    preview = await say(admin, ARENA)

    def broken(conn: Any, doc: NewDocument) -> int:
        conn.execute("INSERT INTO vocab (word, freq) VALUES ('половина', 1)")
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(documents_storage, "_add", broken)
    answer = await press(admin, preview, "💾 Save")
    assert answer.show_alert
    assert "Traceback" not in (answer.text or "")
    assert await count(local) == 0
    assert await count(local, "vocab") == 0
    assert await count(local, "pending_uploads") == 1, "the preview can still be saved later"
    monkeypatch.undo()
    saved = await press_and_edit(admin, preview, "💾 Save")
    assert "Saved as #1" in (saved.text or "")


# --- refusals ------------------------------------------------------------------------------------------------


async def test_each_refusal_has_a_clear_message(tmp_path: Path) -> None:
    async with _local(tmp_path, max_text_chars=1000, max_zip_files=5, max_zip_unpacked_mb=1) as local:
        admin = local.emulator.user(ADMIN_ID)
        too_big = await send_file(admin, "huge.txt", b"a" * (21 * MB))
        assert "20 MB" in (too_big.text or "")
        assert "self-hosted Bot API server" in (too_big.text or "")
        assert "TELEGRAM_API_URL" in (too_big.text or "")

        await say(admin, "/add")
        short = await say(admin, "Алатау растёт.")
        assert "too short to be news" in (short.text or "")
        await say(admin, "/add")
        long = await say(admin, (METRO + "\n") * 5)
        assert "too long" in (long.text or "")
        assert "the limit is 1000" in (long.text or "")

        unknown = await send_file(admin, "notes.rtf", b"{\\rtf1 hello}")
        assert "Unknown format «.rtf»" in (unknown.text or "")
        scan = await send_file(admin, "scan.pdf", make_pdf(None))
        assert "no text layer" in (scan.text or "")
        noise = await send_file(admin, "noise.txt", random.Random(0).randbytes(4096))
        assert "could not decode" in (noise.text or "")

        many = await send_file(admin, "many.zip", make_zip((f"{i}.txt", news(i).encode()) for i in range(6)))
        assert "6 files, the limit is 5" in (many.text or "")
        big = await send_file(admin, "big.zip", make_zip([("big.txt", b"x" * (2 * MB))]))
        assert "more than 1 MB" in (big.text or "")
        evil = await send_file(admin, "evil.zip", make_zip([("../../etc/cron.txt", ARENA.encode())]))
        assert "outside" in (evil.text or "")
        assert "../../etc/cron.txt" in (evil.text or "")

        assert await count(local) == 0
        assert await count(local, "pending_uploads") == 0
        assert all("Traceback" not in (m.text or "") for m in admin.chat.bot_messages)


# --- nobody else ---------------------------------------------------------------------------------------------


async def test_a_non_admin_is_refused_on_every_admin_path(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    stored = await local.services.corpus.ingest(TextInput(DECREE, source="seed"))
    assert stored.id is not None
    await say(admin, "/add")
    preview = await say(admin, ARENA)
    pending_data = callback_values(preview)
    snapshot = await _snapshot(local)

    for command in ("/add", "/docs", "/stats", "/log", "/docs указ"):
        reply = await say(reader, command)
        assert "admins only" in (reply.text or ""), command
    file_reply = await send_file(reader, "news.txt", METRO.encode("utf-8"))
    assert "Only admins can add texts" in (file_reply.text or "")
    channel = local.emulator.create_channel("Some Channel", username="some_channel")
    await reader.forward_channel_post(channel, PARK)
    forward_reply = await reader.chat.wait_for_message(timeout=10)
    assert "Only admins can add texts" in (forward_reply.text or "")
    # After /add a non-admin's text is just a search, never an upload.
    await say(reader, METRO)

    # A modified client can send any callback data on any of the bot's messages.
    doc = stored.id
    forged = [
        *pending_data,
        f"adoc:h:{doc}:n:0:0",
        f"adoc:x:{doc}:n:0:0",
        f"adoc:y:{doc}:n:0:0",
        f"adoc:u:{doc}:n:0:0",
        f"adoc:t:{doc}:n:0:0",
        f"adoc:o:{doc}:n:0:0",
        "alist:0:0",
        "alog:0",
    ]
    target = reader.chat.bot_messages[-1]
    for data in forged:
        target.reply_markup = {"inline_keyboard": [[{"text": "forged", "callback_data": data}]]}
        answer = await press(reader, target, "forged")
        assert answer.show_alert, data
        assert "admins only" in (answer.text or ""), data
    # Opening a card from a search gives the reader's card, without admin buttons.
    results = await say(reader, "указ")
    await press(reader, results, next(d for d in callback_values(results) if d.startswith("d:")))
    card = await reader.chat.wait_for_edit(results, timeout=10)
    assert not any(d.startswith("adoc:") for d in callback_values(card))

    assert await _snapshot(local) == snapshot
    assert reader.chat.transcript().count("Traceback") == 0


async def _snapshot(local: LocalBot) -> tuple[Any, ...]:
    db = local.services.db
    docs = await db.fetchall(
        "SELECT id, title, published, source_name, url, hidden FROM documents ORDER BY id"
    )
    return (
        [tuple(r) for r in docs],
        await db.int_scalar("SELECT count(*) FROM doc_fts"),
        await db.int_scalar("SELECT count(*) FROM pending_uploads"),
        await db.int_scalar("SELECT count(*) FROM audit_log"),
        await db.int_scalar("SELECT count(*) FROM deleted_documents"),
    )


# --- managing ------------------------------------------------------------------------------------------------


async def test_docs_cards_hide_show_delete_undo_and_edit(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    corpus = local.services.corpus
    for i in range(10):
        await corpus.ingest(TextInput(news(i), source="seed"))
    arena = await corpus.ingest(TextInput("date 2026-01-20\n" + ARENA, source="seed"))
    assert arena.id is not None

    listing = await say(admin, "/docs")
    assert "All texts: 11, newest first" in (listing.text or "")
    assert "Page 1 of 2" in (listing.text or "")
    assert "В Алатау открыли ледовую арену" in (listing.text or ""), "newest first"
    page2 = await press_and_edit(admin, listing, "Next ▶")
    assert "Page 2 of 2" in (page2.text or "")
    filtered = await say(admin, "/docs арена")
    assert "matching «арена»: 1" in (filtered.text or "")

    card = await press_and_edit(admin, filtered, "1")
    assert "ледовую арену" in (card.text or "")
    assert {"🙈 Hide", "🗑 Delete", "✏️ Title", "📅 Date", "🏷 Source", "⬅ Back to the list"} <= set(
        card.button_texts
    )
    card = await press_and_edit(admin, card, "🙈 Hide")
    assert "Hidden" in (card.text or "")
    assert "👁 Show" in card.button_texts
    assert "Nothing found" in ((await say(reader, "ледовая арена")).text or "")
    inline = await (await reader.inline_query("арена")).wait_answer(timeout=10)
    assert not inline.results
    latest = await (await reader.inline_query("")).wait_answer(timeout=10)
    assert str(arena.id) not in {r["id"] for r in latest.results}
    hidden_found = await say(admin, "/docs арена")
    assert "🙈" in (hidden_found.text or ""), "admins still find hidden texts"
    card = await press_and_edit(admin, card, "👁 Show")
    assert "Hidden" not in (card.text or "")
    assert "ледовую арену" in ((await say(reader, "ледовая арена")).text or "")

    confirm = await press_and_edit(admin, card, "🗑 Delete")
    assert "Delete «В Алатау открыли ледовую арену»" in (confirm.text or "")
    deleted = await press_and_edit(admin, confirm, "🗑 Yes, delete")
    assert "Deleted" in (deleted.text or "")
    assert await corpus.repo.get(arena.id) is None
    assert "Nothing found" in ((await say(reader, "ледовая арена")).text or "")
    restored = await press_and_edit(admin, deleted, "↩️ Undo")
    assert "ледовую арену" in (restored.text or "")
    assert await corpus.repo.get(arena.id) is not None, "restored under its old id"
    assert "ледовую арену" in ((await say(reader, "ледовая арена")).text or "")

    await press(admin, restored, "✏️ Title")
    await admin.chat.wait_for_message(timeout=10)
    updated = await say(admin, "Дворец «Снежинка» открылся в Алатау")
    assert "Updated" in (updated.text or "")
    # A word only the new title has: the index follows the edit at once.
    assert "Дворец «Снежинка»" in ((await say(reader, "снежинка")).text or "")
    await press(admin, updated, "📅 Date")
    await admin.chat.wait_for_message(timeout=10)
    updated = await say(admin, "2026-01-21")
    await press(admin, updated, "🏷 Source")
    await admin.chat.wait_for_message(timeout=10)
    await say(admin, "Kursiv https://kz.kursiv.media/arena")
    doc = await corpus.repo.get(arena.id)
    assert doc is not None
    assert (doc.title, doc.published, doc.source_name, doc.url) == (
        "Дворец «Снежинка» открылся в Алатау",
        date(2026, 1, 21),
        "Kursiv",
        "https://kz.kursiv.media/arena",
    )

    log = (await say(admin, "/log")).text or ""
    for action in (
        "hid",
        "showed again",
        "deleted",
        "restored",
        "changed the title of",
        "changed the source of",
    ):
        assert action in log, action


async def test_stats_has_figures_and_a_chart(
    local: LocalBot, admin: EmulatedUser, reader: EmulatedUser
) -> None:
    corpus = local.services.corpus
    for text in (DECREE, CRYPTO, ENGLISH):
        await corpus.ingest(TextInput(text, source="seed"))
    await say(reader, "Алатау")
    await admin.send_text("/stats")
    figures = await admin.chat.wait_for_message(timeout=10)
    chart = await admin.chat.wait_for_message(timeout=20)
    text = figures.text or ""
    assert "Texts: 3" in text
    assert "English 1" in text
    assert "People who used the bot: 2" in text
    assert "Searches per day" in text
    assert chart.photo is not None
    assert chart.photo.data.startswith(b"\x89PNG")


async def test_the_log_names_every_action_in_the_admins_language(
    local: LocalBot, admin: EmulatedUser
) -> None:
    audit = local.services.audit_log
    await audit.record(ADMIN_ID, AuditAction.CHANNEL_ADD, details="-100123 Alatau News")
    await audit.record(ADMIN_ID, AuditAction.CHANNEL_REMOVE, details="-100123 Alatau News")
    # Written by another version of the bot: shown as stored rather than lost.
    await local.services.audit.record(ADMIN_ID, "archived")
    await local.services.users.set_language(ADMIN_ID, "ru")
    log = (await say(admin, "/log")).text or ""
    assert "канал добавлен" in log
    assert "канал удалён" in log
    assert "channel_add" not in log
    assert "archived" in log
