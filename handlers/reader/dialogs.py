"""What every conversation shares: /cancel always answers, nothing typed inside a dialog becomes a search,
and a command the bot does not know (or not for this person) gets a hint rather than silence.

Two routers, because they sit on both sides of the reading router: the dialog guard and /cancel go before
it (its catch-all would take a typed answer as a search), the unknown-command hint after it (it takes
whatever command nobody else did).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.filters import PrivateChat, SlashCommand, command


def make_guard_router() -> Router:
    """/cancel for any dialog, and the guard for what a dialog step did not take."""
    router = Router(name=__name__ + ".guard")
    router.message.filter(PrivateChat())
    router.message.register(cancel_command, command("cancel"))
    # Commands go on (a /latest in the middle of a dialog still works and the dialog still waits).
    # In some state (StateFilter("*") would be any state, none included).
    router.message.register(still_waiting, ~StateFilter(None), ~SlashCommand())
    return router


def make_unknown_router() -> Router:
    """The last word on a command: nobody took it."""
    router = Router(name=__name__ + ".unknown")
    router.message.filter(PrivateChat())
    router.message.register(unknown_command, SlashCommand())
    return router


async def cancel_command(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("Nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled."))


async def still_waiting(message: Message) -> None:
    """A step of a dialog waits for an answer and this was not one it could take (a photo, a sticker, a
    text a step refused without keeping it): say so rather than search for it."""
    await message.answer(_("I am waiting for your answer to the question above. Send it, or /cancel."))


async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know this command. /help lists what I can do."))
