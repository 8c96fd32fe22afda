"""Replies hit by Telegram's flood control are retried after `retry_after`, within a bound (issue 14,
item 11); the digest engine's sends are not (it paces itself by the same answer).

The 429s come from the Bot API emulator's fault injection, over real HTTP, as Telegram sends them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from bot.app.session import MAX_RETRIES, RedactingSession
from bot.digests.sending import Outgoing, Refusal, SendRefused
from bot.digests.telegram import TelegramSender
from emulator import BotAPIEmulator, EmulatedUser, FaultKind


class Waits:
    """The session's sleep: records what it was asked to wait, and waits no real time."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emu:
        yield emu


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def bot(emulator: BotAPIEmulator, waits: Waits) -> AsyncIterator[Bot]:
    session = RedactingSession(api=emulator.api_server(), sleep=waits)
    instance = Bot(emulator.token, session=session)
    yield instance
    await session.close()


@pytest.fixture
def user(emulator: BotAPIEmulator) -> EmulatedUser:
    return emulator.create_user("Ann", started=True)


async def test_a_reply_is_retried_after_retry_after(
    emulator: BotAPIEmulator, bot: Bot, waits: Waits, user: EmulatedUser
) -> None:
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", times=2, retry_after=3)
    sent = await bot.send_message(user.id, "ответ")
    assert sent.text == "ответ"
    assert waits.seconds == [3, 3]
    assert emulator.stats.injected_faults["retry_after"] == 2
    assert [m.text for m in user.chat.bot_messages] == ["ответ"]  # delivered once


async def test_edits_and_callback_answers_are_retried_too(
    emulator: BotAPIEmulator, bot: Bot, waits: Waits, user: EmulatedUser
) -> None:
    sent = await bot.send_message(user.id, "страница 1")
    emulator.inject(FaultKind.RETRY_AFTER, method="editMessageText", retry_after=2)
    edited = await bot.edit_message_text("страница 2", chat_id=user.id, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "страница 2"
    assert waits.seconds == [2]


async def test_retries_stop_after_max_retries(
    emulator: BotAPIEmulator, bot: Bot, waits: Waits, user: EmulatedUser
) -> None:
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", times=None, retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(user.id, "ответ")
    assert waits.seconds == [1] * MAX_RETRIES
    assert emulator.stats.injected_faults["retry_after"] == MAX_RETRIES + 1


async def test_a_wait_over_the_budget_is_not_waited(
    emulator: BotAPIEmulator, bot: Bot, waits: Waits, user: EmulatedUser
) -> None:
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", retry_after=60)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.id, "ответ")
    assert caught.value.retry_after == 60
    assert waits.seconds == []


async def test_digest_sends_are_left_to_the_delivery_engine(
    emulator: BotAPIEmulator, bot: Bot, waits: Waits, user: EmulatedUser
) -> None:
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", retry_after=4)
    sender = TelegramSender(bot)
    with pytest.raises(SendRefused) as caught:
        await sender.send(Outgoing(user.id, "дайджест", None, paid=False), timeout=10)
    assert caught.value.refusal is Refusal.FLOOD
    assert caught.value.retry_after == 4
    assert waits.seconds == []  # not waited here: the engine reschedules the send itself
    assert emulator.stats.injected_faults["retry_after"] == 1
