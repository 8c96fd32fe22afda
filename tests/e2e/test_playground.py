"""The playground (`make chat`) driven directly: what the bot sends on its own is printed as it arrives,
and a button the bot only answers (no new message, no edit) does not hold the prompt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.playground import LocalBot, Playground
from handlers.callbacks import Noop
from tests.e2e.helpers import settings_for

pytestmark = pytest.mark.timeout(60)

BOUND = 30.0  # a hang guard, not a timing assertion


class Lines(list[str]):
    """What the playground printed; ``printed`` waits (bounded) until a line holds some text."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def out(self, line: str) -> None:
        self.append(line)
        self.changed.set()

    async def printed(self, text: str) -> None:
        async with asyncio.timeout(BOUND):
            while not any(text in line for line in self):
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[tuple[Playground, Lines]]:
    async with LocalBot(settings_for(tmp_path), load_sample=False) as local:
        user = local.emulator.create_user("You", id=1000, language_code="en", started=True)
        lines = Lines()
        shell = Playground(local, user, out=lines.out)
        printer = asyncio.create_task(shell.run_printer())
        try:
            yield shell, lines
        finally:
            printer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await printer


async def test_a_message_the_bot_sends_on_its_own_is_printed_without_input(
    playground: tuple[Playground, Lines],
) -> None:
    shell, lines = playground
    assert await asyncio.wait_for(shell.handle("/help"), BOUND)
    printed = len(lines)
    assert printed and "/latest" in "".join(lines)
    # Outside any request, as a chart after its text or an instant digest: no keypress follows.
    await shell.local.bot.send_message(shell.user.id, "arrived on its own")
    await lines.printed("arrived on its own")
    assert lines.count(lines[-1]) == 1 and len(lines) == printed + 1  # printed once


async def test_an_edit_that_arrives_later_is_printed(playground: tuple[Playground, Lines]) -> None:
    shell, lines = playground
    sent = await shell.local.bot.send_message(shell.user.id, "first version")
    await lines.printed("first version")
    await shell.local.bot.edit_message_text(
        "second version", chat_id=shell.user.id, message_id=sent.message_id
    )
    await lines.printed("second version")
    assert sum("version" in line for line in lines) == 2


async def test_a_button_the_bot_only_answers_returns_after_the_answer(
    playground: tuple[Playground, Lines],
) -> None:
    shell, lines = playground
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="1/3", callback_data=Noop().pack())]]
    )
    await shell.local.bot.send_message(shell.user.id, "page one", reply_markup=markup)
    await lines.printed("page one")
    assert shell.last is not None and shell.last.text == "page one"
    printed = len(lines)
    # The page counter: the bot answers it and sends or edits nothing; handle() returns on the answer.
    assert await asyncio.wait_for(shell.handle("1"), BOUND)
    queries = shell.local.emulator.state.callback_queries
    assert queries and all(query.answer is not None for query in queries.values())
    assert len(lines) == printed  # nothing re-printed
