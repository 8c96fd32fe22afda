"""Admins manage the stored texts: /docs lists, the admin's card of a text, hide and show, delete and undo,
edits of the title, date and source. Only admins get in (`IsAdmin`, router-level)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.admin.documents import DocumentService
from bot.app.settings import Settings
from bot.corpus.errors import UploadError
from bot.reader import ReaderService
from handlers.admin import keyboards as kb
from handlers.admin import render
from handlers.admin.states import AdminInput
from handlers.admin.uploads import drop_buttons
from handlers.callbacks import AdminBack, AdminDoc, AdminDocsPage, DocAction, FullText, ListPage, OpenDoc
from handlers.errors import describe
from handlers.filters import IsAdmin, PlainText, PrivateChat, SlashCommand, command
from handlers.reader import reading
from handlers.ui.edit import alert, edit, edit_or_alert, editable

# The dialog step each edit button starts.
_EDIT_STATES: dict[DocAction, State] = {
    DocAction.TITLE: AdminInput.doc_title,
    DocAction.DATE: AdminInput.doc_date,
    DocAction.SOURCE: AdminInput.doc_source,
}


async def _docs_screen(
    documents: DocumentService, admin_id: int, query_text: str, ref: int, page: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    result = await documents.documents(query_text, page, render.DOCS_PAGE)
    text = render.docs_screen_text(result, query_text, locale)
    markup = None
    if result.documents:
        first = result.page * render.DOCS_PAGE + 1
        ids = [d.id for d in result.documents]
        markup = kb.docs_keyboard(ids, first, ref, result.page, result.pages)
    return text, await _offer_restore(documents, admin_id, markup, AdminBack.DOCS, ref, page)


async def _offer_restore(
    documents: DocumentService,
    admin_id: int,
    markup: InlineKeyboardMarkup | None,
    back: AdminBack,
    ref: int,
    page: int,
) -> InlineKeyboardMarkup | None:
    """A list the admin comes back to keeps the undo of their last deletion while it is possible."""
    deleted = await documents.last_deleted(admin_id)
    return markup if deleted is None else kb.with_restore(markup, deleted, back, ref, page)


async def _card(
    documents: DocumentService, doc_id: int, back: AdminBack, ref: int, page: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    card = await documents.card(doc_id)
    if card is None:
        return _("This text no longer exists."), None
    return render.card_text(card, locale), kb.card_keyboard(card.document, back, ref, page)


async def admin_card(
    documents: DocumentService, doc_id: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The admin's card of a text opened from nowhere in particular (a deep link): hidden ones too."""
    return await _card(documents, doc_id, AdminBack.NONE, 0, 0, locale)


async def docs_command(
    message: Message, command: CommandObject, documents: DocumentService, i18n: I18n
) -> None:
    query_text = (command.args or "").strip()
    admin_id = message.from_user.id if message.from_user else 0
    ref = await documents.remember_query(admin_id, query_text) if query_text else 0
    text, markup = await _docs_screen(documents, admin_id, query_text, ref, 0, i18n.current_locale)
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def docs_page(
    query: CallbackQuery,
    callback_data: AdminDocsPage,
    callback_answer: CallbackAnswer,
    documents: DocumentService,
    i18n: I18n,
) -> None:
    query_text = ""
    if callback_data.ref:
        query_text = await documents.recall_query(query.from_user.id, callback_data.ref) or ""
        if not query_text:
            alert(callback_answer, _("This list is outdated."))
            return
    text, markup = await _docs_screen(
        documents, query.from_user.id, query_text, callback_data.ref, callback_data.page, i18n.current_locale
    )
    if (message := editable(query)) is not None:
        await edit(message, text, markup, disable_web_page_preview=True)


async def open_document_as_admin(
    query: CallbackQuery, callback_data: OpenDoc, documents: DocumentService, i18n: I18n
) -> None:
    """Admins get their buttons on every card, also when they open it from a reader's list."""
    back = kb.back_for(callback_data.source)
    text, markup = await _card(
        documents, callback_data.doc_id, back, callback_data.ref, callback_data.page, i18n.current_locale
    )
    if (message := editable(query)) is not None:
        await edit(message, text, markup, disable_web_page_preview=True)


async def reader_list_as_admin(
    query: CallbackQuery,
    callback_data: ListPage,
    callback_answer: CallbackAnswer,
    reader: ReaderService,
    documents: DocumentService,
    i18n: I18n,
) -> None:
    """A reader's list (search, latest, similar) as an admin sees it: with the restore button of their
    last deletion, so that "Back to the list" after a delete does not lose the undo."""
    admin_id = query.from_user.id
    screen = await reading.list_screen(admin_id, callback_data, reader, i18n.current_locale)
    if isinstance(screen, str):
        alert(callback_answer, screen)
        return
    back = kb.back_for(callback_data.source)
    markup = await _offer_restore(
        documents, admin_id, screen.markup, back, callback_data.ref, callback_data.page
    )
    await edit_or_alert(query, callback_answer, screen.text, markup)


async def full_text_as_admin(
    query: CallbackQuery, callback_data: FullText, callback_answer: CallbackAnswer, documents: DocumentService
) -> None:
    """Admins read hidden texts too (the reader's handler finds none)."""
    doc = await documents.document(callback_data.doc_id)
    if doc is None or query.message is None:
        alert(callback_answer, _("This text is no longer available."))
        return
    await reading.send_full_text(query.message, doc)


