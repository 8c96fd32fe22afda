"""The admins' inline keyboards: upload previews, /docs lists, admin cards, delete and undo, /log pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import (
    AdminBack,
    AdminDoc,
    AdminDocsPage,
    AuditLogPage,
    DocAction,
    FullText,
    ListPage,
    Noop,
    PreviewAction,
    ShowSimilar,
    Source,
    UploadPreview,
)
from handlers.ui.render import short
from storage.models import Document

_READER_LISTS = {
    AdminBack.SEARCH: Source.SEARCH,
    AdminBack.LATEST: Source.LATEST,
    AdminBack.SIMILAR: Source.SIMILAR,
}
_ADMIN_BACK = {source: back for back, source in _READER_LISTS.items()}


def back_for(source: Source) -> AdminBack:
    """An admin's card opened from a reader's list goes back to that list."""
    return _ADMIN_BACK.get(source, AdminBack.NONE)


def preview_keyboard(pending_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("💾 Save"), callback_data=UploadPreview(action=PreviewAction.SAVE, pending_id=pending_id)
    )
    kb.button(
        text=_("✏️ Edit title"), callback_data=UploadPreview(action=PreviewAction.TITLE, pending_id=pending_id)
    )
    kb.button(
        text=_("📅 Edit date"), callback_data=UploadPreview(action=PreviewAction.DATE, pending_id=pending_id)
    )
    kb.button(
        text=_("✖️ Cancel"), callback_data=UploadPreview(action=PreviewAction.CANCEL, pending_id=pending_id)
    )
    kb.adjust(1, 2, 1)
    return kb.as_markup()


def open_card_keyboard(doc_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📄 Open the card"), callback_data=AdminDoc(action=DocAction.CARD, doc_id=doc_id))
    return kb.as_markup()


def _pager(kb: InlineKeyboardBuilder, page: int, pages: int, make: Callable[[int], CallbackData]) -> int:
    """Prev / n of m / Next; returns how many buttons it added."""
    if pages <= 1:
        return 0
    added = 0
    if page > 0:
        kb.button(text=_("◀ Prev"), callback_data=make(page - 1))
        added += 1
    kb.button(text=f"{page + 1}/{pages}", callback_data=Noop())
    added += 1
    if page + 1 < pages:
        kb.button(text=_("Next ▶"), callback_data=make(page + 1))
        added += 1
    return added


def docs_keyboard(
    doc_ids: Sequence[int], first_number: int, ref: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for n, doc_id in enumerate(doc_ids, start=first_number):
        kb.button(
            text=str(n),
            callback_data=AdminDoc(
                action=DocAction.CARD, doc_id=doc_id, back=AdminBack.DOCS, ref=ref, page=page
            ),
        )
    sizes = [len(doc_ids)] if doc_ids else []
    if nav := _pager(kb, page, pages, lambda p: AdminDocsPage(ref=ref, page=p)):
        sizes.append(nav)
    if sizes:
        kb.adjust(*sizes)
    return kb.as_markup()


def _back(kb: InlineKeyboardBuilder, back: AdminBack, ref: int, page: int) -> bool:
    if back is AdminBack.DOCS:
        kb.button(text=_("⬅ Back to the list"), callback_data=AdminDocsPage(ref=ref, page=page))
        return True
    if back in _READER_LISTS:
        kb.button(
            text=_("⬅ Back to the list"),
            callback_data=ListPage(source=_READER_LISTS[back], ref=ref, page=page),
        )
        return True
    return False


def card_keyboard(doc: Document, back: AdminBack, ref: int, page: int) -> InlineKeyboardMarkup:
    """The reader's buttons (the full text always: an admin reads a hidden text before showing it again;
    similar texts for a visible one), then the admin's, then the way back."""

    def action(what: DocAction) -> AdminDoc:
        return AdminDoc(action=what, doc_id=doc.id, back=back, ref=ref, page=page)

    kb = InlineKeyboardBuilder()
    kb.button(text=_("📄 Full text"), callback_data=FullText(doc_id=doc.id))
    sizes = [1]
    if not doc.hidden:
        kb.button(text=_("🔗 Similar"), callback_data=ShowSimilar(doc_id=doc.id))
        sizes = [2]
    if doc.hidden:
        kb.button(text=_("👁 Show"), callback_data=action(DocAction.SHOW))
    else:
        kb.button(text=_("🙈 Hide"), callback_data=action(DocAction.HIDE))
    kb.button(text=_("🗑 Delete"), callback_data=action(DocAction.DELETE))
    kb.button(text=_("✏️ Title"), callback_data=action(DocAction.TITLE))
    kb.button(text=_("📅 Date"), callback_data=action(DocAction.DATE))
    kb.button(text=_("🏷 Source"), callback_data=action(DocAction.SOURCE))
    sizes += [2, 3]
    if _back(kb, back, ref, page):
        sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()


def confirm_delete_keyboard(doc_id: int, back: AdminBack, ref: int, page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🗑 Yes, delete"),
        callback_data=AdminDoc(action=DocAction.CONFIRM_DELETE, doc_id=doc_id, back=back, ref=ref, page=page),
    )
    kb.button(
        text=_("Keep it"),
        callback_data=AdminDoc(action=DocAction.CARD, doc_id=doc_id, back=back, ref=ref, page=page),
    )
    kb.adjust(2)
    return kb.as_markup()


def undo_keyboard(doc_id: int, back: AdminBack, ref: int, page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("↩️ Undo"),
        callback_data=AdminDoc(action=DocAction.UNDO, doc_id=doc_id, back=back, ref=ref, page=page),
    )
    sizes = [1]
    if _back(kb, back, ref, page):
        sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()


def with_restore(
    markup: InlineKeyboardMarkup | None, deleted: Document, back: AdminBack, ref: int, page: int
) -> InlineKeyboardMarkup:
    """A list with a last row that brings back the text the admin deleted, while that is possible: the
    undo must not be lost by going back to the list."""
    label = _("↩️ Restore «{title}»").format(title=short(deleted.title, 40))
    restore = AdminDoc(action=DocAction.UNDO, doc_id=deleted.id, back=back, ref=ref, page=page)
    rows = list(markup.inline_keyboard) if markup is not None else []
    row = [InlineKeyboardButton(text=label, callback_data=restore.pack())]
    return InlineKeyboardMarkup(inline_keyboard=[*rows, row])


def log_keyboard(page: int, pages: int) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    if not _pager(kb, page, pages, lambda p: AuditLogPage(page=p)):
        return None
    kb.adjust(3)
    return kb.as_markup()
