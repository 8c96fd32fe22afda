"""The real bot, offline: the Bot API emulator on loopback, the real handlers and database behind it.

`LocalBot` is what the end-to-end tests and the bot benchmark run; `run_playground` (`make chat`) puts a
terminal in front of it: type a message, a number to press a button, `/inline query` for inline mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aiogram import Bot, Dispatcher

from bot.app.container import Services
from bot.app.dispatcher import BotApp
from bot.app.runners import make_bot
from bot.app.settings import Settings
from bot.clock import Clock
from bot.digests.subscriptions import Digests
from emulator import BotAPIEmulator, EmulatedUser, StoredMessage, numbered_buttons, render_message


class LocalBot:
    """Emulator + services + Bot + Dispatcher polling it; an async context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        emulator: BotAPIEmulator | None = None,
        load_sample: bool | None = None,
        configure: Callable[[Dispatcher, Services], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock  # the digest scheduler's and delivery engine's time (tests pass a ManualClock)
        self.emulator = emulator or BotAPIEmulator()
        self.load_sample = load_sample
        self.configure = configure
        self._task: asyncio.Task[None] | None = None
        self._own_emulator = True

    async def __aenter__(self) -> LocalBot:
        # An emulator the caller already runs stays the caller's to stop (several bots can share one).
        self._own_emulator = not self.emulator.running
        if self._own_emulator:
            await self.emulator.start()
        settings = self.settings.model_copy(
            update={"telegram_api_url": self.emulator.base_url, "bot_token": self.emulator.token}
        )
        self.services = await Services.open(settings, load_sample=self.load_sample, clock=self.clock)
        self.bot: Bot = make_bot(settings, self.emulator.token)
        self.app = BotApp.build(self.services, self.bot)
        self.dp: Dispatcher = self.app.dp
        self.digests: Digests = self.app.digests
        if self.configure:
            self.configure(self.dp, self.services)
        await self.app.set_menus(self.bot)
        since = len(self.emulator.calls)
        self._task = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, close_bot_session=False, polling_timeout=5)
        )
        await self.emulator.wait_for_call("getUpdates", since=since, finished=False, timeout=10)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            await self._task
        await self.bot.session.close()
        await self.services.close()
        if self._own_emulator:
            await self.emulator.stop()


HELP = (
    "Type a message and Enter. A number presses that button; /inline QUERY tries inline mode; "
    "/file PATH sends a file (admins: upload it); /quit leaves."
)


class Playground:
    """The terminal conversation: ``handle`` acts on one typed line; ``run_printer`` (a background task)
    prints every new bot message and edit as it arrives, so replies the bot sends on its own (a chart
    after its text, an instant digest) show up without waiting for the next keypress."""

    def __init__(self, local: LocalBot, user: EmulatedUser, *, out: Callable[[str], None] = print) -> None:
        self.local = local
        self.user = user
        self.out = out
        self.ansi = sys.stdout.isatty() if out is print else False
        self.last: StoredMessage | None = None  # the message whose buttons numbers press
        self._shown: dict[int, int] = {}  # message_id -> edit_count already printed
        # What the bot sent before the playground began is not news.
        for message in user.chat.bot_messages:
            self._shown[message.message_id] = message.edit_count

    def _pending(self) -> bool:
        return any(self._shown.get(m.message_id) != m.edit_count for m in self.user.chat.bot_messages)

    def flush(self) -> None:
        """Print every bot message or edit not printed yet, oldest first."""
        for message in self.user.chat.bot_messages:
            if self._shown.get(message.message_id) == message.edit_count:
                continue
            self._shown[message.message_id] = message.edit_count
            self.out(render_message(message, ansi=self.ansi) + "\n")
            self.last = message

    async def run_printer(self) -> None:
        state = self.local.emulator.state
        while True:
            await state.wait_for(self._pending, None)
            self.flush()

    async def settle(self) -> None:
        """Let the bot finish what the last input started, then print it."""
        with contextlib.suppress(TimeoutError):
            await self.local.emulator.wait_idle(timeout=10, quiet=0.2)
        self.flush()

    async def handle(self, text: str) -> bool:
        """Act on one typed line; False means leave."""
        text = text.strip()
        if text in ("/quit", "/exit"):
            return False
        if not text:
            return True
        user = self.user
        if text.startswith("/inline"):
            await _inline(user, text.removeprefix("/inline").strip(), self.out)
            return True
        loop = asyncio.get_running_loop()
        last = self.last
        if text.isdigit() and last is not None and 1 <= int(text) <= len(numbered_buttons(last)):
            button = numbered_buttons(last)[int(text) - 1]
            query = await user.press(last, str(button.get("callback_data") or button["text"]))
            # The answer is the bot's reply to a press; an edit, if any, is printed when it arrives.
            try:
                answer = await query.wait_answer(timeout=10)
            except TimeoutError:
                self.out("  (the bot did not answer the button)")
            else:
                if answer.text:
                    self.out(f"  ({answer.text})")
        elif text.startswith("/file "):
            upload = await loop.run_in_executor(None, _read_file, text)
            if upload is None:
                self.out("  (no such file)")
                return True
            await user.send_document(*upload)
        else:
            seen = len(user.chat.bot_messages)
            await user.send_text(text)
            # Typed input may be piped: wait for the reply before reading on (more arrives in the background).
            with contextlib.suppress(TimeoutError):
                await user.chat.wait_until(lambda: len(user.chat.bot_messages) > seen, timeout=10)
        await self.settle()
        return True


async def _playground(settings: Settings, admin: bool, language: str) -> None:
    user_id = min(settings.admin_ids) if admin and settings.admin_ids else 1000
    if admin and user_id not in settings.admin_ids:
        settings = settings.model_copy(update={"admin_ids": frozenset({user_id})})
    # The conversation is the output here; routine log lines would drown it.
    for name in ("aiogram.event", "aiogram.dispatcher", "apscheduler", "bot.app.container", "storage.db"):
        logging.getLogger(name).setLevel(logging.WARNING)
    async with LocalBot(settings) as local:
        user = local.emulator.create_user("You", id=user_id, language_code=language, started=True)
        print(f"Offline playground: database {settings.database_path}. {HELP}\n")
        playground = Playground(local, user)
        printer = asyncio.create_task(playground.run_printer())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or not await playground.handle(line):
                    break
            await playground.settle()
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
    # Whatever arrived while the bot was stopping is shown too.
    playground.flush()


def _read_file(command: str) -> tuple[str, bytes] | None:
    """`/file PATH`: the file's name and bytes, as a user would attach it."""
    path = Path(command.removeprefix("/file").strip()).expanduser()
    return (path.name, path.read_bytes()) if path.is_file() else None


async def _inline(user: EmulatedUser, query_text: str, out: Callable[[str], None] = print) -> None:
    query = await user.inline_query(query_text)
    answer = await query.wait_answer(timeout=10)
    if not answer.results:
        out("  (no inline results)")
    for n, result in enumerate(answer.results, start=1):
        out(f"  {n}. {result.get('title')} — {result.get('description', '')}")
    if answer.next_offset:
        out(f"  … more (next_offset={answer.next_offset})")


def run_playground(settings: Settings, admin: bool = False, language: str = "ru") -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_playground(settings, admin, language))
    return 0
