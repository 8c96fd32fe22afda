"""aiogram's models built on first use (bot/app/lazy_models.py) behave as aiogram builds them: every type and
method can be built that way, and an update read and a request written are the same as with aiogram's
eager build. Each side runs in a fresh interpreter: the deferral must come before aiogram is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import asyncio, json, sys
if sys.argv[1] == "lazy":
    from bot.app.lazy_models import defer_aiogram_models
    assert defer_aiogram_models()
    import bot.app.cli, bot.app.runners, bot.app.dispatcher, handlers  # what `python -m bot` imports
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import Update
from aiogram.types.base import TelegramObject

UPDATES = [
    {"update_id": 1, "message": {"message_id": 7, "date": 1700000000, "text": "/start doc_5 hi",
        "chat": {"id": 10, "type": "private", "first_name": "A"},
        "from": {"id": 10, "is_bot": False, "first_name": "A", "language_code": "ru"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "reply_to_message": {"message_id": 6, "date": 1700000000, "chat": {"id": 10, "type": "private"},
            "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "1", "callback_data": "d:5"}]]}},
        "document": {"file_id": "f", "file_unique_id": "u", "file_name": "a.pdf", "file_size": 3}}},
    {"update_id": 2, "callback_query": {"id": "q", "chat_instance": "c", "data": "p:s:3:1",
        "from": {"id": 10, "is_bot": False, "first_name": "A"},
        "message": {"message_id": 8, "date": 1700000000, "chat": {"id": 10, "type": "private"}, "text": "t"}}},
    {"update_id": 3, "inline_query": {"id": "i", "query": "аэропорт", "offset": "",
        "from": {"id": 10, "is_bot": False, "first_name": "A"}}},
    {"update_id": 4, "my_chat_member": {"date": 1700000000, "chat": {"id": -100, "type": "channel", "title": "C"},
        "from": {"id": 10, "is_bot": False, "first_name": "A"},
        "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
        "new_chat_member": {"status": "left", "user": {"id": 1, "is_bot": True, "first_name": "B"}}}},
]


def models():
    seen, stack = set(), [TelegramObject, TelegramMethod]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return sorted(seen, key=lambda c: c.__module__ + c.__qualname__)


async def main():
    from aiogram.methods import SendMessage
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    deferred = sum(not m.__pydantic_complete__ for m in models())
    read = Response[list[Update]].model_validate({"ok": True, "result": UPDATES})
    out = [u.model_dump(mode="json", exclude_none=True) for u in read.result]
    send = SendMessage(chat_id=10, text="<b>x</b>", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="1", callback_data="d:5")]]))
    out.append(send.model_dump(exclude_none=True))  # as aiogram's session prepares a request
    failed = []
    for model in models():  # every one can be built, by its first use
        try:
            model.__pydantic_validator__.validate_python
            model.__pydantic_serializer__.to_python
            assert model.__pydantic_complete__
        except Exception as exc:
            failed.append(f"{model.__qualname__}: {exc}")
    print(json.dumps({"deferred": deferred, "out": out, "failed": failed, "models": len(models())}, default=str))

asyncio.run(main())
"""


def _probe(mode: str) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(run.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lazy() -> dict[str, object]:
    return _probe("lazy")


def test_most_models_wait_for_their_first_use(lazy: dict[str, object]) -> None:
    """What saves the memory: were this to stop working (another aiogram), this says so."""
    assert isinstance(lazy["deferred"], int) and isinstance(lazy["models"], int)
    assert lazy["deferred"] > lazy["models"] // 2


def test_every_aiogram_model_builds_on_first_use(lazy: dict[str, object]) -> None:
    assert lazy["failed"] == []


def test_updates_and_requests_are_the_same_as_with_aiogram_building_them_all(lazy: dict[str, object]) -> None:
    eager = _probe("eager")
    assert eager["deferred"] == 0 or eager["deferred"] < lazy["deferred"]  # type: ignore[operator]
    assert lazy["out"] == eager["out"]


def test_nothing_is_deferred_once_aiogram_is_imported() -> None:
    """A process that imported aiogram first (the tests, the CLI tools) keeps aiogram's eager build."""
    code = (
        "import aiogram\nfrom bot.app.lazy_models import defer_aiogram_models\nprint(defer_aiogram_models())"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
