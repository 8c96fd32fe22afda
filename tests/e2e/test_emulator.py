"""The Bot API emulator over real HTTP: raw aiohttp requests and a real aiogram Bot/Dispatcher."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router, html
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageOriginChannel,
)

from emulator import (
    BotAPIEmulator,
    FaultKind,
    RateLimit,
    RateLimitConfig,
    parse_text,
    render_message,
    utf16_len,
)

PARSE_ERROR = "Bad Request: can't parse entities: "


class FakeClock:
    """Monotonic time the test moves by hand, so rate limits and query expiry are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(clock=clock) as emu:
        yield emu


@pytest.fixture
async def bot(emulator: BotAPIEmulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=emulator.api_server())
    instance = Bot(emulator.token, session=session)
    yield instance
    await session.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    yield
    # Runs after the other fixtures are torn down: nothing the emulator or bot started may survive.
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert leftovers == []


async def call(
    http: aiohttp.ClientSession, emulator: BotAPIEmulator, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(emulator.api_url(method), json=params) as response:
        return response.status, await response.json()


@asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot, emulator: BotAPIEmulator) -> AsyncIterator[None]:
    since = len(emulator.calls)
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=5)
    )
    try:
        await emulator.wait_for_call("getUpdates", since=since, finished=False)
        yield
    finally:
        await dp.stop_polling()
        await task


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------------ protocol basics


async def test_get_me_over_raw_http_and_aiogram(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession, bot: Bot
) -> None:
    status, body = await call(http, emulator, "getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "emulated_bot"

    async with http.get(emulator.api_url("GETME")) as response:  # names are case-insensitive
        assert (await response.json())["result"]["id"] == emulator.bot_user.id

    me = await bot.get_me()
    assert me.id == emulator.bot_user.id
    assert me.supports_inline_queries is True


async def test_unknown_method_wrong_token_and_unknown_path(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, emulator, "sendTelepathy")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async with http.post(f"{emulator.base_url}/bot1:wrong/getMe") as response:
        assert response.status == 401
        assert (await response.json())["description"] == "Unauthorized"

    async with http.get(f"{emulator.base_url}/nothing/here") as response:
        assert response.status == 404


async def test_form_encoded_and_multipart_bodies_decode_nested_json(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    user = emulator.create_user("Ann", started=True)
    keyboard = '{"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}'
    form = {"chat_id": str(user.id), "text": "form", "reply_markup": keyboard}
    async with http.post(emulator.api_url("sendMessage"), data=form) as response:
        body = await response.json()
    assert body["ok"] is True
    assert body["result"]["reply_markup"] == {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}

    multipart = aiohttp.FormData()
    multipart.add_field("chat_id", str(user.id))
    multipart.add_field("caption", "<b>report</b>")
    multipart.add_field("parse_mode", "HTML")
    multipart.add_field("document", b"a,b\n1,2\n", filename="report.csv")
    async with http.post(emulator.api_url("sendDocument"), data=multipart) as response:
        body = await response.json()
    assert body["ok"] is True
    assert body["result"]["document"]["file_name"] == "report.csv"
    assert body["result"]["document"]["mime_type"] == "text/csv"
    assert body["result"]["caption_entities"] == [{"type": "bold", "offset": 0, "length": 6}]
    assert user.chat.last_bot_message is not None
    assert user.chat.last_bot_message.document_bytes == b"a,b\n1,2\n"

    logged = emulator.calls_to("sendMessage")[0]
    assert logged.params["chat_id"] == user.id
    assert logged.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Go"


# ------------------------------------------------------------------------------- sending and editing


async def test_send_edit_delete_with_aiogram(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="More", callback_data="more")]])
    sent = await bot.send_message(
        user.id, "<b>Hello</b>, <i>world</i>", parse_mode="HTML", reply_markup=markup
    )
    assert sent.text == "Hello, world"

    stored = user.chat.message(sent.message_id)
    assert stored.raw_text == "<b>Hello</b>, <i>world</i>"
    assert stored.entities == [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "italic", "offset": 7, "length": 5},
    ]
    assert stored.button_texts == ["More"]

    edited = await bot.edit_message_text(
        "Bye", chat_id=user.id, message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert stored.text == "Bye"
    assert [version.text for version in stored.versions] == ["Hello, world", "Bye"]

    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text("Bye", chat_id=user.id, message_id=sent.message_id, reply_markup=markup)

    # Leaving reply_markup out removes the keyboard, which is a modification.
    await bot.edit_message_text("Bye", chat_id=user.id, message_id=sent.message_id)
    assert stored.reply_markup is None

    await bot.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id, reply_markup=markup)
    assert stored.button_texts == ["More"]
    assert stored.edit_count == 3

    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)

    assert await bot.delete_message(user.id, sent.message_id) is True
    assert stored.deleted
    assert user.chat.messages == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_user_messages_cannot_be_edited_by_the_bot(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann")
    own = await user.send_text("hi")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("hacked", chat_id=user.id, message_id=own.message_id)


# ------------------------------------------------------------------------------------ HTML validation


async def test_valid_nested_html_produces_telegram_entities(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    text = (
        '<b>bold <i>both</i></b> <a href="https://example.com/?a=1&amp;b=2">link</a> '
        '<code>x&lt;y</code> <pre><code class="language-python">print(1)</code></pre>'
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">p</span>'
        "<blockquote expandable>quote</blockquote>&#128512;&quot;"
    )
    sent = await bot.send_message(user.id, text, parse_mode="HTML")
    assert sent.text == 'bold both link x<y print(1)spquote😀"'
    stored = user.chat.message(sent.message_id)
    assert stored.entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://example.com/?a=1&b=2"},
        {"type": "code", "offset": 15, "length": 3},
        {"type": "pre", "offset": 19, "length": 8, "language": "python"},
        {"type": "spoiler", "offset": 27, "length": 2},
        {"type": "expandable_blockquote", "offset": 29, "length": 5},
    ]


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("Tom &x; Jerry", 'Unsupported HTML entity "&x;" at byte offset 4'),
        ("Q&A", 'Character "&" must be escaped as "&amp;" at byte offset 1'),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=https://x.y>x</a>", "Unexpected end of name token at byte offset 8"),
    ],
)
async def test_invalid_html_is_rejected_like_telegram(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession, markup: str, detail: str
) -> None:
    user = emulator.create_user("Ann", started=True)
    status, body = await call(http, emulator, "sendMessage", chat_id=user.id, text=markup, parse_mode="HTML")
    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": PARSE_ERROR + detail}
    assert user.chat.messages == []


