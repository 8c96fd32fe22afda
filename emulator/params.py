"""Request parameters: one typed view over JSON bodies, query strings, url-encoded and multipart forms.

Form encodings carry only strings (aiogram sends nested objects such as ``reply_markup`` as JSON text and
numbers as their JSON spelling), so values are coerced by parameter name, as Telegram does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "button",
        "media",
        "menu_button",
        "rights",
        "message_ids",
    }
)
INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
        "max_connections",
        "until_date",
        "width",
        "height",
        "duration",
        "from_chat_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "only_if_banned",
        "for_channels",
    }
)
_INTEGER = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"UploadedFile(filename={self.filename!r}, size={len(self.data)})"


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value  # left as text; the getter reports the parse error in Telegram's words
    if (name in INT_FIELDS or name in ("chat_id", "from_chat_id")) and _INTEGER.match(value.strip()):
        return int(value.strip())
    if name in BOOL_FIELDS:
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
    return value


class Params:
    def __init__(self, raw: Mapping[str, Any], files: Mapping[str, UploadedFile] | None = None) -> None:
        self.values: dict[str, Any] = {key: _coerce(key, value) for key, value in raw.items()}
        self.files: dict[str, UploadedFile] = dict(files or {})

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.files

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, str):
            return value
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise bad_request(f'field "{name}" must be of type Integer')
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str) and name in JSON_FIELDS:
            if name == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object")
            raise bad_request(f"can't parse {name} JSON object")
        return value

    def chat_id(self, name: str = "chat_id") -> int | str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise bad_request("chat not found")
        return value

    def input_file(self, name: str) -> UploadedFile | str | None:
        """A file field: an uploaded part (directly or via attach://), or a file_id/URL string."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise bad_request(f'can\'t find attached file "{value.removeprefix("attach://")}"')
            return attached
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise bad_request(f"wrong remote file identifier specified: {name}")
        return value

    def for_log(self) -> dict[str, Any]:
        logged = dict(self.values)
        referenced: set[str] = set()
        for key, value in logged.items():
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part in self.files:
                    logged[key] = self.files[part]
                    referenced.add(part)
        for key, upload in self.files.items():
            if key not in referenced:
                logged[key] = upload
        return logged
