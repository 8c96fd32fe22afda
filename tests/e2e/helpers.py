"""What the end-to-end tests do as a person on Telegram: say something, press a button, read the reply.

A plain module rather than conftest.py so that the tests can import these by name; the fixtures that use
them are in conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from bot.app.playground import LocalBot
from bot.app.settings import Settings
from bot.clock import Clock
from bot.corpus.ingest import TextInput
from emulator import BotAPIEmulator, CallbackAnswer, EmulatedUser, StoredMessage

# Generous enough for a loaded machine (uploads are parsed before the reply), short enough for a hung bot
# to fail the test quickly.
REPLY_TIMEOUT = 20.0


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a bot under test: its own database, no throttling, no sample corpus, short texts allowed."""
    values: dict[str, Any] = {
        "database_path": tmp_path / "bot.db",
        "min_text_chars": 20,
        "throttle_rate": 1000,
        "load_sample_corpus": False,
        **overrides,
    }
    return Settings(**values)


class StartBot(Protocol):
    async def __call__(
        self,
        *,
        emulator: BotAPIEmulator | None = None,
        clock: Clock | None = None,
        load_sample: bool = False,
        **overrides: Any,
    ) -> LocalBot: ...


def local_bot(
    tmp_path: Path,
    *,
    emulator: BotAPIEmulator | None = None,
    clock: Clock | None = None,
    load_sample: bool = False,
    **overrides: Any,
) -> LocalBot:
    """A bot against the emulator, not started yet: `async with local_bot(...) as running`."""
    return LocalBot(
        settings_for(tmp_path, **overrides), emulator=emulator, load_sample=load_sample, clock=clock
    )


async def ingest(local: LocalBot, *texts: str, source_name: str | None = None) -> list[int]:
    ids = []
    for text in texts:
        result = await local.services.corpus.ingest(TextInput(text, source="test", source_name=source_name))
        assert result.id is not None, result
        ids.append(result.id)
    return ids


async def say(user: EmulatedUser, text: str) -> StoredMessage:
    """Send `text` and return the bot's next message."""
    await user.send_text(text)
    return await user.chat.wait_for_message(timeout=REPLY_TIMEOUT)


async def press(user: EmulatedUser, message: StoredMessage, button: str) -> CallbackAnswer:
    """Press the button whose label or callback data is `button`; return the answer to the callback."""
    query = await user.press(message, button)
    return await query.wait_answer(timeout=REPLY_TIMEOUT)


async def press_and_edit(user: EmulatedUser, message: StoredMessage, button: str) -> StoredMessage:
    """Press, then wait for an edit of `message` that no earlier press_and_edit has consumed."""
    await press(user, message, button)
    return await user.chat.wait_for_edit(message, timeout=REPLY_TIMEOUT)


async def press_until_changed(user: EmulatedUser, message: StoredMessage, button: str) -> StoredMessage:
    """Press, then wait until `message` is edited after the press (earlier unread edits do not count)."""
    seen = message.edit_count
    await press(user, message, button)
    await user.chat.wait_until(
        lambda: message.edit_count > seen, timeout=REPLY_TIMEOUT, what="the screen to change"
    )
    return message


def callback_values(message: StoredMessage) -> list[str]:
    return [str(b["callback_data"]) for b in message.buttons if "callback_data" in b]


def button(message: StoredMessage, prefix: str, index: int = 0) -> str:
    """The callback data of the `index`-th button whose data starts with `prefix`."""
    data = [value for value in callback_values(message) if value.startswith(prefix)]
    assert len(data) > index, (prefix, message.buttons)
    return data[index]


def entity_text(message: StoredMessage, entity: dict[str, Any]) -> str:
    # Entity offsets count UTF-16 code units, as Telegram's do.
    raw = (message.text or "").encode("utf-16-le")
    return raw[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])].decode("utf-16-le")