async def test_html_errors_reach_aiogram_as_bad_request(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user.id, "1 < 2", parse_mode="HTML")
    # The same text is fine without a parse mode.
    assert (await bot.send_message(user.id, "1 < 2")).text == "1 < 2"


async def test_lengths_are_counted_in_utf16_after_parsing(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    too_long = "😀" + "a" * 4095  # 4096 characters, 4097 UTF-16 code units
    assert len(too_long) == 4096
    assert utf16_len(too_long) == 4097
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user.id, too_long)
    fits = "😀" + "a" * 4094
    assert (await bot.send_message(user.id, fits)).text == fits

    # Markup does not count: 4096 visible characters wrapped in tags are fine.
    assert (
        await bot.send_message(user.id, "<b>" + "b" * 4096 + "</b>", parse_mode="HTML")
    ).text == "b" * 4096

    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(user.id, "<b></b>  ", parse_mode="HTML")

    document = BufferedInputFile(b"x", "x.txt")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(user.id, document, caption="😀" * 513)

    sent = await bot.send_message(user.id, "😀 <b>x</b>", parse_mode="HTML")
    assert user.chat.message(sent.message_id).entities == [{"type": "bold", "offset": 3, "length": 1}]


def test_markdown_v2_and_trimming() -> None:
    parsed = parse_text("*bold _it_* \\. [link](https://e.com) `c\\`d`", "MarkdownV2")
    assert parsed.text == "bold it . link c`d"
    assert [(e.type, e.offset, e.length) for e in parsed.entities] == [
        ("bold", 0, 7),
        ("italic", 5, 2),
        ("text_link", 10, 4),
        ("code", 15, 3),
    ]
    with pytest.raises(ValueError, match=r"Character '\.' is reserved"):
        parse_text("end.", "MarkdownV2")
    trimmed = parse_text("  \n<b>x</b>\n ", "HTML")
    assert (trimmed.text, trimmed.entities[0].offset) == ("x", 0)


# ------------------------------------------------------------------------------------------ keyboards


