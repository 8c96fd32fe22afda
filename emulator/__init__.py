"""Offline Telegram Bot API emulator for end-to-end tests and the terminal playground."""

from .driver import CallbackQuery, EmulatedChannel, EmulatedChat, EmulatedGroup, EmulatedUser, InlineQuery
from .errors import ApiError
from .faults import EmulatorStats, Fault, FaultKind, RateLimit, RateLimitConfig
from .models import ApiCall, CallbackAnswer, InlineAnswer, MessageVersion, StoredFile, StoredMessage
from .params import UploadedFile
from .render import (
    numbered_buttons,
    render_inline_keyboard,
    render_message,
    render_reply_keyboard,
    render_text,
)
from .server import DEFAULT_TOKEN, BotAPIEmulator
from .textparse import Entity, EntityParseError, FormattedText, parse_text, utf16_len

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "BotAPIEmulator",
    "CallbackAnswer",
    "CallbackQuery",
    "EmulatedChannel",
    "EmulatedChat",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorStats",
    "Entity",
    "EntityParseError",
    "Fault",
    "FaultKind",
    "FormattedText",
    "InlineAnswer",
    "InlineQuery",
    "MessageVersion",
    "RateLimit",
    "RateLimitConfig",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
    "numbered_buttons",
    "parse_text",
    "render_inline_keyboard",
    "render_message",
    "render_reply_keyboard",
    "render_text",
    "utf16_len",
]
