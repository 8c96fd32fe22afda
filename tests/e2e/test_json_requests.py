"""The bot's session sends requests without files as JSON (a form percent-encoded every byte of a digest in
Python): what the emulator receives must be exactly what a form carried — the text byte for byte with
`& = + % #`, non-ASCII and emoji, the parse mode, buttons, topic, silence, link previews — and uploads still
go as multipart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import BanChatMember, SendMessage, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.session import RedactingSession
from bot.digests.sending import Outgoing, Refusal, SendRefused
from bot.digests.telegram import TelegramSender
from emulator import BotAPIEmulator, FaultKind

pytestmark = pytest.mark.timeout(60)

TEXT = (
    "<b>📰 Дайджест: Алатау &amp; Алматы</b>\n"
    "1 + 1 = 2, 100% «новостей» #алатау ?a=b&amp;c=d &#8470;5; 🇰🇿 👨‍👩‍👧 қазақша ӘҒҚҢӨҰҮҺІ\n"
    '<a href="https://example.kz/a?x=1&amp;y=%20z#frag">ссылка</a> \\ "quotes" \'single\' \t tab'
)
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Ещё & больше 🔎", callback_data="d:1+2=3%#")],
        [InlineKeyboardButton(text="Сайт", url="https://example.kz/?q=a&b=c")],
    ]
)


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emu:
        yield emu


@pytest.fixture
async def bot(emulator: BotAPIEmulator) -> AsyncIterator[Bot]:
    session = RedactingSession(api=emulator.api_server())
    yield Bot(emulator.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    await session.close()


def count_forms(bot: Bot) -> list[str]:
    """The methods the session built a form for (uploads only, if JSON is used)."""
    formed: list[str] = []
    build = bot.session.build_form_data  # type: ignore[attr-defined]

    def spy(bot: Bot, method: TelegramMethod[Any]) -> Any:
        formed.append(method.__api_method__)
        return build(bot, method)

    bot.session.build_form_data = spy  # type: ignore[attr-defined]
    return formed


async def test_a_digest_arrives_exactly_as_sent(emulator: BotAPIEmulator, bot: Bot) -> None:
    forum = emulator.create_group("Новости", forum=True)
    topic = forum.create_topic("Дайджест")
    formed = count_forms(bot)
    sender = TelegramSender(bot)
    message_id = await sender.send(
        Outgoing(
            forum.id,
            TEXT,
            KEYBOARD.model_dump_json(),
            paid=True,
            thread_id=topic,
            silent=True,
            link_previews=True,
        ),
        timeout=10,
    )
    (stored,) = forum.bot_messages
    assert stored.message_id == message_id
    assert stored.raw_text == TEXT
    assert stored.parse_mode == "HTML"
    assert stored.text is not None and stored.text.startswith("📰 Дайджест: Алатау & Алматы\n1 + 1 = 2, 100%")
    assert stored.reply_markup == KEYBOARD.model_dump(exclude_none=True)
    assert stored.message_thread_id == topic
    assert stored.disable_notification is True
    assert stored.link_preview_options == {"is_disabled": False}
    assert formed == []  # sent as JSON

    person = emulator.create_user("Айгерим", started=True)
    await sender.send(Outgoing(person.id, TEXT, None, paid=False), timeout=10)
    (plain,) = person.chat.bot_messages
    assert plain.raw_text == TEXT and plain.reply_markup is None
    assert not plain.disable_notification
    assert plain.link_preview_options == {"is_disabled": True}


async def test_telegrams_refusals_still_come_through(emulator: BotAPIEmulator, bot: Bot) -> None:
    person = emulator.create_user("Бота заблокировал", started=True)
    person.block_bot()
    with pytest.raises(SendRefused) as refused:
        await TelegramSender(bot).send(Outgoing(person.id, TEXT, None, paid=False), timeout=10)
    assert refused.value.refusal is Refusal.GONE and refused.value.reason == "blocked"

    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", retry_after=7)
    with pytest.raises(SendRefused) as flooded:  # told to the engine, not waited out by the session
        await TelegramSender(bot).send(
            Outgoing(emulator.create_user("x", started=True).id, TEXT, None, False), 10
        )
    assert flooded.value.refusal is Refusal.FLOOD and flooded.value.retry_after == 7

    emulator.inject(FaultKind.STALL, method="sendMessage", stall_seconds=3)
    with pytest.raises(SendRefused) as late:
        await TelegramSender(bot).send(
            Outgoing(emulator.create_user("y", started=True).id, TEXT, None, False), 1
        )
    assert late.value.refusal is Refusal.TRANSIENT and not late.value.answered
    assert "Request timeout error" in late.value.description


async def test_a_network_failure_is_a_network_error_without_the_token() -> None:
    async with BotAPIEmulator() as emulator:
        base = emulator.base_url
    session = RedactingSession(api=TelegramAPIServer.from_base(base))  # nothing listens there any more
    bot = Bot(emulator.token, session=session)
    try:
        with pytest.raises(TelegramNetworkError) as failed:
            await bot.send_message(1, TEXT)
    finally:
        await session.close()
    assert (
        emulator.token not in str(failed.value) and emulator.token.split(":")[1] not in failed.value.message
    )


async def test_ordinary_replies_and_uploads(emulator: BotAPIEmulator, bot: Bot) -> None:
    person = emulator.create_user("Ерлан", started=True)
    formed = count_forms(bot)
    # The bot's default parse mode, an empty optional string left out, as a form did.
    sent = await bot.send_message(
        person.id, "<i>курсив</i> &amp; 50%", reply_markup=KEYBOARD, business_connection_id=""
    )
    (first,) = person.chat.bot_messages
    assert first.text == "курсив & 50%" and first.entities[0]["type"] == "italic"
    assert first.reply_markup == KEYBOARD.model_dump(exclude_none=True)
    edited = await bot.edit_message_text(TEXT, chat_id=person.id, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text is not None
    uploaded = await bot.send_document(
        person.id, BufferedInputFile("строка & 100%\n".encode(), "новости.txt"), caption="<b>файл</b> #1"
    )
    assert formed == ["sendDocument"]  # only the upload needs multipart
    first, document = person.chat.bot_messages
    assert first.raw_text == TEXT  # edited
    assert document.document is not None and document.document.data == "строка & 100%\n".encode()
    assert document.caption == "файл #1" and uploaded.document is not None


def test_the_json_body_has_what_the_form_had() -> None:
    session = RedactingSession()
    bot = Bot("1:unused", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    methods: list[TelegramMethod[Any]] = [
        SendMessage(
            chat_id=5,
            text=TEXT,
            reply_markup=KEYBOARD,
            disable_notification=False,
            message_thread_id=0,
            business_connection_id="",
        ),
        BanChatMember(chat_id="@channel", user_id=7, until_date=datetime(2030, 1, 1, tzinfo=UTC)),
    ]
    for method in methods:
        body = session.json_body(bot, method)
        assert body is not None
        sent = json.loads(body)
        form = {name["name"]: value for name, _, value in session.build_form_data(bot, method)._fields}
        assert sent.keys() == form.keys(), method
        for key, value in sent.items():
            shown = value if isinstance(value, str) else json.dumps(value)
            assert (
                json.loads(shown) == json.loads(form[key]) if key == "reply_markup" else shown == form[key]
            ), key