async def test_callback_data_is_limited_to_64_bytes(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="b", callback_data=data)]])

    await bot.send_message(user.id, "ok", reply_markup=keyboard("x" * 64))
    await bot.send_message(user.id, "ok", reply_markup=keyboard("ж" * 32))  # 64 bytes in UTF-8
    for data in ("x" * 65, "ж" * 33):
        with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
            await bot.send_message(user.id, "no", reply_markup=keyboard(data))

    text_only = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="just text")]])
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed in the inline keyboard"):
        await bot.send_message(user.id, "no", reply_markup=text_only)
    assert len(user.chat.bot_messages) == 2


# ------------------------------------------------------------------------------------ fault injection


async def test_injected_429_surfaces_as_retry_after(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.id, "hi")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message
    # times=1: the next call goes through.
    assert (await bot.send_message(user.id, "hi")).text == "hi"
    assert emulator.stats.injected_faults["retry_after"] == 1


async def test_forbidden_and_server_errors(emulator: BotAPIEmulator, bot: Bot) -> None:
    ann = emulator.create_user("Ann", started=True)
    bob = emulator.create_user("Bob", started=True)

    emulator.inject(FaultKind.BLOCKED, chat=ann, times=None)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(ann.id, "hi")
    assert (await bot.send_message(bob.id, "hi")).text == "hi"  # scoped to Ann's chat
    emulator.faults.clear()

    bob.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(bob.id, "hi")
    bob.deactivate()
    with pytest.raises(TelegramForbiddenError, match="Forbidden: user is deactivated"):
        await bot.send_chat_action(bob.id, "typing")

    stranger = emulator.create_user("Cid")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "hi")

    emulator.inject(FaultKind.SERVER_ERROR, method="sendMessage")
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(ann.id, "hi")
    emulator.inject(FaultKind.BAD_GATEWAY)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()

    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message("@nobody_here", "hi")


