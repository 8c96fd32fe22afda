"""The emulator's in-memory world: users, chats, files, the update queue and change notification."""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import time
from collections.abc import Callable
from typing import Any

from .errors import chat_not_found
from .faults import EmulatorStats, RateLimitConfig, RateLimiter
from .models import (
    ApiCall,
    CallbackQueryRecord,
    ChatRecord,
    InlineQueryRecord,
    StoredFile,
    StoredMessage,
    UserInfo,
    UserRecord,
)
from .textparse import FastParser

UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What Telegram delivers when allowed_updates is empty or was never set.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class Notifier:
    """Wakes everyone waiting for "something changed"; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self.version = 0

    def notify(self) -> None:
        self.version += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:  # noqa: ASYNC109
        """True once ``predicate()`` holds, False if ``timeout`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)
        return True


class EmulatorState:
    def __init__(
        self,
        *,
        bot: UserInfo,
        supports_inline_queries: bool,
        can_join_groups: bool,
        can_read_all_group_messages: bool,
        strict_html: bool,
        fast_text: bool = False,
        query_timeout: float,
        clock: Callable[[], float],
        rate_limits: RateLimitConfig | None,
    ) -> None:
        self.bot = bot
        self.supports_inline_queries = supports_inline_queries
        self.can_join_groups = can_join_groups
        self.can_read_all_group_messages = can_read_all_group_messages
        self.strict_html = strict_html
        self.fast_parser = FastParser() if fast_text else None
        self.query_timeout = query_timeout
        self.clock = clock
        self.rate_limiter = None if rate_limits is None else RateLimiter(rate_limits, clock)

        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.usernames: dict[str, int] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.inline_messages: dict[str, StoredMessage] = {}
        # (scope type, chat id, user id) + language code -> commands
        self.commands: dict[tuple[tuple[str, int, int], str], list[dict[str, Any]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}  # (name|description|short_description, lang)
        self.menu_buttons: dict[int, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.calls: list[ApiCall] = []
        self.internal_errors: list[Exception] = []  # emulator bugs, answered as 500
        self.notifier = Notifier()
        self.stats = EmulatorStats()
        self.closing = False
        self.poll_generation = 0
        self.in_flight = 0
        self.activity = 0  # bumped by every bot request, so "quiet" can be detected

        self._update_ids = itertools.count(100_000_001)
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._user_ids = itertools.count(10_000_001)
        self._group_ids = itertools.count(1)

    # ------------------------------------------------------------------ identifiers and time

    def now(self) -> int:
        return int(time.time())

    def next_user_id(self) -> int:
        while (candidate := next(self._user_ids)) in self.chats:
            pass
        return candidate

    def next_group_id(self, *, supergroup: bool) -> int:
        while True:
            seq = next(self._group_ids)
            # Supergroups and channels live in the -100… range; basic groups have small negative ids.
            candidate = -(1_000_000_000_000 + seq) if supergroup else -(400_000_000 + seq)
            if candidate not in self.chats:
                return candidate

    def next_query_id(self) -> str:
        return str(4_000_000_000_000_000_000 + next(self._query_seq))

    # ------------------------------------------------------------------ change notification

    def notify(self) -> None:
        self.notifier.notify()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:  # noqa: ASYNC109
        return await self.notifier.wait_for(predicate, timeout)

    async def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server shuts down, so stalled requests don't delay stop()."""
        await self.wait_for(lambda: self.closing, seconds)

    # ------------------------------------------------------------------ chats

    def resolve_chat(self, chat_id: int | str | None) -> ChatRecord:
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise chat_not_found()
            found = self.usernames.get(chat_id[1:].lower())
            if found is None:
                raise chat_not_found()
            chat_id = found
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise chat_not_found()
        return chat

    def register_username(self, username: str | None, chat_id: int) -> None:
        if username:
            key = username.lstrip("@").lower()
            if key in self.usernames and self.usernames[key] != chat_id:
                raise ValueError(f"username @{key} is already taken")
            self.usernames[key] = chat_id

    def describe_recent_errors(self, limit: int = 5) -> str:
        """A hint for timeout messages: the bot's last failed calls often explain a missing reply."""
        failed = [
            call for call in self.calls if call.finished and not call.ok and call.method != "getUpdates"
        ]
        if not failed:
            return "no failed bot API calls"
        lines = [f"{call.method} -> {call.status} {call.description}" for call in failed[-limit:]]
        return "recent failed bot API calls: " + "; ".join(lines)

    # ------------------------------------------------------------------ files

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        seq = next(self._file_seq)
        prefix = "AgAC" if kind == "photo" else "BQAC"
        stored = StoredFile(
            file_id=f"{prefix}emu{seq:08d}",
            file_unique_id=f"AQAD{seq:08d}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        return stored

    def assign_file_path(self, stored: StoredFile) -> str:
        if stored.file_path is None:
            extension = ""
            if stored.file_name and "." in stored.file_name:
                extension = "." + stored.file_name.rsplit(".", 1)[1]
            elif stored.mime_type:
                extension = mimetypes.guess_extension(stored.mime_type) or ""
            folder = "photos" if stored.kind == "photo" else "documents"
            stored.file_path = f"{folder}/file_{stored.file_unique_id}{extension}"
            self.files_by_path[stored.file_path] = stored
        return stored.file_path

    # ------------------------------------------------------------------ updates

    def update_allowed(self, kind: str) -> bool:
        if not self.allowed_updates:
            return kind not in _OPT_IN_UPDATES
        return kind in self.allowed_updates

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for getUpdates; None when allowed_updates filters it out, as Telegram does."""
        if not self.update_allowed(kind):
            self.stats.dropped_updates += 1
            return None
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        self.notify()
        return update_id

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            # A negative offset keeps only the last -offset updates and forgets the rest.
            self.updates = self.updates[offset:]

    def drop_pending_updates(self) -> None:
        self.updates.clear()
        self.notify()
