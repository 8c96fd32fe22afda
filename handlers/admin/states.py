"""The admins' dialog steps: what the bot waits for after a button or /add."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class AdminInput(StatesGroup):
    text = State()  # after /add: a text, a forwarded post or files
    pending_title = State()  # a preview's new title
    pending_date = State()
    doc_title = State()  # a stored text's new title
    doc_date = State()
    doc_source = State()
