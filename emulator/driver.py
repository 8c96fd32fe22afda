"""The test side: simulated users, groups and channels that talk to the bot and watch what it answers.

Waiting is event-driven: every change in the emulator wakes waiters, which re-check their condition, so
tests never need to sleep.  Each chat keeps a read cursor for :meth:`EmulatedChat.wait_for_message`; any
action a simulated user takes in a chat moves the cursor to the end, so the next wait returns the bot's
reaction to that action rather than something it sent earlier.

The waits take a ``timeout`` argument (hence the ASYNC109 exemptions): a test reads better with the
limit next to the expectation, and the timeout error can then say what the bot did instead.  None waits
forever, which suits the interactive playground.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .media import guess_mime_type, image_size
from .models import (
    CallbackAnswer,
    CallbackQueryRecord,
    ChatRecord,
    InlineAnswer,
    InlineQueryRecord,
    Membership,
    StoredMessage,
    UserRecord,
)
from .render import render_message
from .state import EmulatorState
from .textparse import FormattedText, detect_entities, parse_text, with_explicit_entities

DEFAULT_TIMEOUT = 5.0
MessagePredicate = Callable[[StoredMessage], bool]


class EmulatedChat:
    """A chat as seen from the test: its messages (bot's and users') and helpers to await the bot."""

    def __init__(self, state: EmulatorState, record: ChatRecord) -> None:
        self._state = state
        self.record = record

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id} type={self.type}>"

    @property
    def id(self) -> int:
        return self.record.info.id

    @property
    def type(self) -> str:
        return self.record.info.type

    @property
    def title(self) -> str | None:
        return self.record.info.title

    @property
    def messages(self) -> list[StoredMessage]:
        """Messages still present, oldest first."""
        return [message for message in self.record.messages if not message.deleted]

    @property
    def all_messages(self) -> list[StoredMessage]:
        """Every message ever posted, deleted ones included (``message.deleted`` tells)."""
        return list(self.record.messages)

    @property
    def bot_messages(self) -> list[StoredMessage]:
        return [message for message in self.messages if message.from_bot]

    @property
    def last_message(self) -> StoredMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def last_bot_message(self) -> StoredMessage | None:
        messages = self.bot_messages
        return messages[-1] if messages else None

    def message(self, message_id: int) -> StoredMessage:
        return self.record.by_id[message_id]

    @property
    def reply_keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard the bot last showed here (None after a removal)."""
        return self.record.reply_keyboard

    @property
    def chat_actions(self) -> list[str]:
        return list(self.record.chat_actions)

    def mark_read(self) -> None:
        """Treat everything the bot sent so far as seen by :meth:`wait_for_message`."""
        self.record.cursor = len(self.record.messages)

    def transcript(self, *, ansi: bool = False) -> str:
        parts = []
        for message in self.messages:
            who = "bot" if message.from_bot else (message.sender.first_name if message.sender else self.title)
            parts.append(f"[{who}] {render_message(message, ansi=ansi)}")
        return "\n".join(parts)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        *,
        what: str = "a condition",
    ) -> None:
        if not await self._state.wait_for(condition, timeout):
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what} in chat {self.id}; "
                f"{self._state.describe_recent_errors()}"
            )

    async def wait_for_message(
        self,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        predicate: MessagePredicate | None = None,
    ) -> StoredMessage:
        """The next bot message after the read cursor (that satisfies ``predicate``); consumes it."""
        record = self.record
        found: list[StoredMessage] = []

        def ready() -> bool:
            for index in range(record.cursor, len(record.messages)):
                message = record.messages[index]
                if message.from_bot and (predicate is None or predicate(message)):
                    record.cursor = index + 1
                    found.append(message)
                    return True
            return False

        await self.wait_until(ready, timeout, what="a bot message")
        return found[0]

    async def wait_for_messages(
        self,
        count: int,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> list[StoredMessage]:
        collected: list[StoredMessage] = []
        for _ in range(count):
            collected.append(await self.wait_for_message(timeout))
        return collected

    async def wait_for_edit(
        self,
        message: StoredMessage,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        predicate: MessagePredicate | None = None,
    ) -> StoredMessage:
        """Wait for an edit not yet consumed by an earlier wait_for_edit, or until ``predicate`` holds."""
        seen = message.seen_edits

        def ready() -> bool:
            if predicate is not None:
                return predicate(message)
            return message.edit_count > seen

        await self.wait_until(ready, timeout, what=f"an edit of message {message.message_id}")
        message.seen_edits = message.edit_count
        return message

    async def wait_for_deletion(
        self,
        message: StoredMessage,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> None:
        await self.wait_until(
            lambda: message.deleted, timeout, what=f"deletion of message {message.message_id}"
        )

    async def wait_for_action(self, action: str = "typing", timeout: float | None = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        await self.wait_until(
            lambda: action in self.record.chat_actions, timeout, what=f"chat action {action}"
        )


class EmulatedGroup(EmulatedChat):
    def add_member(self, user: EmulatedUser, status: str = "member") -> None:
        self.record.members[user.id] = Membership(status)

    def create_topic(self, name: str) -> int:
        """A topic of this forum; its id is the message_thread_id of the messages in it (on Telegram, the
        id of the service message that opened it)."""
        if not self.record.info.is_forum:
            raise ValueError("topics exist only in forum supergroups")
        thread_id = self.record.allocate_id()
        self.record.topics[thread_id] = name
        return thread_id

    def topic_messages(self, thread_id: int) -> list[StoredMessage]:
        return [m for m in self.messages if m.message_thread_id == thread_id]

    def set_bot_status(self, status: str, *, by: EmulatedUser | None = None, **rights: bool) -> None:
        """Change the bot's membership (and rights) here, delivering a my_chat_member update."""
        _change_bot_membership(self._state, self.record, Membership(status, **rights), by)


class EmulatedChannel(EmulatedChat):
    def set_bot_rights(
        self,
        status: str = "administrator",
        *,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        by: EmulatedUser | None = None,
    ) -> None:
        """Make the bot an admin (with or without posting rights), a member, left or kicked."""
        membership = Membership(
            status, can_post_messages=can_post_messages, can_edit_messages=can_edit_messages
        )
        _change_bot_membership(self._state, self.record, membership, by)

    async def post_text(self, text: str, *, entities: list[dict[str, Any]] | None = None) -> StoredMessage:
        """A post by the channel itself; the bot gets a channel_post update if it is an admin there."""
        formatted = _user_text(text, entities)
        message = StoredMessage(
            message_id=self.record.allocate_id(),
            chat=self.record.info,
            date=self._state.now(),
            sender=None,
            from_bot=False,
            text=formatted.text,
            entities=formatted.entities_api(),
            raw_text=text,
        )
        self.record.add(message)
        if self.record.bot_membership.is_admin:
            self._state.push_update("channel_post", message.to_api())
        self._state.notify()
        return message

    async def edit_post(self, message: StoredMessage, text: str) -> StoredMessage:
        """The channel edits one of its posts; the bot gets an edited_channel_post update if it is an admin."""
        if message.chat.id != self.id or message.sender is not None or message.text is None:
            raise ValueError("a channel edits only its own text posts")
        _edit_text(message, text, self._state.now())
        if self.record.bot_membership.is_admin:
            self._state.push_update("edited_channel_post", message.to_api())
        self._state.notify()
        return message


class CallbackQuery:
    """A button press; await :meth:`wait_answer` for the bot's answerCallbackQuery."""

    def __init__(self, state: EmulatorState, record: CallbackQueryRecord) -> None:
        self._state = state
        self.record = record

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def data(self) -> str | None:
        return self.record.data

    @property
    def delivered(self) -> bool:
        """False when the bot's allowed_updates excluded callback queries."""
        return self.record.delivered

    @property
    def answer(self) -> CallbackAnswer | None:
        return self.record.answer

    async def wait_answer(self, timeout: float | None = DEFAULT_TIMEOUT) -> CallbackAnswer:  # noqa: ASYNC109
        if not await self._state.wait_for(lambda: self.record.answer is not None, timeout):
            raise TimeoutError(
                f"bot did not answer callback query {self.id} ({self.data!r}) within {timeout}s; "
                f"{self._state.describe_recent_errors()}"
            )
        assert self.record.answer is not None
        return self.record.answer


class InlineQuery:
    """An inline query; await :meth:`wait_answer` for the bot's answerInlineQuery."""

    def __init__(self, state: EmulatorState, record: InlineQueryRecord) -> None:
        self._state = state
        self.record = record

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def query(self) -> str:
        return self.record.query

    @property
    def delivered(self) -> bool:
        return self.record.delivered

    @property
    def answer(self) -> InlineAnswer | None:
        return self.record.answer

    async def wait_answer(self, timeout: float | None = DEFAULT_TIMEOUT) -> InlineAnswer:  # noqa: ASYNC109
        if not await self._state.wait_for(lambda: self.record.answer is not None, timeout):
            raise TimeoutError(
                f"bot did not answer inline query {self.query!r} within {timeout}s; "
                f"{self._state.describe_recent_errors()}"
            )
        assert self.record.answer is not None
        return self.record.answer


class EmulatedUser:
    """A Telegram user who can write to the bot, press its buttons and use its inline mode."""

    def __init__(self, state: EmulatorState, record: UserRecord) -> None:
        self._state = state
        self.record = record

    def __repr__(self) -> str:
        return f"<EmulatedUser id={self.id} {self.record.info.first_name!r}>"

    @property
    def id(self) -> int:
        return self.record.info.id

    @property
    def first_name(self) -> str:
        return self.record.info.first_name

    @property
    def username(self) -> str | None:
        return self.record.info.username

    @property
    def language_code(self) -> str | None:
        return self.record.info.language_code

    @property
    def chat(self) -> EmulatedChat:
        """The private chat with the bot."""
        return EmulatedChat(self._state, self._state.chats[self.id])

    # ------------------------------------------------------------------ relationship with the bot

    def block_bot(self) -> None:
        self.record.blocked_bot = True

    def unblock_bot(self) -> None:
        self.record.blocked_bot = False

    def deactivate(self) -> None:
        self.record.deactivated = True

    def start(self) -> None:
        """Allow the bot to write first, as if the user had opened the chat earlier."""
        self.record.started = True

    # ------------------------------------------------------------------ messages

    def _target(self, chat: EmulatedChat | None) -> ChatRecord:
        record = self._state.chats[self.id] if chat is None else chat.record
        if record.info.type == "channel":
            raise ValueError("users cannot write into a channel; use EmulatedChannel.post_text")
        if record.info.type == "private":
            if record.info.id != self.id:
                raise ValueError("a user can only write to the bot in their own private chat")
            self.record.started = True
            self.record.blocked_bot = False
        elif self.id not in record.members:
            record.members[self.id] = Membership("member")
        return record

    def _post(self, record: ChatRecord, **content: Any) -> StoredMessage:
        record.cursor = len(record.messages)
        message = StoredMessage(
            message_id=record.allocate_id(),
            chat=record.info,
            date=self._state.now(),
            sender=self.record.info,
            from_bot=False,
            **content,
        )
        record.add(message)
        if _bot_receives(self._state, record, message):
            self._state.push_update("message", message.to_api())
        self._state.notify()
        return message

    async def send_text(
        self,
        text: str,
        *,
        chat: EmulatedChat | None = None,
        reply_to: StoredMessage | None = None,
        entities: list[dict[str, Any]] | None = None,
        thread_id: int | None = None,
    ) -> StoredMessage:
        """Type a message (to the bot's private chat unless ``chat`` is a group; ``thread_id``: into that
        topic of a forum).  Commands, links, mentions and hashtags get the entities Telegram would attach."""
        record = self._target(chat)
        if thread_id is not None and thread_id not in record.topics:
            raise ValueError(f"no topic {thread_id} in that chat")
        formatted = _user_text(text, entities)
        return self._post(
            record,
            text=formatted.text,
            entities=formatted.entities_api(),
            raw_text=text,
            reply_to=reply_to,
            message_thread_id=thread_id,
        )

    async def send_document(
        self,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
        chat: EmulatedChat | None = None,
    ) -> StoredMessage:
        record = self._target(chat)
        stored = self._state.store_file(
            "document", data, file_name=filename, mime_type=guess_mime_type(filename, mime_type)
        )
        formatted = _user_text(caption, None) if caption else None
        return self._post(
            record,
            document=stored,
            caption=None if formatted is None else formatted.text,
            caption_entities=[] if formatted is None else formatted.entities_api(),
            raw_caption=caption,
        )

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, chat: EmulatedChat | None = None
    ) -> StoredMessage:
        size = image_size(data)
        if size is None:
            raise ValueError("photo bytes are not a PNG, GIF, JPEG or WebP image")
        record = self._target(chat)
        stored = self._state.store_file("photo", data, mime_type="image/jpeg", width=size[0], height=size[1])
        formatted = _user_text(caption, None) if caption else None
        return self._post(
            record,
            photo=stored,
            caption=None if formatted is None else formatted.text,
            caption_entities=[] if formatted is None else formatted.entities_api(),
            raw_caption=caption,
        )

    async def forward(self, original: StoredMessage, *, chat: EmulatedChat | None = None) -> StoredMessage:
        """Forward an existing message (e.g. a channel post) to the bot, with the matching forward_origin."""
        record = self._target(chat)
        if original.chat.type == "channel":
            origin: dict[str, Any] = {
                "type": "channel",
                "chat": original.chat.to_api(),
                "message_id": original.message_id,
                "date": original.date,
            }
        elif original.sender is not None:
            origin = {"type": "user", "sender_user": original.sender.to_api(), "date": original.date}
        else:
            origin = {"type": "hidden_user", "sender_user_name": "Hidden", "date": original.date}
        return self._post(
            record,
            text=original.text,
            entities=list(original.entities),
            raw_text=original.raw_text,
            document=original.document,
            photo=original.photo,
            caption=original.caption,
            caption_entities=list(original.caption_entities),
            forward_origin=origin,
        )

    async def forward_channel_post(
        self,
        channel: EmulatedChannel,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        date: int | None = None,
        chat: EmulatedChat | None = None,
    ) -> StoredMessage:
        """Put ``text`` into the channel's history (without notifying the bot) and forward it here."""
        formatted = _user_text(text, entities)
        post = StoredMessage(
            message_id=channel.record.allocate_id(),
            chat=channel.record.info,
            date=self._state.now() if date is None else date,
            sender=None,
            from_bot=False,
            text=formatted.text,
            entities=formatted.entities_api(),
            raw_text=text,
        )
        channel.record.add(post)
        return await self.forward(post, chat=chat)

    async def edit_text(self, message: StoredMessage, text: str) -> StoredMessage:
        """Edit one of this user's messages; the bot gets an edited_message update."""
        if message.sender is None or message.sender.id != self.id or message.text is None:
            raise ValueError("users can only edit their own text messages")
        _edit_text(message, text, self._state.now())
        record = self._state.chats[message.chat.id]
        record.cursor = len(record.messages)
        if _bot_receives(self._state, record, message):
            self._state.push_update("edited_message", message.to_api())
        self._state.notify()
        return message

    # ------------------------------------------------------------------ buttons & inline mode

    async def press(self, message: StoredMessage, button: str) -> CallbackQuery:
        """Press the inline button whose text (or callback_data) is ``button``."""
        if message.deleted:
            raise ValueError(f"message {message.message_id} was deleted")
        found = message.find_button(button)
        if "callback_data" not in found:
            kinds = [key for key in found if key != "text"]
            raise ValueError(f"button {button!r} is not a callback button ({', '.join(kinds)})")
        record = self._state.chats.get(message.chat.id)
        if record is not None:
            if record.info.type == "private":
                self.record.started = True
            record.cursor = len(record.messages)
        query_id = self._state.next_query_id()
        payload: dict[str, Any] = {
            "id": query_id,
            "from": self.record.info.to_api(),
            "chat_instance": str(7_000_000_000_000_000_000 + abs(message.chat.id)),
            "data": found["callback_data"],
        }
        if message.inline_message_id is not None:
            payload["inline_message_id"] = message.inline_message_id
        else:
            payload["message"] = message.to_api()
        query = CallbackQueryRecord(
            id=query_id,
            user=self.record.info,
            data=found["callback_data"],
            message=message,
            inline_message_id=message.inline_message_id,
            created=self._state.clock(),
            delivered=False,
        )
        self._state.callback_queries[query_id] = query
        query.delivered = self._state.push_update("callback_query", payload) is not None
        return CallbackQuery(self._state, query)

    async def inline_query(self, query: str, offset: str = "", *, chat_type: str = "sender") -> InlineQuery:
        """Type ``@bot query`` somewhere; ``offset`` asks for the next page."""
        if not self._state.supports_inline_queries:
            raise RuntimeError("inline mode is off for this bot (supports_inline_queries=False)")
        if len(query) > 256:
            raise ValueError("inline queries are at most 256 characters")
        query_id = self._state.next_query_id()
        payload = {
            "id": query_id,
            "from": self.record.info.to_api(),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        record = InlineQueryRecord(
            id=query_id,
            user=self.record.info,
            query=query,
            offset=offset,
            chat_type=chat_type,
            created=self._state.clock(),
            delivered=False,
        )
        self._state.inline_queries[query_id] = record
        record.delivered = self._state.push_update("inline_query", payload) is not None
        return InlineQuery(self._state, record)

    async def choose_inline_result(
        self, query: InlineQuery, result_id: str, *, chat: EmulatedChat | None = None
    ) -> StoredMessage | None:
        """Pick a result of an answered inline query (a chosen_inline_result update).  With ``chat``,
        the result is also posted there, via the bot; buttons on it make it editable by inline id."""
        answer = query.answer
        if answer is None:
            raise ValueError("the inline query has not been answered yet")
        result = next((item for item in answer.results if item.get("id") == result_id), None)
        if result is None:
            raise LookupError(f"no inline result with id {result_id!r}")
        payload: dict[str, Any] = {
            "result_id": result_id,
            "from": self.record.info.to_api(),
            "query": query.query,
        }
        posted: StoredMessage | None = None
        if chat is not None:
            posted = self._post_inline_result(chat, result)
            if posted.inline_message_id is not None:
                payload["inline_message_id"] = posted.inline_message_id
        self._state.push_update("chosen_inline_result", payload)
        return posted

    def _post_inline_result(self, chat: EmulatedChat, result: dict[str, Any]) -> StoredMessage:
        content = result.get("input_message_content") or {}
        if isinstance(content, dict) and isinstance(content.get("message_text"), str):
            formatted = _bot_text(self._state, content["message_text"], content.get("parse_mode"), content)
        else:
            formatted = FormattedText(f"[{result.get('type')} result {result.get('id')}]", ())
        markup = result.get("reply_markup")
        record = chat.record
        record.cursor = len(record.messages)
        inline_id = f"AQAAAemu{self._state.next_query_id()}" if markup else None
        message = StoredMessage(
            message_id=record.allocate_id(),
            chat=record.info,
            date=self._state.now(),
            sender=self.record.info,
            from_bot=False,
            text=formatted.text,
            entities=formatted.entities_api(),
            reply_markup=markup if isinstance(markup, dict) else None,
            via_bot=self._state.bot,
            inline_message_id=inline_id,
        )
        record.add(message)
        if inline_id is not None:
            self._state.inline_messages[inline_id] = message
        self._state.notify()
        return message


def _user_text(text: str, entities: list[dict[str, Any]] | None) -> FormattedText:
    if entities is not None:
        return with_explicit_entities(text, entities)
    source = text.replace("\r", "")
    return FormattedText(source, tuple(detect_entities(source)))


def _edit_text(message: StoredMessage, text: str, now: int) -> None:
    """A person's or a channel's edit of a text message, its earlier version kept in its history."""
    formatted = _user_text(text, None)
    message.history.append(message.snapshot())
    message.text = formatted.text
    message.entities = formatted.entities_api()
    message.raw_text = text
    message.edit_date = now


def _bot_text(state: EmulatorState, text: str, parse_mode: Any, content: dict[str, Any]) -> FormattedText:
    if content.get("entities") is not None:
        return with_explicit_entities(text, content["entities"])
    return parse_text(
        text, parse_mode if isinstance(parse_mode, str) else None, strict_html=state.strict_html
    )


def _bot_receives(state: EmulatorState, record: ChatRecord, message: StoredMessage) -> bool:
    """Whether Telegram would hand this user message to the bot (privacy mode in groups)."""
    if record.info.type == "private":
        return True
    membership = record.bot_membership
    if not membership.is_present:
        return False
    if state.can_read_all_group_messages or membership.is_admin:
        return True
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    if state.bot.username and f"@{state.bot.username}".lower() in text.lower():
        return True
    return message.reply_to is not None and message.reply_to.from_bot


def _change_bot_membership(
    state: EmulatorState, record: ChatRecord, membership: Membership, by: EmulatedUser | None
) -> None:
    old = record.bot_membership
    record.bot_membership = membership
    actor = (
        by.record.info
        if by is not None
        else next(
            (state.users[uid].info for uid, member in record.members.items() if member.status == "creator"),
            state.bot,
        )
    )
    payload = {
        "chat": record.info.to_api(),
        "from": actor.to_api(),
        "date": state.now(),
        "old_chat_member": old.to_api(state.bot, record.info.type),
        "new_chat_member": membership.to_api(state.bot, record.info.type),
    }
    state.push_update("my_chat_member", payload)
