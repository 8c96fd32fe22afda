"""Data the emulator keeps: users, chats, files, messages (with edit history), queries and the call log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .markup import iter_inline_buttons
from .params import UploadedFile


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@dataclass
class UserInfo:
    id: int
    first_name: str
    is_bot: bool = False
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False

    def to_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
                "is_premium": True if self.is_premium else None,
            }
        )


@dataclass
class ChatInfo:
    id: int
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False  # a supergroup with topics

    def to_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "type": self.type,
                "title": self.title,
                "username": self.username,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "is_forum": True if self.is_forum else None,
            }
        )

    @property
    def kind_name(self) -> str:
        """How Telegram names the chat kind in its error texts ("channel chat", "group chat", ...)."""
        return {"channel": "channel", "supergroup": "supergroup", "group": "group"}.get(self.type, "private")


MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


@dataclass
class Membership:
    """A chat member's status; for the bot it decides what it may do in a group or channel."""

    status: str = "member"
    can_post_messages: bool = True
    can_edit_messages: bool = True
    can_delete_messages: bool = True
    can_pin_messages: bool = True
    can_manage_chat: bool = True

    def __post_init__(self) -> None:
        if self.status not in MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {self.status!r}")

    @property
    def is_present(self) -> bool:
        return self.status in ("creator", "administrator", "member", "restricted")

    @property
    def is_admin(self) -> bool:
        return self.status in ("creator", "administrator")

    def to_api(self, user: UserInfo, chat_type: str) -> dict[str, Any]:
        base: dict[str, Any] = {"status": self.status, "user": user.to_api()}
        if self.status == "creator":
            base["is_anonymous"] = False
        elif self.status == "administrator":
            base.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=self.can_manage_chat,
                can_delete_messages=self.can_delete_messages,
                can_manage_video_chats=False,
                can_restrict_members=False,
                can_promote_members=False,
                can_change_info=False,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_send_welcome_messages=False,
            )
            if chat_type == "channel":
                base.update(
                    can_post_messages=self.can_post_messages, can_edit_messages=self.can_edit_messages
                )
            else:
                base.update(can_pin_messages=self.can_pin_messages, can_manage_topics=False)
        elif self.status == "restricted":
            base.update(
                is_member=True,
                until_date=0,
                **dict.fromkeys(
                    (
                        "can_send_messages",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_react_to_messages",
                        "can_edit_tag",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_manage_topics",
                    ),
                    False,
                ),
            )
        elif self.status == "kicked":
            base["until_date"] = 0
        return base


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    file_path: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def document_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_name": self.file_name,
                "mime_type": self.mime_type,
                "file_size": self.size,
            }
        )

    def photo_api(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.size,
            }
        ]

    def file_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "file_path": self.file_path,
            }
        )


@dataclass(frozen=True)
class MessageVersion:
    """A message's content before one of its edits (``StoredMessage.history``)."""

    text: str | None
    entities: list[dict[str, Any]]
    caption: str | None
    caption_entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    raw_text: str | None
    date: int


@dataclass(eq=False)
class StoredMessage:
    """A message in a chat as the emulator sees it; bot edits update it in place and extend ``history``."""

    message_id: int
    chat: ChatInfo
    date: int
    sender: UserInfo | None  # None for posts made on behalf of a channel
    from_bot: bool
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    raw_text: str | None = None  # exactly what the bot sent, markup included
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    raw_caption: str | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    reply_markup: dict[str, Any] | None = None  # inline keyboards only, as Telegram returns them
    keyboard: dict[str, Any] | None = None  # a reply keyboard / removal / force-reply sent with it
    reply_to: StoredMessage | None = None
    forward_origin: dict[str, Any] | None = None
    via_bot: UserInfo | None = None
    inline_message_id: str | None = None
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    link_preview_options: dict[str, Any] | None = None
    seen_edits: int = 0  # how many edits a driver's wait_for_edit has consumed
    message_thread_id: int | None = None  # the forum topic it is in
    disable_notification: bool = False  # sent silently (recorded; a client would not ring)

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": self.message_id}
        if self.sender is not None:
            data["from"] = self.sender.to_api()
        if self.chat.type == "channel":
            data["sender_chat"] = self.chat.to_api()
        data["chat"] = self.chat.to_api()
        data["date"] = self.date
        if self.message_thread_id is not None:
            data["message_thread_id"] = self.message_thread_id
            data["is_topic_message"] = True
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.forward_origin is not None:
            data["forward_origin"] = self.forward_origin
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.via_bot is not None:
            data["via_bot"] = self.via_bot.to_api()
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.link_preview_options:
            data["link_preview_options"] = self.link_preview_options
        if self.document is not None:
            data["document"] = self.document.document_api()
        if self.photo is not None:
            data["photo"] = self.photo.photo_api()
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        return data

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            text=self.text,
            entities=list(self.entities),
            caption=self.caption,
            caption_entities=list(self.caption_entities),
            reply_markup=self.reply_markup,
            raw_text=self.raw_text,
            date=self.edit_date or self.date,
        )

    @property
    def edit_count(self) -> int:
        return len(self.history)

    @property
    def versions(self) -> list[MessageVersion]:
        """Every content the message had, oldest first, the current one last."""
        return [*self.history, self.snapshot()]

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return iter_inline_buttons(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [str(button.get("text", "")) for button in self.buttons]

    def find_button(self, label: str) -> dict[str, Any]:
        """The inline button whose text, or else callback_data, equals ``label``."""
        for key in ("text", "callback_data"):
            for button in self.buttons:
                if button.get(key) == label:
                    return button
        raise LookupError(f"message {self.message_id} has no button {label!r}; buttons: {self.button_texts}")

    @property
    def content(self) -> str:
        """The text or caption, whichever the message has."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def document_bytes(self) -> bytes | None:
        return None if self.document is None else self.document.data

    @property
    def document_name(self) -> str | None:
        return None if self.document is None else self.document.file_name


@dataclass
class ChatRecord:
    info: ChatInfo
    bot_membership: Membership
    members: dict[int, Membership] = field(default_factory=dict)
    messages: list[StoredMessage] = field(default_factory=list)
    by_id: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    cursor: int = 0  # index into ``messages`` up to which a driver has consumed bot messages
    reply_keyboard: dict[str, Any] | None = None
    chat_actions: list[str] = field(default_factory=list)
    topics: dict[int, str] = field(default_factory=dict)  # a forum's topics: thread id → name

    def add(self, message: StoredMessage) -> None:
        self.messages.append(message)
        self.by_id[message.message_id] = message

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class UserRecord:
    info: UserInfo
    started: bool = False  # a bot may only write first after the user wrote to it
    blocked_bot: bool = False
    deactivated: bool = False


@dataclass
class ApiCall:
    """One request the bot made; ``status`` is None while it is still being answered."""

    method: str
    params: dict[str, Any]
    time: float
    monotonic: float
    status: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def finished(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def uploads(self) -> dict[str, UploadedFile]:
        return {key: value for key, value in self.params.items() if isinstance(value, UploadedFile)}


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class CallbackQueryRecord:
    id: str
    user: UserInfo
    data: str | None
    message: StoredMessage | None
    inline_message_id: str | None
    created: float
    delivered: bool
    answer: CallbackAnswer | None = None


@dataclass(frozen=True)
class InlineAnswer:
    results: list[dict[str, Any]]
    next_offset: str
    cache_time: int
    is_personal: bool
    button: dict[str, Any] | None


@dataclass
class InlineQueryRecord:
    id: str
    user: UserInfo
    query: str
    offset: str
    chat_type: str | None
    created: float
    delivered: bool
    answer: InlineAnswer | None = None
