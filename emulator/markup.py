"""Validation of ``reply_markup`` objects the way the Bot API checks them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ApiError, bad_request

MarkupKind = Literal["inline_keyboard", "keyboard", "remove_keyboard", "force_reply"]

INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_BUTTON_URL_SCHEMES = frozenset({"http", "https", "tg", "ton"})


@dataclass(frozen=True)
class ReplyMarkup:
    kind: MarkupKind
    data: dict[str, Any]

    @property
    def is_inline(self) -> bool:
        return self.kind == "inline_keyboard"


def parse_reply_markup(value: Any, *, chat_type: str | None = None) -> ReplyMarkup | None:
    """Validate and normalise a reply_markup value (already JSON-decoded); None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return ReplyMarkup("inline_keyboard", _inline_keyboard(value, chat_type))
    if "keyboard" in value:
        return ReplyMarkup("keyboard", _reply_keyboard(value))
    if "remove_keyboard" in value:
        if value["remove_keyboard"] is not True:
            raise bad_request('field "remove_keyboard" of the ReplyKeyboardRemove must be true')
        return ReplyMarkup("remove_keyboard", dict(value))
    if "force_reply" in value:
        if value["force_reply"] is not True:
            raise bad_request('field "force_reply" of the ForceReply must be true')
        return ReplyMarkup("force_reply", dict(value))
    raise bad_request("can't parse reply keyboard markup JSON object")


def require_inline(markup: ReplyMarkup | None) -> dict[str, Any] | None:
    """Edits and inline results accept only inline keyboards."""
    if markup is None:
        return None
    if not markup.is_inline:
        raise bad_request("inline keyboard expected")
    return markup.data


def _rows(value: dict[str, Any], field: str, owner: str) -> list[list[Any]]:
    rows = value.get(field)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {owner} should be an Array of Arrays')
    return rows


def _inline_keyboard(value: dict[str, Any], chat_type: str | None) -> dict[str, Any]:
    rows = _rows(value, "inline_keyboard", "InlineKeyboardMarkup")
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    normalized = [[_inline_button(button, chat_type) for button in row] for row in rows]
    return {**value, "inline_keyboard": [row for row in normalized if row]}


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def _inline_button(button: Any, chat_type: str | None) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise _button_error('Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _button_error('Field "text" must be of type String')
    actions = [name for name in INLINE_ACTIONS if name in button]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # The docs demand exactly one optional field; refusing the ambiguity surfaces the bug early.
        raise _button_error(f"exactly one of the optional fields must be used, got {', '.join(actions)}")
    action = actions[0]
    payload = button[action]
    if action == "callback_data":
        if not isinstance(payload, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        if not isinstance(payload, str):
            raise _button_error('Field "url" must be of type String')
        check_button_url(payload)
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(payload, str):
            raise _button_error(f'Field "{action}" must be of type String')
    elif action in ("web_app", "login_url"):
        if not isinstance(payload, dict) or not isinstance(payload.get("url"), str):
            raise _button_error(f'Field "{action}" must be of type Object with a "url" String')
        if action == "web_app" and chat_type not in (None, "private"):
            raise bad_request("BUTTON_TYPE_INVALID")
    elif action == "copy_text":
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not 1 <= len(text) <= 256:
            raise bad_request("BUTTON_COPY_TEXT_INVALID")
    return dict(button)


def check_button_url(url: str) -> None:
    target = url if _URL_SCHEME.match(url) else "http://" + url
    scheme = target.split(":", 1)[0].lower()
    if scheme not in _BUTTON_URL_SCHEMES:
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
    if scheme in ("http", "https"):
        try:
            host = urlsplit(target).hostname or ""
        except ValueError:
            host = ""
        # Telegram refuses hosts without a dot (e.g. "localhost") in button URLs.
        if "." not in host or any(ch.isspace() for ch in url):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _reply_keyboard(value: dict[str, Any]) -> dict[str, Any]:
    rows = _rows(value, "keyboard", "ReplyKeyboardMarkup")
    normalized: list[list[dict[str, Any]]] = []
    for row in rows:
        out_row: list[dict[str, Any]] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            out_row.append(dict(button))
        if out_row:
            normalized.append(out_row)
    if not normalized:
        raise bad_request("keyboard must be non-empty")
    return {**value, "keyboard": normalized}


def iter_inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Buttons of an inline keyboard in reading order (row by row)."""
    if not markup:
        return []
    return [button for row in markup.get("inline_keyboard", []) for button in row]
