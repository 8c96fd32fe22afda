"""The steps of the subscription dialogs: typed answers (FSM states) and the walk-through's questions."""

from __future__ import annotations

from enum import StrEnum

from aiogram.fsm.state import State, StatesGroup


class SubscriptionInput(StatesGroup):
    """Waiting for a typed answer."""

    time = State()
    zone = State()
    topic = State()
    channel = State()
    quiet = State()


class Step(StrEnum):
    """What /subscribe asks next (and what a changed setting leads to in the walk-through)."""

    DAY = "day"
    TIME = "time"
    ZONE = "zone"
    TOPIC = "topic"
    DONE = "done"
