"""Bot API methods, implemented against :class:`EmulatorState` with Telegram's checks and error texts."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .errors import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    bad_request,
    chat_not_found,
    conflict,
    forbidden,
    too_many_requests,
)
from .markup import ReplyMarkup, parse_reply_markup, require_inline
from .media import guess_mime_type, image_size
from .models import (
    CallbackAnswer,
    ChatRecord,
    InlineAnswer,
    Membership,
    StoredFile,
    StoredMessage,
)
from .params import Params, UploadedFile
from .state import UPDATE_TYPES, EmulatorState
from .textparse import (
    MAX_CAPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    EntityParseError,
    FormattedText,
    UnsupportedParseModeError,
    parse_text,
    with_explicit_entities,
)

Handler = Callable[[Params], Awaitable[Any]]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# A server started with --local hands over files up to 2000 MB, as paths on its disk.
MAX_LOCAL_DOWNLOAD_BYTES = 2000 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)
MAX_INLINE_RESULTS = 50
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
CommandScopeKey = tuple[str, int, int]


class BotApiMethods:
    def __init__(self, state: EmulatorState, local_files: Path | None = None) -> None:
        self.state = state
        # --local mode: getFile writes the file under this folder and answers its absolute path.
        self.local_files = local_files
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.trivially_ok,
            "close": self.trivially_ok,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyName": self.set_my_name,
            "getMyName": self.get_my_name,
            "setMyDescription": self.set_my_description,
            "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
        }
        # Telegram matches method names case-insensitively.
        self.handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in handlers.items()
        }

    def lookup(self, method: str) -> tuple[str, Handler] | None:
        return self.handlers.get(method.lower())

    # ================================================================== shared checks

    def chat(self, p: Params, name: str = "chat_id") -> ChatRecord:
        chat_id = p.chat_id(name)
        if chat_id is None:
            raise bad_request(f"{name} is empty")
        return self.state.resolve_chat(chat_id)

    def check_can_write(self, chat: ChatRecord) -> None:
        """Who may receive the bot's messages: the 403s and rights errors Telegram answers with."""
        info = chat.info
        if info.type == "private":
            user = self.state.users.get(info.id)
            if user is None:
                raise chat_not_found()
            if user.deactivated:
                raise forbidden("user is deactivated")
            if user.blocked_bot:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
            return
        membership = chat.bot_membership
        if membership.status == "kicked":
            raise forbidden(f"bot was kicked from the {info.kind_name} chat")
        if not membership.is_present:
            raise forbidden(f"bot is not a member of the {info.kind_name} chat")
        if info.type == "channel":
            can_post = membership.status == "creator" or (
                membership.status == "administrator" and membership.can_post_messages
            )
            if not can_post:
                raise bad_request("need administrator rights in the channel chat")
        elif membership.status == "restricted":
            raise bad_request("not enough rights to send text messages to the chat")

    def check_rate(self, chat: ChatRecord) -> None:
        limiter = self.state.rate_limiter
        if limiter is None:
            return
        retry_after = limiter.check(chat.info.id, chat.info.type)
        if retry_after is not None:
            self.state.stats.self_inflicted_429 += 1
            raise too_many_requests(retry_after)

    def parse_formatted(
        self,
        text: str,
        parse_mode: str | None,
        entities: Any,
        *,
        limit: int,
        too_long: str,
    ) -> FormattedText:
        try:
            if entities is not None:
                formatted = with_explicit_entities(text, entities)
            elif self.state.fast_parser is not None:
                formatted = self.state.fast_parser(text, parse_mode)
            else:
                formatted = parse_text(text, parse_mode, strict_html=self.state.strict_html)
        except UnsupportedParseModeError:
            raise bad_request("unsupported parse_mode") from None
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        if formatted.length > limit:
            raise bad_request(too_long)
        return formatted

    def message_text(self, p: Params, *, too_long: str = "message is too long") -> tuple[str, FormattedText]:
        text = p.text("text")
        if not text:
            raise bad_request("message text is empty")
        formatted = self.parse_formatted(
            text, p.text("parse_mode"), p.json("entities"), limit=MAX_MESSAGE_LENGTH, too_long=too_long
        )
        if not formatted.text:
            raise bad_request("message text is empty")
        return text, formatted

    def caption(self, p: Params) -> tuple[str | None, FormattedText | None]:
        caption = p.text("caption")
        if not caption:
            return None, None
        formatted = self.parse_formatted(
            caption,
            p.text("parse_mode"),
            p.json("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            too_long="message caption is too long",
        )
        return caption, (formatted if formatted.text else None)

    def reply_markup(self, p: Params, chat: ChatRecord | None) -> ReplyMarkup | None:
        return parse_reply_markup(p.json("reply_markup"), chat_type=None if chat is None else chat.info.type)

    def reply_target(self, p: Params, chat: ChatRecord) -> StoredMessage | None:
        reply_parameters = p.json("reply_parameters")
        allow_missing = p.flag("allow_sending_without_reply")
        message_id: int | None = p.integer("reply_to_message_id")
        if isinstance(reply_parameters, dict):
            raw_id = reply_parameters.get("message_id")
            if not isinstance(raw_id, int):
                raise bad_request('field "message_id" of ReplyParameters must be of type Integer')
            message_id = raw_id
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply", allow_missing))
            target_chat = reply_parameters.get("chat_id")
            if target_chat is not None and self.state.resolve_chat(target_chat) is not chat:
                # Cross-chat replies are out of scope; treat the quoted message as unknown here.
                message_id = None
        elif reply_parameters is not None:
            raise bad_request("can't parse reply parameters JSON object")
        if message_id is None:
            return None
        target = chat.by_id.get(message_id)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return target

    def new_bot_message(
        self,
        chat: ChatRecord,
        markup: ReplyMarkup | None,
        reply_to: StoredMessage | None,
        **content: Any,
    ) -> StoredMessage:
        is_channel = chat.info.type == "channel"
        message = StoredMessage(
            message_id=chat.allocate_id(),
            chat=chat.info,
            date=self.state.now(),
            sender=None if is_channel else self.state.bot,
            from_bot=True,
            reply_to=reply_to,
            **content,
        )
        if markup is not None:
            if markup.is_inline:
                message.reply_markup = markup.data
            else:
                message.keyboard = markup.data
                chat.reply_keyboard = markup.data if markup.kind == "keyboard" else None
        chat.add(message)
        self.state.notify()
        return message

    def upload(self, source: UploadedFile | str | None, kind: str) -> StoredFile:
        if source is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(source, str):
            if source.startswith(("http://", "https://")):
                # There is no internet here; Telegram answers this when it cannot fetch the URL.
                raise bad_request("failed to get HTTP URL content")
            stored = self.state.files.get(source)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
            return stored
        if not source.data:
            raise bad_request("file must be non-empty")
        if len(source.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if kind == "photo":
            if len(source.data) > MAX_PHOTO_BYTES:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            size = image_size(source.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if (
                width <= 0
                or height <= 0
                or width + height > 10_000
                or max(width, height) > 20 * min(width, height)
            ):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return self.state.store_file(
                "photo", source.data, mime_type="image/jpeg", width=width, height=height
            )
        return self.state.store_file(
            "document",
            source.data,
            file_name=source.filename,
            mime_type=guess_mime_type(source.filename, source.content_type),
        )

    # ================================================================== bot & updates

    async def get_me(self, p: Params) -> Any:
        data = self.state.bot.to_api()
        data.update(
            can_join_groups=self.state.can_join_groups,
            can_read_all_group_messages=self.state.can_read_all_group_messages,
            supports_inline_queries=self.state.supports_inline_queries,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    async def trivially_ok(self, p: Params) -> Any:
        return True

    async def get_updates(self, p: Params) -> Any:
        state = self.state
        if state.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
            )
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        allowed = p.json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
                raise bad_request("can't parse allowed_updates JSON object")
            state.allowed_updates = [kind for kind in allowed if kind in UPDATE_TYPES]
        state.confirm(offset)
        # A newer getUpdates call ends the previous one with 409, like Telegram does.
        state.poll_generation += 1
        generation = state.poll_generation
        state.notify()
        if timeout > 0:
            await state.wait_for(
                lambda: bool(state.updates) or state.closing or state.poll_generation != generation,
                timeout,
            )
        if state.poll_generation != generation:
            raise conflict(
                "terminated by other getUpdates request; make sure that only one bot instance is running"
            )
        return list(state.updates[:limit])

    async def set_webhook(self, p: Params) -> Any:
        url = p.text("url") or ""
        if p.flag("drop_pending_updates"):
            self.state.drop_pending_updates()
        if not url:
            self.state.webhook = None
            return True
        if not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        allowed = p.json("allowed_updates")
        self.state.webhook = {
            "url": url,
            "max_connections": p.integer("max_connections") or 40,
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "secret_token": secret,
        }
        if isinstance(allowed, list):
            self.state.allowed_updates = [kind for kind in allowed if kind in UPDATE_TYPES]
        self.state.notify()
        return True

    async def delete_webhook(self, p: Params) -> Any:
        if p.flag("drop_pending_updates"):
            self.state.drop_pending_updates()
        self.state.webhook = None
        return True

    async def get_webhook_info(self, p: Params) -> Any:
        webhook = self.state.webhook
        info: dict[str, Any] = {
            "url": webhook["url"] if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if webhook:
            info["max_connections"] = webhook["max_connections"]
            if webhook["allowed_updates"] is not None:
                info["allowed_updates"] = webhook["allowed_updates"]
        return info

    # ================================================================== commands & bot profile

    def command_scope(self, p: Params) -> CommandScopeKey:
        scope = p.json("scope")
        if scope is None:
            return ("default", 0, 0)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        chat_id = 0
        user_id = 0
        if kind in ("chat", "chat_administrators", "chat_member"):
            raw_chat = scope.get("chat_id")
            if not isinstance(raw_chat, int | str):
                raise bad_request("chat_id is empty")
            chat = self.state.resolve_chat(raw_chat)
            if kind != "chat" and chat.info.type == "private":
                raise bad_request("can't use specified scope in private chats")
            chat_id = chat.info.id
        if kind == "chat_member":
            raw_user = scope.get("user_id")
            if not isinstance(raw_user, int) or raw_user not in self.state.users:
                raise bad_request("user not found")
            user_id = raw_user
        return (kind, chat_id, user_id)

    def language_code(self, p: Params) -> str:
        code = p.text("language_code") or ""
        if code and not _LANGUAGE_CODE.match(code):
            raise bad_request("invalid language code specified")
        return code

    async def set_my_commands(self, p: Params) -> Any:
        commands = p.json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[dict[str, Any]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME.match(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.removeprefix("/"), "description": description})
        key = (self.command_scope(p), self.language_code(p))
        if cleaned:
            self.state.commands[key] = cleaned
        else:
            self.state.commands.pop(key, None)
        return True

    async def get_my_commands(self, p: Params) -> Any:
        key = (self.command_scope(p), self.language_code(p))
        return list(self.state.commands.get(key, []))

    async def delete_my_commands(self, p: Params) -> Any:
        self.state.commands.pop((self.command_scope(p), self.language_code(p)), None)
        return True

    def _set_bot_text(self, p: Params, field: str, limit: int) -> Any:
        value = p.text(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        key = (field, self.language_code(p))
        if value:
            self.state.bot_texts[key] = value
        else:
            self.state.bot_texts.pop(key, None)
        return True

    def _get_bot_text(self, p: Params, field: str) -> Any:
        language = self.language_code(p)
        texts = self.state.bot_texts
        return {field: texts.get((field, language), texts.get((field, ""), ""))}

    async def set_my_name(self, p: Params) -> Any:
        return self._set_bot_text(p, "name", 64)

    async def get_my_name(self, p: Params) -> Any:
        result = self._get_bot_text(p, "name")
        return {"name": result["name"] or self.state.bot.first_name}

    async def set_my_description(self, p: Params) -> Any:
        return self._set_bot_text(p, "description", 512)

    async def get_my_description(self, p: Params) -> Any:
        return self._get_bot_text(p, "description")

    async def set_my_short_description(self, p: Params) -> Any:
        return self._set_bot_text(p, "short_description", 120)

    async def get_my_short_description(self, p: Params) -> Any:
        return self._get_bot_text(p, "short_description")

    async def set_chat_menu_button(self, p: Params) -> Any:
        chat_id = 0 if p.chat_id() is None else self.chat(p).info.id
        button = p.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        self.state.menu_buttons[chat_id] = button
        return True

    async def get_chat_menu_button(self, p: Params) -> Any:
        chat_id = 0 if p.chat_id() is None else self.chat(p).info.id
        buttons = self.state.menu_buttons
        return buttons.get(chat_id, buttons.get(0, {"type": "commands"}))

    # ================================================================== sending

    def message_thread(self, p: Params, chat: ChatRecord) -> int | None:
        """A forum topic to send into: it must be one of that chat's topics, as on Telegram."""
        thread = p.integer("message_thread_id")
        if thread is None:
            return None
        if not chat.info.is_forum or thread not in chat.topics:
            raise bad_request("message thread not found")
        return thread

    async def send_message(self, p: Params) -> Any:
        chat = self.chat(p)
        self.check_can_write(chat)
        thread = self.message_thread(p, chat)
        raw, formatted = self.message_text(p)
        markup = self.reply_markup(p, chat)
        reply_to = self.reply_target(p, chat)
        self.check_rate(chat)
        preview = p.json("link_preview_options")
        message = self.new_bot_message(
            chat,
            markup,
            reply_to,
            text=formatted.text,
            entities=formatted.entities_api(),
            raw_text=raw,
            parse_mode=p.text("parse_mode"),
            link_preview_options=preview if isinstance(preview, dict) else None,
            message_thread_id=thread,
            disable_notification=p.flag("disable_notification"),
        )
        return message.to_api()

    async def _send_media(self, p: Params, kind: str) -> Any:
        chat = self.chat(p)
        self.check_can_write(chat)
        thread = self.message_thread(p, chat)
        stored = self.upload(p.input_file(kind), kind)
        raw_caption, caption = self.caption(p)
        markup = self.reply_markup(p, chat)
        reply_to = self.reply_target(p, chat)
        self.check_rate(chat)
        message = self.new_bot_message(
            chat,
            markup,
            reply_to,
            caption=None if caption is None else caption.text,
            caption_entities=[] if caption is None else caption.entities_api(),
            raw_caption=raw_caption,
            parse_mode=p.text("parse_mode"),
            message_thread_id=thread,
            disable_notification=p.flag("disable_notification"),
            **{kind: stored},
        )
        return message.to_api()

    async def send_document(self, p: Params) -> Any:
        return await self._send_media(p, "document")

    async def send_photo(self, p: Params) -> Any:
        return await self._send_media(p, "photo")

    async def send_chat_action(self, p: Params) -> Any:
        chat = self.chat(p)
        self.check_can_write(chat)
        action = p.text("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.chat_actions.append(action)
        self.state.notify()
        return True

    # ================================================================== editing & deleting

    def message_to_edit(self, p: Params) -> tuple[StoredMessage, bool]:
        """The targeted message and whether it was addressed by inline_message_id."""
        inline_id = p.text("inline_message_id")
        if inline_id:
            message = self.state.inline_messages.get(inline_id)
            if message is None or message.deleted:
                raise bad_request("MESSAGE_ID_INVALID")
            return message, True
        chat = self.chat(p)
        self.check_can_write(chat)
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.by_id.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message, False

    def apply_edit(self, message: StoredMessage, **changes: Any) -> None:
        message.history.append(message.snapshot())
        for name, value in changes.items():
            setattr(message, name, value)
        message.edit_date = self.state.now()
        self.state.notify()

    async def edit_message_text(self, p: Params) -> Any:
        message, is_inline = self.message_to_edit(p)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        raw, formatted = self.message_text(p, too_long="MESSAGE_TOO_LONG")
        markup = require_inline(self.reply_markup(p, None))
        entities = formatted.entities_api()
        if formatted.text == message.text and entities == message.entities and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        preview = p.json("link_preview_options")
        self.apply_edit(
            message,
            text=formatted.text,
            entities=entities,
            raw_text=raw,
            parse_mode=p.text("parse_mode"),
            reply_markup=markup,
            link_preview_options=preview if isinstance(preview, dict) else message.link_preview_options,
        )
        return True if is_inline else message.to_api()

    async def edit_message_caption(self, p: Params) -> Any:
        message, is_inline = self.message_to_edit(p)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        raw_caption, caption = self.caption(p)
        markup = require_inline(self.reply_markup(p, None))
        new_text = None if caption is None else caption.text
        entities = [] if caption is None else caption.entities_api()
        if (
            new_text == message.caption
            and entities == message.caption_entities
            and markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self.apply_edit(
            message,
            caption=new_text,
            caption_entities=entities,
            raw_caption=raw_caption,
            reply_markup=markup,
        )
        return True if is_inline else message.to_api()

    async def edit_message_reply_markup(self, p: Params) -> Any:
        message, is_inline = self.message_to_edit(p)
        markup = require_inline(self.reply_markup(p, None))
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self.apply_edit(message, reply_markup=markup)
        return True if is_inline else message.to_api()

    async def delete_message(self, p: Params) -> Any:
        chat = self.chat(p)
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.by_id.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        membership = chat.bot_membership
        may_delete = (
            message.from_bot
            or chat.info.type == "private"
            or membership.status == "creator"
            or (membership.status == "administrator" and membership.can_delete_messages)
        )
        if not may_delete:
            raise bad_request("message can't be deleted")
        message.deleted = True
        self.state.notify()
        return True

    # ================================================================== queries

    async def answer_callback_query(self, p: Params) -> Any:
        query_id = p.text("callback_query_id") or ""
        record = self.state.callback_queries.get(query_id)
        expired = record is None or self.state.clock() - record.created > self.state.query_timeout
        if record is None or expired or record.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        text = p.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = CallbackAnswer(
            text=text,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        self.state.notify()
        return True

    async def answer_inline_query(self, p: Params) -> Any:
        query_id = p.text("inline_query_id") or ""
        record = self.state.inline_queries.get(query_id)
        expired = record is None or self.state.clock() - record.created > self.state.query_timeout
        if record is None or expired or record.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        results = p.json("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self.check_inline_result(result, seen)
        next_offset = p.text("next_offset") or ""
        if len(next_offset.encode("utf-8")) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        button = p.json("button")
        if button is not None:
            self.check_results_button(button)
        cache_time = p.integer("cache_time")
        record.answer = InlineAnswer(
            results=results,
            next_offset=next_offset,
            cache_time=300 if cache_time is None else cache_time,
            is_personal=p.flag("is_personal"),
            button=button,
        )
        self.state.notify()
        return True

    def check_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise bad_request("can't parse InlineQueryResult JSON object")
        kind = result.get("type")
        if kind not in INLINE_RESULT_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if kind == "article":
            if not isinstance(result.get("title"), str) or not result["title"]:
                raise bad_request("RESULT_TITLE_EMPTY")
            if "input_message_content" not in result:
                raise bad_request("can't parse InlineQueryResultArticle: input_message_content is required")
        content = result.get("input_message_content")
        if content is not None:
            self.check_input_message_content(content)
        caption = result.get("caption")
        if isinstance(caption, str) and caption:
            self.parse_formatted(
                caption,
                result.get("parse_mode"),
                result.get("caption_entities"),
                limit=MAX_CAPTION_LENGTH,
                too_long="MEDIA_CAPTION_TOO_LONG",
            )
        markup = result.get("reply_markup")
        if markup is not None:
            require_inline(parse_reply_markup(markup))

    def check_input_message_content(self, content: Any) -> None:
        if not isinstance(content, dict):
            raise bad_request("can't parse InputMessageContent JSON object")
        if "message_text" not in content:
            return  # location, venue, contact, invoice contents carry no text to check
        text = content.get("message_text")
        if not isinstance(text, str) or not text:
            raise bad_request("message text is empty")
        formatted = self.parse_formatted(
            text,
            content.get("parse_mode"),
            content.get("entities"),
            limit=MAX_MESSAGE_LENGTH,
            too_long="MESSAGE_TOO_LONG",
        )
        if not formatted.text:
            raise bad_request("message text is empty")

    def check_results_button(self, button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse InlineQueryResultsButton JSON object")
        start = button.get("start_parameter")
        if start is not None and (
            not isinstance(start, str) or not re.match(r"^[A-Za-z0-9_-]{1,64}$", start)
        ):
            raise bad_request("START_PARAM_INVALID")

    # ================================================================== files & chats

    async def get_file(self, p: Params) -> Any:
        stored = self.state.files.get(p.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        limit = MAX_DOWNLOAD_BYTES if self.local_files is None else MAX_LOCAL_DOWNLOAD_BYTES
        if stored.size > limit:
            raise bad_request("file is too big")
        relative = self.state.assign_file_path(stored)
        answer = stored.file_api()
        if self.local_files is not None:
            # As telegram-bot-api --local does (a folder per bot, then per kind), an absolute path.
            path = self.local_files.resolve() / str(self.state.bot.id) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stored.data)
            answer["file_path"] = str(path)
        return answer

    async def get_chat(self, p: Params) -> Any:
        chat = self.chat(p)
        data = chat.info.to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    async def get_chat_member(self, p: Params) -> Any:
        chat = self.chat(p)
        user_id = p.integer("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        if user_id == self.state.bot.id:
            membership = Membership("member") if chat.info.type == "private" else chat.bot_membership
            return membership.to_api(self.state.bot, chat.info.type)
        user = self.state.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.info.type == "private":
            if user_id != chat.info.id:
                raise bad_request("user not found")
            return Membership("member").to_api(user.info, "private")
        membership = chat.members.get(user_id, Membership("left"))
        return membership.to_api(user.info, chat.info.type)