async def undo_command(message: Message, documents: DocumentService, i18n: I18n) -> None:
    """/undo: the admin's last deletion comes back, wherever they went since (within UNDO_MINUTES)."""
    assert message.from_user is not None
    restored = await documents.undo_last(message.from_user.id)
    if restored is None:
        await message.answer(_("Nothing to undo: no text you deleted can still be restored."))
        return
    text, markup = await _card(documents, restored.id, AdminBack.NONE, 0, 0, i18n.current_locale)
    await message.answer(_("↩️ Restored.") + "\n\n" + text, reply_markup=markup, disable_web_page_preview=True)


async def document_button(
    query: CallbackQuery,
    callback_data: AdminDoc,
    callback_answer: CallbackAnswer,
    documents: DocumentService,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
) -> None:
    """One button of an admin's card. A refused undo (too late, the text is back) raises UploadError,
    which the error router shows as an alert."""
    message = editable(query)
    data = callback_data
    admin_id = query.from_user.id
    locale = i18n.current_locale
    if data.action is DocAction.UNDO:
        restored = await documents.undo_delete(admin_id, data.doc_id)
        callback_answer.text = _("Restored")
        if message is not None:
            text, markup = await _card(documents, restored.id, data.back, data.ref, data.page, locale)
            await edit(message, text, markup, disable_web_page_preview=True)
        return
    doc = await documents.document(data.doc_id)
    if doc is None:
        alert(callback_answer, _("This text no longer exists."))
        return
    if data.action in _EDIT_STATES:
        await state.set_state(_EDIT_STATES[data.action])
        await state.set_data({"doc_id": doc.id, "message_id": message.message_id if message else None})
        prompts = {
            DocAction.TITLE: _("Send the new title (or /cancel)."),
            DocAction.DATE: _("Send the date, like 2026-01-24 or 24.01.2026 (or /cancel)."),
            DocAction.SOURCE: _(
                "Send the source: the outlet's name, a link, or both, e.g. «Kursiv https://kz.kursiv.media/…» "
                "(or /cancel)."
            ),
        }
        if message is not None:
            await message.answer(prompts[data.action])
        return
    if data.action is DocAction.DELETE:
        if message is not None:
            markup = kb.confirm_delete_keyboard(doc.id, data.back, data.ref, data.page)
            await edit(
                message,
                render.delete_question(doc, settings.undo_minutes),
                markup,
                disable_web_page_preview=True,
            )
        return
    if data.action is DocAction.CONFIRM_DELETE:
        deleted = await documents.delete(admin_id, doc.id)
        callback_answer.text = _("Deleted")
        if message is not None and deleted is not None:
            markup = kb.undo_keyboard(deleted.id, data.back, data.ref, data.page)
            await edit(
                message,
                render.deleted_text(deleted, settings.undo_minutes),
                markup,
                disable_web_page_preview=True,
            )
        return
    if data.action in (DocAction.HIDE, DocAction.SHOW):
        hidden = data.action is DocAction.HIDE
        await documents.set_hidden(admin_id, doc.id, hidden)
        callback_answer.text = _("Hidden") if hidden else _("Shown again")
    if message is not None:
        text, markup = await _card(documents, doc.id, data.back, data.ref, data.page, locale)
        await edit(message, text, markup, disable_web_page_preview=True)


async def document_edit(
    message: Message, bot: Bot, documents: DocumentService, state: FSMContext, i18n: I18n
) -> None:
    """A value that does not fit is explained, and the bot keeps waiting for another."""
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    doc_id = int(data["doc_id"])
    current = await state.get_state()
    edit_field = {
        AdminInput.doc_title.state: documents.edit_title,
        AdminInput.doc_date.state: documents.edit_date,
        AdminInput.doc_source.state: documents.edit_source,
    }[current]
    try:
        doc = await edit_field(message.from_user.id, doc_id, message.text)
    except UploadError as error:
        # The step stays: the next message is the corrected value.
        await message.answer(describe(error, i18n) + "\n\n" + _("Send it again, or /cancel."))
        return
    await state.clear()
    if doc is None:
        await message.answer(_("This text no longer exists."))
        return
    await drop_buttons(bot, message.chat.id, data.get("message_id"))
    text, markup = await _card(documents, doc.id, AdminBack.NONE, 0, 0, i18n.current_locale)
    await message.answer(_("✅ Updated.") + "\n\n" + text, reply_markup=markup, disable_web_page_preview=True)


async def waiting_for_text(message: Message) -> None:
    """Anything but text (a photo, a sticker) while the bot waits for a text. Registered after every
    handler of a dialog step, so that it only gets what they did not take."""
    await message.answer(_("Please send text, or /cancel."))


def make_router() -> Router:
    """Managing the texts: only admins, in private chats."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat(), IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(docs_command, command("docs"))
    router.callback_query.register(docs_page, AdminDocsPage.filter())
    router.message.register(undo_command, command("undo"))
    router.callback_query.register(open_document_as_admin, OpenDoc.filter())
    router.callback_query.register(reader_list_as_admin, ListPage.filter())
    router.callback_query.register(full_text_as_admin, FullText.filter())
    router.callback_query.register(document_button, AdminDoc.filter())
    router.message.register(
        document_edit,
        StateFilter(AdminInput.doc_title, AdminInput.doc_date, AdminInput.doc_source),
        PlainText(),
    )
    router.message.register(waiting_for_text, StateFilter(AdminInput), ~SlashCommand())
    return router
