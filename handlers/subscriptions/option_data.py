"""The buttons of a subscription's delivery options (kept here, next to the screens that use them)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Option(StrEnum):
    HEADLINES = "h"  # headlines only ⇄ with summaries
    PREVIEWS = "p"  # link previews on ⇄ off
    SILENT = "n"  # silent ⇄ with a notification
    QUIET = "q"  # quiet hours: `value` "" shows the choices, "off", "2200-0700", or "type"


class SubOption(CallbackData, prefix="so"):
    action: Option
    value: str = ""
    sub: int = 0  # as elsewhere: 0 for the presser's own subscription, else a channel's or topic's id