async def test_stall_delays_the_answer(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.inject(FaultKind.STALL, method="getMe", stall_seconds=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.get_me()
    assert loop.time() - started >= 0.2


async def test_channels_rights_and_kicks(emulator: BotAPIEmulator, bot: Bot) -> None:
    channel = emulator.create_channel("News", username="alatau_news", can_post_messages=False)
    member = await bot.get_chat_member(channel.id, emulator.bot_user.id)
    assert member.status == "administrator"
    assert getattr(member, "can_post_messages", None) is False
    with pytest.raises(TelegramBadRequest, match="need administrator rights in the channel chat"):
        await bot.send_message("@alatau_news", "post")

    channel.set_bot_rights("administrator", can_post_messages=True)
    post = await bot.send_message(channel.id, "post")
    assert post.sender_chat is not None
    assert post.sender_chat.id == channel.id

    channel.set_bot_rights("kicked")
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was kicked from the channel chat"):
        await bot.send_message(channel.id, "post")
    emulator.inject(FaultKind.KICKED, chat=channel)  # any method aimed at the chat, once
    with pytest.raises(TelegramForbiddenError, match="kicked from the channel chat"):
        await bot.get_chat(channel.id)
    chat = await bot.get_chat(channel.id)
    assert chat.title == "News"

    updates = await bot.get_updates()
    kinds = [update.my_chat_member.new_chat_member.status for update in updates if update.my_chat_member]
    assert kinds == ["administrator", "kicked"]


# ---------------------------------------------------------------------------------------- rate limits


async def test_rate_limits_answer_429_and_count_them(
    emulator: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    emulator.set_rate_limits(RateLimitConfig(global_limit=RateLimit(3, 1.0)))
    users = [emulator.create_user(f"U{i}", started=True) for i in range(4)]

    await bot.send_message(users[0].id, "1")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(users[0].id, "2")  # private chats: 1 message per second
    assert caught.value.retry_after == 1

    await bot.send_message(users[1].id, "1")
    await bot.send_message(users[2].id, "1")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[3].id, "1")  # global: 3 per second
    assert emulator.stats.self_inflicted_429 == 2

    clock.now += 1.0
    await bot.send_message(users[3].id, "1")
    await bot.send_message(users[0].id, "2")

    group = emulator.create_group("Chat")
    emulator.set_rate_limits(RateLimitConfig(global_limit=None, group_chat=RateLimit(20, 60.0)))
    for number in range(20):
        await bot.send_message(group.id, str(number))
        clock.now += 0.5
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(group.id, "21")
    assert caught.value.retry_after == 50  # the oldest of the 20 leaves the minute window in 50 s
    assert emulator.stats.self_inflicted_429 == 3


# ----------------------------------------------------------------------------- updates and long polling


async def test_get_updates_long_poll_returns_promptly_and_confirms(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    user = emulator.create_user("Ann")
    poll = asyncio.create_task(call(http, emulator, "getUpdates", timeout=30))
    await emulator.wait_for_call("getUpdates", finished=False)
    await user.send_text("/start deep")
    status, body = await asyncio.wait_for(poll, 2)
    assert status == 200
    [update] = body["result"]
    message = update["message"]
    assert message["text"] == "/start deep"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"]["first_name"] == "Ann"

    # Unconfirmed updates are delivered again; an offset past them confirms them.
    _, again = await call(http, emulator, "getUpdates")
    assert [u["update_id"] for u in again["result"]] == [update["update_id"]]
    _, confirmed = await call(http, emulator, "getUpdates", offset=update["update_id"] + 1)
    assert confirmed["result"] == []
    assert emulator.pending_updates == []


async def test_newer_get_updates_terminates_the_older_one(
    emulator: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, emulator, "getUpdates", timeout=30))
    await emulator.wait_for_call("getUpdates", finished=False)
    status, body = await call(http, emulator, "getUpdates")
    assert (status, body["result"]) == (200, [])
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_webhook_is_stored_and_blocks_polling(emulator: BotAPIEmulator, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.com/hook", allowed_updates=["message"])
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
        await bot.set_webhook("http://example.com/hook")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == []


async def test_dispatcher_echo_and_callback_over_long_polling(emulator: BotAPIEmulator, bot: Bot) -> None:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Ping", callback_data="ping")]]
        )
        await message.answer(
            f"echo: <b>{html.quote(message.text or '')}</b>", parse_mode="HTML", reply_markup=keyboard
        )

    @router.callback_query(F.data == "ping")
    async def ping(query: CallbackQuery) -> None:
        await query.answer("pong", show_alert=True)
        if isinstance(query.message, Message):
            await query.message.edit_text("pinged")

    dp = Dispatcher()
    dp.include_router(router)
    user = emulator.create_user("Ann", username="ann")
    async with polling(dp, bot, emulator):
        await user.send_text("hello <world> & co")
        reply = await user.chat.wait_for_message(timeout=5)
        assert reply.text == "echo: hello <world> & co"
        assert reply.entities == [{"type": "bold", "offset": 6, "length": 18}]
        assert render_message(reply, ansi=False) == "echo: **hello <world> & co**\n[1] Ping"

        query = await user.press(reply, "Ping")
        answer = await query.wait_answer(timeout=5)
        assert (answer.text, answer.show_alert) == ("pong", True)
        await user.chat.wait_for_edit(reply, timeout=5)
        assert reply.text == "pinged"
        assert reply.reply_markup is None

        # Answering the same query twice is refused.
        with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
            await bot.answer_callback_query(query.id)
        await emulator.wait_idle()
    assert emulator.pending_updates == []


async def test_allowed_updates_filter_what_is_queued(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    await bot.get_updates(allowed_updates=["message"])
    sent = await bot.send_message(
        user.id,
        "x",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="b")]]
        ),
    )
    query = await user.press(user.chat.message(sent.message_id), "b")
    assert not query.delivered
    assert emulator.stats.dropped_updates == 1


