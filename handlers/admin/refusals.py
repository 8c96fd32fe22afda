"""Everyone else: admins' commands, files, forwarded posts and buttons from people not in ADMIN_IDS.

Included after the admin routers, whose router-level `IsAdmin` let these through.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import or_f
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import AdminDoc, AdminDocsPage, AuditLogPage, UploadPreview
from handlers.filters import CarriesUpload, PrivateChat, command
from handlers.ui.edit import alert

log = logging.getLogger(__name__)


async def refuse_command(message: Message) -> None:
    await message.answer(_("This command is for the bot's admins only. /help lists what I can do."))


async def refuse_upload(message: Message) -> None:
    await message.answer(_("Only admins can add texts. To find news, just send me some words."))


async def refuse_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    log.warning("user %s pressed an admin button (%s) without being an admin", query.from_user.id, query.data)
    alert(callback_answer, _("This is for the bot's admins only."))


def make_router() -> Router:
    """Refusals for everyone else, in private chats."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(refuse_command, command("add", "docs", "undo", "stats", "log"))
    router.message.register(refuse_upload, CarriesUpload())
    router.callback_query.register(
        refuse_button,
        or_f(UploadPreview.filter(), AdminDoc.filter(), AdminDocsPage.filter(), AuditLogPage.filter()),
    )
    return router
