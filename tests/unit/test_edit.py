"""The edit helper's reading of Telegram's refusals: an edit that changes nothing is no error, others are."""

from __future__ import annotations

from unittest.mock import AsyncMock

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText
from aiogram.types import Message

from emulator.errors import QUERY_TOO_OLD
from handlers.ui.edit import edit, is_not_modified, is_query_too_old

# Telegram's own wording, as the Bot API returns it.
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


def _refusal(description: str) -> TelegramBadRequest:
    return TelegramBadRequest(method=EditMessageText(text="x"), message=description)


def _message(error: Exception | None) -> AsyncMock:
    message = AsyncMock(spec=Message)
    message.edit_text = AsyncMock(side_effect=error)
    return message


async def test_an_edit_that_changes_nothing_is_not_an_error() -> None:
    message = _message(_refusal(NOT_MODIFIED))
    await edit(message, "same text")
    message.edit_text.assert_awaited_once()


async def test_other_refusals_are_raised() -> None:
    with pytest.raises(TelegramBadRequest):
        await edit(_message(_refusal("Bad Request: message to edit not found")), "text")


def test_the_refusals_are_told_apart() -> None:
    assert is_not_modified(_refusal(NOT_MODIFIED.upper()))
    assert not is_not_modified(_refusal("Bad Request: " + QUERY_TOO_OLD))
    assert is_query_too_old(_refusal("Bad Request: " + QUERY_TOO_OLD))
    assert not is_query_too_old(_refusal(NOT_MODIFIED))