async def test_group_privacy_mode_and_forwarded_channel_posts(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann")
    group = emulator.create_group("Friends", members=[user])
    await user.send_text("just chatting", chat=group)
    await user.send_text("/digest@emulated_bot", chat=group)
    channel = emulator.create_channel("Alatau News", bot_status="left")
    forwarded = await user.forward_channel_post(channel, "Metro line opens #alatau")

    updates = await bot.get_updates()
    texts = [update.message.text for update in updates if update.message]
    assert texts == ["/digest@emulated_bot", "Metro line opens #alatau"]
    forwarded_update = updates[-1].message
    assert forwarded_update is not None
    origin = forwarded_update.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert origin.chat.id == channel.id
    assert forwarded.forward_origin is not None
    assert origin.message_id == forwarded.forward_origin["message_id"]
    assert channel.all_messages[0].text == "Metro line opens #alatau"  # the post exists in the channel
    assert forwarded_update.entities is not None
    assert forwarded_update.entities[0].type == "hashtag"


# ------------------------------------------------------------------------------------------ inline mode


async def test_inline_query_answers_are_validated(
    emulator: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    user = emulator.create_user("Ann")
    query = await user.inline_query("metro")

    def article(number: int, text: str = "Story") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            id=f"r{number}",
            title=f"Story {number}",
            input_message_content=InputTextMessageContent(message_text=text),
        )

    with pytest.raises(TelegramBadRequest, match="Bad Request: RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query.id, [article(i) for i in range(51)])
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query.id, [article(1), article(1)])
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        bad = InlineQueryResultArticle(
            id="b",
            title="B",
            input_message_content=InputTextMessageContent(message_text="<b>", parse_mode="HTML"),
        )
        await bot.answer_inline_query(query.id, [bad])
    with pytest.raises(TelegramBadRequest, match="NEXT_OFFSET_INVALID"):
        await bot.answer_inline_query(query.id, [article(1)], next_offset="9" * 65)

    assert await bot.answer_inline_query(query.id, [article(i) for i in range(50)], next_offset="50")
    answer = await query.wait_answer()
    assert len(answer.results) == 50
    assert answer.next_offset == "50"
    chosen = await user.choose_inline_result(query, "r3", chat=user.chat)
    assert chosen is not None
    assert chosen.via_bot is not None

    late = await user.inline_query("late")
    clock.now += 16  # beyond the 15 s Telegram waits for an answer
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(late.id, [article(1)])


# ------------------------------------------------------------------------------------------------ files


async def test_document_upload_get_file_download_round_trip(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    payload = "Новости Алатау\n".encode() * 100
    sent = await bot.send_document(
        user.id, BufferedInputFile(payload, "digest.txt"), caption="<i>digest</i>", parse_mode="HTML"
    )
    assert sent.document is not None
    assert sent.document.file_name == "digest.txt"
    assert sent.document.file_size == len(payload)
    assert sent.caption == "digest"
    stored = user.chat.message(sent.message_id)
    assert stored.document_bytes == payload
    assert emulator.calls_to("sendDocument")[0].uploads  # went up as multipart

    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == payload

    # The same file can be re-sent by file_id, but not as a photo.
    again = await bot.send_document(user.id, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == sent.document.file_unique_id
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(user.id, sent.document.file_id)

    incoming = await user.send_document("notes.md", b"# notes", caption="please summarise")
    assert incoming.document is not None
    file = await bot.get_file(incoming.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == b"# notes"


async def test_photo_upload_reads_dimensions(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", started=True)
    sent = await bot.send_photo(user.id, BufferedInputFile(tiny_png(3, 2), "p.png"), caption="map")
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user.id, BufferedInputFile(b"not an image", "p.png"))


# --------------------------------------------------------------------------------- commands and chats


async def test_commands_are_stored_per_scope_and_language(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", language_code="ru")
    group = emulator.create_group("Friends", members=[user])
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="latest", description="Последние новости")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    await bot.set_my_commands(
        [BotCommand(command="digest", description="Digest")], scope=BotCommandScopeChat(chat_id=group.id)
    )

    calls = emulator.calls_to("setMyCommands")
    assert [c.params["commands"][0]["command"] for c in calls] == ["start", "latest", "digest"]
    assert calls[1].params["scope"] == {"type": "all_private_chats"}
    assert calls[1].params["language_code"] == "ru"

    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.get_my_commands(language_code="de") == []
    assert [c["command"] for c in emulator.visible_commands(user.chat)] == ["latest"]
    assert [c["command"] for c in emulator.visible_commands(user.chat, language_code="en")] == ["start"]
    assert [c["command"] for c in emulator.visible_commands(group, user)] == ["digest"]

    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


async def test_get_chat_chat_member_and_chat_action(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.create_user("Ann", username="ann_a", started=True)
    group = emulator.create_group("Friends", members=[user], bot_status="administrator")
    chat = await bot.get_chat(user.id)
    assert (chat.type, chat.username, chat.first_name) == ("private", "ann_a", "Ann")
    assert (await bot.get_chat_member(group.id, user.id)).status == "member"
    assert (await bot.get_chat_member(group.id, emulator.bot_user.id)).status == "administrator"

    assert await bot.send_chat_action(user.id, "typing")
    await user.chat.wait_for_action("typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action in request"):
        await bot.send_chat_action(user.id, "dancing")
