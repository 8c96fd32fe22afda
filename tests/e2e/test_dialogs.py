"""Every dialog forgives, end to end: /cancel always answers, a command the bot does not know gets a hint,
nothing typed inside a dialog is taken as a search, and a refused text after /add keeps the step waiting."""

from __future__ import annotations

import struct
import zlib

import pytest

from bot.app.playground import LocalBot
from emulator import EmulatedUser
from tests.corpus_texts import ALL, DECREE
from tests.e2e.helpers import StartBot, ingest, press, say

pytestmark = pytest.mark.timeout(60)

ADMIN_ID = 42


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
async def local(start_bot: StartBot) -> LocalBot:
    running = await start_bot(admin_ids=frozenset({ADMIN_ID}), min_text_chars=100)
    await ingest(running, *ALL)
    return running


@pytest.fixture
def admin(local: LocalBot) -> EmulatedUser:
    return local.emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)


@pytest.mark.parametrize(
    ("language", "nothing"),
    [("en", "Nothing to cancel"), ("ru", "Нечего отменять"), ("kk", "Болдырмайтын ештеңе жоқ")],
)
async def test_cancel_always_answers(local: LocalBot, language: str, nothing: str) -> None:
    user = local.emulator.create_user("Reader", id=600, language_code=language, started=True)
    assert nothing in ((await say(user, "/cancel")).text or "")
    # Inside a dialog (the typed time of /subscribe) it ends the dialog, and the next text is a search again.
    screen = await say(user, "/subscribe")
    await press(user, screen, "sf:daily:0:1")
    await press(user, screen, "st::0:1")
    cancelled = (await say(user, "/cancel")).text or ""
    assert cancelled and nothing not in cancelled
    results = (await say(user, "указ")).text or ""
    assert "Алатау" in results, results


async def test_an_unknown_command_gets_a_hint(local: LocalBot, admin: EmulatedUser) -> None:
    reader = local.emulator.create_user("Reader", id=601, language_code="en", started=True)
    assert "/help" in ((await say(reader, "/foo")).text or "")
    # A command that is not for this person: said so, with the same way out.
    undo = (await say(reader, "/undo")).text or ""
    assert "admins only" in undo and "/help" in undo
    ru = local.emulator.create_user("Читатель", id=602, language_code="ru", started=True)
    assert "/help" in ((await say(ru, "/foo")).text or "")
    assert "/help" in ((await say(admin, "/foo")).text or "")


async def test_nothing_sent_inside_a_dialog_is_a_search(local: LocalBot) -> None:
    reader = local.emulator.create_user("Reader", id=603, language_code="en", started=True)
    screen = await say(reader, "/subscribe")
    await press(reader, screen, "sf:daily:0:1")
    await press(reader, screen, "st::0:1")
    await reader.send_photo(tiny_png())
    waiting = (await reader.chat.wait_for_message(timeout=20)).text or ""
    assert "waiting for your answer" in waiting and "/cancel" in waiting
    # The step still waits: the time typed next is its answer.
    zone = (await say(reader, "7:30")).text or ""
    assert "Nothing found" not in zone
    sub = await local.digests.subscriptions.get(reader.id)
    assert sub is not None and sub.local_time == "07:30"


async def test_add_after_a_too_short_text_keeps_waiting_for_the_text(
    local: LocalBot, admin: EmulatedUser
) -> None:
    await say(admin, "/add")
    refused = (await say(admin, "Коротко о главном.")).text or ""
    assert "too short" in refused and "/cancel" in refused
    # The next message is still the text of /add: previewed, not searched.
    preview = await say(admin, DECREE.replace("Президент", "Глава государства", 1))
    assert "Preview" in (preview.text or ""), preview.text
    # A refused text, then /cancel: the dialog is over and the next text is a search.
    await say(admin, "/add")
    await say(admin, "Коротко.")
    assert "Cancelled" in ((await say(admin, "/cancel")).text or "")
    assert "Preview" not in ((await say(admin, "Коротко о главном.")).text or "")


async def test_a_wrong_date_of_a_card_is_explained_and_the_step_waits(
    local: LocalBot, admin: EmulatedUser
) -> None:
    card = await say(admin, "/start doc_1")
    await press(admin, card, "📅 Date")
    await admin.chat.wait_for_message(timeout=20)
    refused = (await say(admin, "когда-нибудь")).text or ""
    assert "could not read that date" in refused and "/cancel" in refused
    updated = (await say(admin, "2026-01-21")).text or ""
    assert "Updated" in updated, updated
