"""From what was uploaded (files, chat messages, forwarded posts) to the corpus engine's `TextInput`.

Shared by the CLI (`python -m bot ingest`) and the admins' uploads in the chat, so that a file gives the
same document whichever way it came in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.corpus.errors import MB
from bot.corpus.extract import SUPPORTED_EXTENSIONS, Limits, RawItem
from bot.corpus.ingest import TextInput

__all__ = [
    "MB",
    "Origin",
    "channel_post_url",
    "is_bulk",
    "is_supported",
    "limits_for",
    "outlet",
    "post_input",
    "to_input",
]

# Telegram's own getFile limit; only a self-hosted Bot API server lifts it.
TELEGRAM_DOWNLOAD_MB = 20
CHAT_SOURCE = "chat"


def limits_for(
    *, max_download_mb: int, max_text_chars: int, max_zip_files: int, max_zip_unpacked_mb: int
) -> Limits:
    """Extraction limits from the settings' values: a file may be as large as the bot may download."""
    return Limits(
        max_file_bytes=max(max_download_mb, TELEGRAM_DOWNLOAD_MB) * MB,
        max_text_chars=max_text_chars,
        max_zip_members=max_zip_files,
        max_zip_unpacked_bytes=max_zip_unpacked_mb * MB,
    )


def outlet(url: str | None) -> str | None:
    """The site's host name, as the outlet of a text that only has its URL."""
    m = re.match(r"https?://(?:www\.)?([^/:]+)", url or "")
    return m.group(1) if m else None


def to_input(item: RawItem, source_name: str | None = None) -> TextInput:
    return TextInput(
        text=item.text,
        source=item.source,
        title=item.title,
        url=item.url,
        date=item.date,
        lang=item.lang,
        source_name=source_name or outlet(item.url),
    )


def extension(file_name: str | None) -> str:
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_supported(file_name: str | None) -> bool:
    return extension(file_name) in SUPPORTED_EXTENSIONS


# Formats that carry many texts: they are saved at once, with a report instead of a preview per text.
BULK_EXTENSIONS = frozenset({".zip", ".jsonl", ".json"})


def is_bulk(file_name: str | None) -> bool:
    return extension(file_name) in BULK_EXTENSIONS


@dataclass(frozen=True)
class Origin:
    """Where a forwarded post came from: it becomes the text's source."""

    name: str | None
    url: str | None
    published: datetime | None


def channel_post_url(chat_id: int, username: str | None, message_id: int) -> str:
    if username:
        return f"https://t.me/{username}/{message_id}"
    # A private channel's posts are linked by its id without the -100 prefix (members can open them).
    internal = str(chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{message_id}"


def post_input(text: str, origin: Origin | None, timezone: str, source: str = CHAT_SOURCE) -> TextInput:
    """A text typed or forwarded into the chat."""
    if origin is None:
        return TextInput(text=text, source=source)
    day = origin.published.astimezone(ZoneInfo(timezone)).date().isoformat() if origin.published else None
    return TextInput(text=text, source=source, url=origin.url, date=day, source_name=origin.name)
